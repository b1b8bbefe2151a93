"""sPyNNaker plasticity rules on NEST from repro's shipped NESTML synapses (RecurrentRule).

Part of :class:`repro.site.dialect.ScriptDialect` (a mixin). ``extra_models.RecurrentRule``
with ``MultiplicativeWeightDependence`` (the only weight dependence sPyNNaker 7.4.1 builds
it with) runs on the NESTML synapse ``spynnaker_recurrent_synapse``
(``repro/nestml/models``), which NESTML generates together with its post-synaptic neuron
``spynnaker_if_curr_exp`` (:mod:`repro.nestml.pairs`): the script's ``IF_curr_exp``
populations are that neuron (:meth:`NestmlCellDialect._paired_post_cell`; sPyNNaker 7.4.1
ships the rule's binaries for IF_curr_exp only). Parameters keep sPyNNaker's names and
units (ms; weights and bounds in nA, as the NESTML cells take them unscaled).

Site-side: standard library, numpy and pyNN only (nest inside functions).
"""

from __future__ import annotations

import types
from typing import Any

from repro.site.dialect_connections import parameter_value as _value
from repro.site.portability import NoteBook
from repro.site.spynnaker_catalogue import HARDWARE_TARGETS, Extension

#: Where a combination runs that sPyNNaker 7.4.1 itself has no binary for.
NO_BINARY = "no target (sPyNNaker 7.4.1 ships no binary for it either)"

#: TimingDependenceRecurrent's defaults (sPyNNaker 7.4.1, timing_dependence_recurrent.py).
RECURRENT_DEFAULTS = {"accumulator_depression": -6, "accumulator_potentiation": 6,
                      "mean_pre_window": 35.0, "mean_post_window": 35.0, "dual_fsm": True,
                      "A_plus": 0.01, "A_minus": 0.01}

#: What the NESTML synapse computes and what differs from the chip (the portability note).
RECURRENT_EQUATIONS = (
    "the NESTML synapse spynnaker_recurrent_synapse (repro/nestml/models) runs the 7.4.1 "
    "state machines of the chosen build (dual_fsm: recurrent_dual_fsm, else "
    "recurrent_pre_stochastic; timing_recurrent_*_impl.h, as the emulator's "
    "repro/spinnaker/stdp_recurrent.py does bit for bit): window lengths floor(-mean ln(1 - "
    "k/2048)) ticks with k uniform in 0..2047 (sPyNNaker's host table), accumulator "
    "thresholds, w += (w_max - w) A_plus / w -= (w - w_min) A_minus, the synapse word's "
    "4-bit accumulator and 10-bit window (pre_stochastic), in floating point. Differs: the "
    "windows are drawn from NEST's random stream seeded by the run's seed, where the chip "
    "draws from mars_kiss64 at a seed fixed in the binary, one stream per core in the "
    "core's event order, and shares a row's pre window among its synapses and a neuron's "
    "post window among its synapses; learned weights agree in distribution, not synapse by "
    "synapse; NEST keeps every post spike (the chip keeps the last 15 per neuron)")


def _recurrent_classes(nest_synapse: str) -> tuple[type, type]:
    """pyNN.nest timing and weight dependence of the NESTML RecurrentRule synapse."""
    from pyNN.standardmodels import build_translations
    from pyNN.standardmodels.synapses import STDPTimingDependence, STDPWeightDependence

    class RecurrentTiming(STDPTimingDependence):
        """sPyNNaker's RecurrentRule on the NESTML synapse (both builds)."""

        default_parameters = {k: float(v) for k, v in RECURRENT_DEFAULTS.items()}
        translations = build_translations(*[(name, name) for name in RECURRENT_DEFAULTS])
        possible_models = {nest_synapse}

    class RecurrentWeight(STDPWeightDependence):
        """MultiplicativeWeightDependence bounds of the NESTML synapse (nA, unscaled)."""

        # pyNN.nest's STDPMechanism removes the native name "w_min_always_zero_in_NEST"
        # from every weight dependence (NEST's own STDP models have no lower bound); the
        # NESTML synapse takes w_min itself, so that name is a placeholder here
        default_parameters = {"w_min": 0.0, "w_max": 1.0, "w_min_always_zero_in_NEST": 0.0}
        translations = build_translations(
            ("w_min", "w_min"), ("w_max", "w_max"),
            ("w_min_always_zero_in_NEST", "w_min_always_zero_in_NEST"))
        possible_models = {nest_synapse}

    return RecurrentTiming, RecurrentWeight


