"""sPyNNaker cell models NEST lacks, as PyNN cell types over repro's shipped NESTML models.

Part of :class:`repro.site.dialect.ScriptDialect` (a mixin). The models are the ``.nestml``
files in ``repro/nestml/models/``, written from sPyNNaker 7.4.1's C sources; the execution
layer builds them into one NEST module before the run (the pre-run scan names them, see
:func:`repro.site.script_scan.nestml_models`) and the harness installs it. Each cell type
here keeps sPyNNaker's parameter names and units (mV, ms, nA, uS, nF): the NESTML models use
those units as plain numbers, so no parameter is scaled, and weights reach NEST unscaled
(``receptor_scale`` undoes pyNN.nest's nA -> pA / uS -> nS factor of 1000). Recording names
are sPyNNaker's: ``v``, ``gsyn_exc`` / ``gsyn_inh`` (the synaptic state: current in nA or
conductance in uS; the sEMD's gsyn_exc is its gated current), ``spikes``. A model with more
than two receptors has one NEST receptor port per receptor (``NestmlCell.receptor_ports``).

Site-side: standard library, numpy and pyNN only (nest inside functions).
"""

from __future__ import annotations

import dataclasses
import types
from dataclasses import dataclass, field
from typing import Any

from repro.site.portability import NoteBook
from repro.site.script_scan import paired_post_cells
from repro.site.spynnaker_catalogue import NESTML_SUFFIX, paired_nest_name


@dataclass(frozen=True)
class NestmlCell:
    """One shipped NESTML model as sPyNNaker's cell type.

    Attributes
    ----------
    model : str
        NESTML model name (the NEST model is ``model + "_nestml"``).
    spynnaker : str
        The sPyNNaker class it stands for.
    parameters : dict
        sPyNNaker's parameter defaults (7.4.1), in sPyNNaker's units.
    initial : dict
        sPyNNaker's state variables and their defaults.
    conductance_based : bool
        True for conductance input (gsyn in uS), False for current input (gsyn in nA).
    equations : str
        What the model computes and what differs from SpiNNaker (the portability note).
    numerical_effect : bool
        True when results differ beyond fixed-point rounding (random draws).
    receptor_ports : dict
        sPyNNaker's receptor name -> the model's NEST receptor (a key of its
        ``receptor_types``: one NESTML spike port each). Empty for the two-receptor models,
        whose NEST port 0 takes excitatory (positive) and inhibitory (negative) weights.
    gsyn_exc : str
        The state variable recorded as ``gsyn_exc`` (sPyNNaker records the excitatory input
        the membrane sees).
    paired_synapse : str
        The NESTML synapse this neuron was generated with ("" for the neuron alone): the
        NEST model is then the pair's neuron (:func:`paired_nest_name`).
    """

    model: str
    spynnaker: str
    parameters: dict[str, float]
    initial: dict[str, float]
    conductance_based: bool
    equations: str
    numerical_effect: bool = False
    receptor_ports: dict[str, str] = field(default_factory=dict)
    gsyn_exc: str = "isyn_exc"
    paired_synapse: str = ""

    @property
    def nest_model(self) -> str:
        """The NEST model name NESTML registers."""
        if self.paired_synapse:
            return paired_nest_name(self.model, self.paired_synapse)
        return self.model + NESTML_SUFFIX


_IZK = {"a": 0.02, "b": 0.2, "c": -65.0, "d": 2.0, "i_offset": 0.0, "tau_syn_E": 5.0,
        "tau_syn_I": 5.0}
_IZK_STATE = {"v": -70.0, "u": -14.0, "isyn_exc": 0.0, "isyn_inh": 0.0}
_DIFFERS = ("floating point instead of SpiNNaker's S16.15 fixed point (see "
            "docs/spinnaker-numerics-models.md for the rounding the chip adds); a spike acts "
            "one tick later than on SpiNNaker (NEST adds it after the step's update, "
            "sPyNNaker before), as with every NEST model")

