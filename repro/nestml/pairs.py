"""Neuron-synapse pairs: the NESTML synapses that must be generated together with their neuron.

NESTML 9 generates a synapse that reads the post-synaptic neuron's spikes (``post_ports``) or
a volume transmitter's spikes (``vt_ports``) only together with that neuron (code generator
option ``neuron_synapse_pairs``): a synapse with a post-synaptic spike port generated alone
has two spike ports and is refused ("Synapses only support one spiking input port"), and
the pair's synapse works only with the pair's neuron (it reads the neuron's spike history
through the neuron's own class). NESTML then registers two new NEST models, named as
:meth:`SynapsePair.nest_neuron` and :meth:`SynapsePair.nest_synapse` say; the neuron is also
generated alone under its own name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SynapsePair:
    """One NESTML synapse and the post-synaptic neuron NESTML generates it with.

    Attributes
    ----------
    synapse : str
        NESTML model name of the synapse.
    neuron : str
        NESTML model name of the post-synaptic neuron.
    weight_variable : str
        The synapse's variable NEST reads and sets as ``weight``.
    delay_variable : str
        The synapse's parameter NEST uses as ``delay`` (dendritic delay).
    post_ports : tuple of str
        The synapse's input ports fed by the neuron's spikes.
    vt_ports : tuple of str
        The synapse's input ports fed by a volume transmitter (neuromodulator spikes).
    synaptic_variables : tuple of str
        State variables NESTML must keep in the synapse (``strictly_synaptic_vars``): NESTML
        moves a variable that only the post-synaptic port's handler changes into the neuron
        (one value per neuron, updated at the neuron's spike), which is wrong for a
        per-synapse state and fails to compile when the handler uses a local variable.
    vt_amount : str
        A state variable of the synapse that receives the signed amount of each
        volume-transmitter event before the port's handler runs; such a synapse reads repro's
        signed volume transmitter (:mod:`repro.nestml.augment`) instead of NEST's. Empty:
        NEST's volume transmitter, no amount.
    """

    synapse: str
    neuron: str
    weight_variable: str = "w"
    delay_variable: str = "d"
    post_ports: tuple[str, ...] = ("post_spikes",)
    vt_ports: tuple[str, ...] = ()
    synaptic_variables: tuple[str, ...] = ()
    vt_amount: str = ""

    def nest_neuron(self, suffix: str) -> str:
        """NEST model name of the paired neuron (NESTML's ``__with_`` naming)."""
        return f"{self.neuron}{suffix}__with_{self.synapse}{suffix}"

    def nest_synapse(self, suffix: str) -> str:
        """NEST model name of the paired synapse."""
        return f"{self.synapse}{suffix}__with_{self.neuron}{suffix}"

    def describe(self) -> dict[str, Any]:
        """JSON-ready form (the build's cache key and manifest)."""
        return {"synapse": self.synapse, "neuron": self.neuron,
                "weight_variable": self.weight_variable,
                "delay_variable": self.delay_variable, "post_ports": list(self.post_ports),
                "vt_ports": list(self.vt_ports),
                "synaptic_variables": list(self.synaptic_variables),
                **({"vt_amount": self.vt_amount} if self.vt_amount else {})}


def pair_codegen_opts(pairs: Sequence[SynapsePair]) -> dict[str, Any]:
    """NESTML 9's code generator options for ``pairs`` (empty when there are none).

    One ``neuron_synapse_pairs`` entry per pair, so that a neuron shared by two shipped
    synapses gives one paired neuron model per synapse, each named after its synapse only
    (a later pair does not rename an earlier one). Every entry names its ``vt_ports``, an
    empty list included: NESTML 9's port lookup (``CodeGeneratorUtils.is_special_port``)
    stops at the first entry of the neuron whose synapse lacks the key, so a second pair's
    volume-transmitter port would be taken for a second pre-synaptic port.
    """
    if not pairs:
        return {}
    kept = {p.synapse: list(p.synaptic_variables) for p in pairs if p.synaptic_variables}
    return {
        "neuron_synapse_pairs": [
            {"neuron": p.neuron, "synapses": {p.synapse: {
                "post_ports": list(p.post_ports), "vt_ports": list(p.vt_ports)}}}
            for p in pairs],
        "weight_variable": {p.synapse: p.weight_variable for p in pairs},
        "delay_variable": {p.synapse: p.delay_variable for p in pairs},
        **({"strictly_synaptic_vars": kept} if kept else {})}


def pair_models(pairs: Sequence[SynapsePair], suffix: str) -> list[str]:
    """The NEST models the pairs add: each pair's neuron, then its synapse."""
    return [name for p in pairs for name in (p.nest_neuron(suffix), p.nest_synapse(suffix))]