class NestmlSynapseDialect:
    """sPyNNaker plasticity rules from shipped NESTML synapses (see the module docstring)."""

    backend: types.ModuleType
    book: NoteBook

    def _init_nestml_synapses(self) -> None:
        #: NEST synapse model -> (timing class, weight class)
        self.nestml_rules: dict[str, tuple[type, type]] = {}

    def _nestml_rule(self, extension: Extension) -> Any:
        """``sim.extra_models.RecurrentRule`` on NEST (refused when the module lacks it)."""
        import nest

        model = extension.class_on("nest")
        if model not in nest.synapse_models:
            raise self.book.refuse(
                f"extra_models.{extension.name}", HARDWARE_TARGETS,
                f"its NESTML synapse {extension.nestml} is not installed (repro builds it when "
                "the pre-run scan finds the name in the script)")
        if model not in self.nestml_rules:
            self.nestml_rules[model] = _recurrent_classes(model)
        timing = self.nestml_rules[model][0]
        dialect = self

        def recurrent_rule(accumulator_depression: int = -6, accumulator_potentiation: int = 6,
                           mean_pre_window: float = 35.0, mean_post_window: float = 35.0,
                           dual_fsm: bool = True, A_plus: float = 0.01,  # noqa: N803
                           A_minus: float = 0.01) -> Any:  # noqa: N803
            dialect.book.add(f"extra_models.{extension.name}", "translated",
                             f"{model}: {RECURRENT_EQUATIONS}", numerical_effect=True)
            return timing(accumulator_depression=float(accumulator_depression),
                          accumulator_potentiation=float(accumulator_potentiation),
                          mean_pre_window=float(mean_pre_window),
                          mean_post_window=float(mean_post_window),
                          dual_fsm=1.0 if dual_fsm else 0.0, A_plus=float(A_plus),
                          A_minus=float(A_minus))

        return recurrent_rule

    def _nestml_rule_of(self, timing: Any) -> tuple[str, type] | None:
        """(NEST synapse, weight class) when ``timing`` is a NESTML synapse's rule."""
        for model, (timing_class, weight_class) in self.nestml_rules.items():
            if isinstance(timing, timing_class):
                return model, weight_class
        return None

    def _nestml_rule_pair(self, timing: Any, weight: Any) -> tuple[Any, Any] | None:
        """The NESTML synapse's weight dependence for sPyNNaker's, or None (not ours)."""
        rule = self._nestml_rule_of(timing)
        if rule is None:
            return None
        _model, weight_class = rule
        if type(weight).__name__ != "MultiplicativeWeightDependence":
            raise self.book.refuse(
                f"extra_models.RecurrentRule with {type(weight).__name__}", NO_BINARY,
                "sPyNNaker 7.4.1 builds RecurrentRule only with MultiplicativeWeightDependence")
        return timing, weight_class(w_min=_value(weight, "w_min"), w_max=_value(weight, "w_max"))

    def _prepare_nestml_rule(self, synapse_type: Any, post: Any) -> bool:
        """Check the post-synaptic cells of a NESTML synapse; True when it is one."""
        timing = getattr(synapse_type, "timing_dependence", None)
        rule = self._nestml_rule_of(timing) if timing is not None else None
        if rule is None:
            return False
        synapse, partner = rule[0].split("__with_")
        neuron = getattr(getattr(post, "celltype", None), "nest_name", {}).get("on_grid", "")
        if neuron != f"{partner}__with_{synapse}":
            raise self.book.refuse(
                "extra_models.RecurrentRule onto "
                f"{type(getattr(post, 'celltype', None)).__name__}", NO_BINARY,
                "sPyNNaker 7.4.1 builds RecurrentRule for IF_curr_exp only, and NEST runs "
                "the NESTML synapse only onto the IF_curr_exp model generated with it")
        return True