#: The shipped NESTML models, by NESTML model name.
NESTML_CELLS: dict[str, NestmlCell] = {c.model: c for c in (
    NestmlCell(
        "spynnaker_izk_curr_exp", "Izhikevich (IzkCurrExpBase)", dict(_IZK), dict(_IZK_STATE),
        False,
        "sPyNNaker's Izhikevich as NESTML model spynnaker_izk_curr_exp: one RK2 midpoint step "
        "per tick (1.85 dt after a spike), threshold 30 mV, i_offset and synaptic currents in "
        "nA added unscaled to dv/dt, exponential current synapses (tau_syn_E/I) as step "
        "averages, as neuron_model_izh_impl.h and synapse_types_exponential_impl.h compute "
        f"them; differs: {_DIFFERS}"),
    NestmlCell(
        "spynnaker_izk_cond_exp", "extra_models.Izhikevich_cond (IzkCondExpBase)",
        {**_IZK, "e_rev_E": 0.0, "e_rev_I": -70.0}, dict(_IZK_STATE), True,
        "sPyNNaker's Izhikevich_cond as NESTML model spynnaker_izk_cond_exp: the Izhikevich "
        "update of IzkCurrExpBase with conductance input g_exc (e_rev_E - v) + g_inh "
        "(e_rev_I - v) (uS, v at the start of the tick; input_type_conductance.h); "
        f"differs: {_DIFFERS}"),
    NestmlCell(
        "spynnaker_if_curr_exp_ca2_adaptive", "extra_models.IFCurrExpCa2Adaptive",
        {"tau_m": 20.0, "cm": 1.0, "v_rest": -65.0, "v_reset": -65.0, "v_thresh": -50.0,
         "tau_refrac": 0.1, "i_offset": 0.0, "tau_syn_E": 5.0, "tau_syn_I": 5.0,
         "tau_ca2": 50.0, "i_alpha": 0.1},
        {"v": -65.0, "isyn_exc": 0.0, "isyn_inh": 0.0, "i_ca2": 0.0}, False,
        "sPyNNaker's IFCurrExpCa2Adaptive as NESTML model "
        "spynnaker_if_curr_exp_ca2_adaptive: sPyNNaker's LIF step (input held over the "
        "tick, ceil(tau_refrac/dt) refractory ticks), exponential current synapses as step "
        "averages, and i_ca2 decayed every tick, subtracted from the input and raised by "
        f"i_alpha per spike (additional_input_ca2_adaptive_impl.h); differs: {_DIFFERS}"),
    NestmlCell(
        "spynnaker_if_cond_exp_stoc", "extra_models.IFCondExpStoc",
        {"tau_m": 20.0, "cm": 1.0, "v_rest": -65.0, "v_reset": -65.0, "v_thresh": -50.0,
         "tau_refrac": 0.1, "i_offset": 0.0, "tau_syn_E": 5.0, "tau_syn_I": 5.0,
         "e_rev_E": 0.0, "e_rev_I": -70.0, "du_th": 0.5, "tau_th": 20.0},
        {"v": -65.0, "isyn_exc": 0.0, "isyn_inh": 0.0}, True,
        "sPyNNaker's IFCondExpStoc as NESTML model spynnaker_if_cond_exp_stoc: sPyNNaker's "
        "LIF step with conductance input and ThresholdTypeMaassStochastic as the 7.4.1 "
        "binary computes it (a spike for sure once exp((v - v_thresh)/du_th) dt/(10 tau_th) "
        "reaches 2^-15, with probability 26215/32768 from v_thresh + 5 du_th, else with "
        "probability 2^-15 per tick); differs: the draws come from NEST's generator seeded "
        "by the run's seed, where the chip's generator starts from fixed values on every "
        f"core, so spike trains agree in distribution, not draw by draw; {_DIFFERS}",
        numerical_effect=True),
    NestmlCell(
        "spynnaker_if_curr_exp_semd", "extra_models.IF_curr_exp_sEMD",
        {"tau_m": 20.0, "cm": 1.0, "v_rest": -65.0, "v_reset": -65.0, "v_thresh": -50.0,
         "tau_refrac": 0.1, "i_offset": 0.0, "tau_syn_E": 5.0, "tau_syn_E2": 5.0,
         "tau_syn_I": 5.0, "scaling_factor": 1.0},
        {"v": -65.0, "isyn_exc": 0.0, "isyn_exc2": 0.0, "isyn_inh": 0.0, "multiplicator": 0.0,
         "exc2_old": 0.0}, False,
        "sPyNNaker's IF_curr_exp_sEMD as NESTML model spynnaker_if_curr_exp_semd: "
        "sPyNNaker's LIF step with three exponential current synapses (receptors "
        "'excitatory', 'excitatory2', 'inhibitory' as NEST receptors EXC_SPIKES, EXC2_SPIKES, "
        "INH_SPIKES) and the sEMD gate of synapse_types_semd_impl.h as the 7.4.1 binary "
        "computes it (each tick: exc2 below 0.001 (32/32768) clears the multiplicator, else "
        "an unset multiplicator with exc2 zero in the previous tick latches exc; the only "
        "excitatory current, recorded as gsyn_exc, is exc2 * scaling_factor * "
        "multiplicator); differs: 'zero' is 'below one S16.15 unit (2^-15)', where the chip's "
        "flooring decay reaches exactly 0 (the exact decay of floating point never does), so "
        "the gate re-arms within a few ticks of the chip, and exc2 falls below 0.001 up to a "
        f"tick later; {_DIFFERS}",
        receptor_ports={"excitatory": "EXC_SPIKES", "excitatory2": "EXC2_SPIKES",
                        "inhibitory": "INH_SPIKES"},
        gsyn_exc="i_semd"),
)}

