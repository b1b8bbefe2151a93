"""The NESTML models shipped with repro: sPyNNaker cell models NEST lacks, for script runs.

The ``.nestml`` files in ``repro/nestml/models/`` are written from sPyNNaker 7.4.1's C
sources (each file says which). They are always built together into one NEST module, so
every script that needs any of them shares one cached build (see
:func:`repro.nestml.build.build_module`).

A shipped synapse that needs the post-synaptic neuron's spikes (or a volume transmitter's)
is generated together with its neuron (:mod:`repro.nestml.pairs`). To ship one, add its
``.nestml`` file (and its neuron's, if not shipped yet) to ``models/`` and one line to
:data:`SHIPPED_PAIRS`, e.g. ``SynapsePair("my_stdp_synapse", "spynnaker_if_curr_exp",
post_ports=("post_spikes",), vt_ports=("mod_spikes",))``; the module then registers
``SynapsePair.nest_neuron("_nestml")`` and ``SynapsePair.nest_synapse("_nestml")``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from repro.nestml.pairs import SynapsePair

#: Where the shipped models live (package data).
MODELS_DIR = Path(__file__).resolve().parent / "models"

#: The shipped synapses NESTML generates together with their post-synaptic neuron.
SHIPPED_PAIRS: tuple[SynapsePair, ...] = (
    SynapsePair("spynnaker_recurrent_synapse", "spynnaker_if_curr_exp",
                synaptic_variables=("accumulator", "fsm", "window", "pre_window",
                                    "post_window", "last_pre", "last_post", "post_seen")),
    SynapsePair("spynnaker_neuromodulated_stdp_synapse", "spynnaker_if_curr_exp",
                vt_ports=("mod_spikes",), vt_amount="vt_amount",
                synaptic_variables=("o", "t_o", "dop", "t_ev", "have_event", "d_c", "t_c",
                                    "tau_minus", "vt_amount")),
)


def shipped_sources() -> list[Path]:
    """Every shipped ``.nestml`` file, sorted by name."""
    return sorted(MODELS_DIR.glob("*.nestml"))


def shipped_models() -> dict[str, Path]:
    """``{NESTML model name: file}``; each file declares one model named like the file."""
    return {path.stem: path for path in shipped_sources()}


def pairs_for(models: Sequence[str]) -> tuple[SynapsePair, ...]:
    """The shipped pairs whose synapse and neuron are both among ``models`` (NESTML names)."""
    present = set(models)
    return tuple(p for p in SHIPPED_PAIRS if p.synapse in present and p.neuron in present)