#: sPyNNaker 7.4.1's IF_curr_exp defaults (if_curr_exp_base.py).
IF_CURR_EXP = {"tau_m": 20.0, "cm": 1.0, "v_rest": -65.0, "v_reset": -65.0, "v_thresh": -50.0,
               "tau_refrac": 0.1, "i_offset": 0.0, "tau_syn_E": 5.0, "tau_syn_I": 5.0}
NESTML_CELLS["spynnaker_if_curr_exp"] = NestmlCell(
    "spynnaker_if_curr_exp", "IF_curr_exp", dict(IF_CURR_EXP),
    {"v": -65.0, "isyn_exc": 0.0, "isyn_inh": 0.0}, False,
    "sPyNNaker's IF_curr_exp as NESTML model spynnaker_if_curr_exp: sPyNNaker's LIF step "
    "(input held over the tick, ceil(tau_refrac/dt) refractory ticks) and exponential "
    "current synapses as step averages (neuron_model_lif_impl.h, "
    f"synapse_types_exponential_impl.h); differs: {_DIFFERS}")

_UNITS = {"v": "mV", "u": "mV/ms", "i_ca2": "nA"}


def cell_class(cell: NestmlCell) -> type:
    """A pyNN.nest cell type running ``cell`` under sPyNNaker's names."""
    from pyNN.standardmodels import StandardCellType, build_translations

    state = list(cell.initial)
    synaptic = "uS" if cell.conductance_based else "nA"
    variable_map = {name: name for name in state}
    variable_map.update(gsyn_exc=cell.gsyn_exc, gsyn_inh="isyn_inh")
    recordable = ["spikes", "v", "gsyn_exc", "gsyn_inh", *(["u"] if "u" in state else [])]
    attributes = {
        "__doc__": f"sPyNNaker's {cell.spynnaker} on NEST (NESTML model {cell.model}).",
        "__module__": __name__,
        "default_parameters": dict(cell.parameters),
        "default_initial_values": dict(cell.initial),
        "units": {**{n: _UNITS.get(n, synaptic) for n in recordable if n != "spikes"}},
        "recordable": recordable,
        "receptor_types": tuple(cell.receptor_ports) or ("excitatory", "inhibitory"),
        "translations": build_translations(*[(n, n) for n in (*cell.parameters, *state)]),
        "variable_map": variable_map,
        "scale_factors": {name: 1 for name in variable_map},
        "nest_name": {"on_grid": cell.nest_model, "off_grid": cell.nest_model},
        "standard_receptor_type": not cell.receptor_ports,
        "get_receptor_type": lambda _self, name: receptor_port(cell, name),
        "receptor_scale": 1e-3,
        "conductance_based": cell.conductance_based,
        "injectable": True,
        "spynnaker_units": True,
    }
    return type(cell.model, (StandardCellType,), attributes)


def receptor_port(cell: NestmlCell, receptor: str) -> int:
    """NEST's receptor port of ``cell`` for sPyNNaker's receptor name (installed module)."""
    import nest

    return int(nest.GetDefaults(cell.nest_model)["receptor_types"][cell.receptor_ports[receptor]])


def nest_has(model: str) -> bool:
    """True when the NEST kernel knows ``model`` (the run's NESTML module is installed)."""
    import nest

    return model in nest.node_models


class NestmlCellDialect:
    """sPyNNaker cells on NEST from the shipped NESTML models (see the module docstring)."""

    backend: types.ModuleType
    book: NoteBook

    def _init_nestml_cells(self) -> None:
        self.nestml_classes: dict[str, type] = {}
        self.paired_cells: dict[str, tuple[str, str]] | None = None

    def _paired_post_cell(self, cell: str) -> tuple[str, str] | None:
        """(NESTML neuron, NESTML synapse) when the script uses a plastic synapse that NEST
        runs only onto a NESTML neuron generated with it, and ``cell`` is the cell type
        sPyNNaker builds that rule for; None otherwise or when the module lacks the pair."""
        if self.paired_cells is None:
            script = getattr(self.book, "script", None)
            try:
                source = script.read_text(errors="replace") if script is not None else ""
                self.paired_cells = paired_post_cells(source, str(script)) if source else {}
            except (OSError, SyntaxError):
                self.paired_cells = {}
        pair = self.paired_cells.get(cell)
        if pair is None or not nest_has(paired_nest_name(*pair)):
            return None
        return pair

    def _nestml_factory(self, model: str, feature: str, paired_with: str = "") -> Any:
        """``sim.<feature>`` on NEST: sPyNNaker's parameters, state and recording names.

        ``paired_with`` names the NESTML synapse the neuron was generated with: the cells
        are then the pair's neuron, and the note says why the script's cell type became it.
        """
        cell = dataclasses.replace(NESTML_CELLS[model], paired_synapse=paired_with)
        if paired_with:
            cell = dataclasses.replace(cell, equations=(
                f"{cell.equations}; on NEST this {feature} population is "
                f"{cell.nest_model}: NESTML 9 runs its synapse {paired_with} (which reads "
                "post-synaptic spikes) only onto the neuron it generates with it, so every "
                f"{feature} population of this script is that neuron instead of pyNN.nest's "
                "iaf_psc_exp"))
        dialect = self

        def make(**parameters: Any) -> Any:
            kind = dialect.nestml_classes.get(cell.nest_model)
            if kind is None:
                kind = dialect.nestml_classes[cell.nest_model] = cell_class(cell)
            unknown = sorted(set(parameters) - set(cell.parameters) - set(cell.initial))
            if unknown:
                raise TypeError(f"{feature} has no parameters {unknown}")
            state = {k: parameters.pop(k) for k in list(parameters) if k in cell.initial}
            dialect.book.add(feature, "translated", cell.equations,
                             numerical_effect=cell.numerical_effect)
            made = kind(**parameters)
            if state:
                made._repro_initial_values = state
            return made

        make.set_model_n_synapse_cores = lambda *_args: None  # type: ignore[attr-defined]
        make._repro_factory = True  # type: ignore[attr-defined]
        make.default_parameters = dict(cell.parameters)  # type: ignore[attr-defined]
        make.default_initial_values = dict(cell.initial)  # type: ignore[attr-defined]
        return make
