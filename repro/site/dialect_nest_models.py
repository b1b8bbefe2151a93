"""sPyNNaker extra models that NEST has but PyNN does not expose, built for pyNN.nest.

Part of :class:`repro.site.dialect.ScriptDialect` (a mixin). Each mapping was checked
against sPyNNaker 7.4.1's Python classes (parameters, how they are written to the chip)
and C sources (``neural_modelling/src/neuron/...``), and against NEST 3.10's model
documentation; :data:`EQUATIONS` says what is equal and what differs, and every use is
noted with that text.

* ``extra_models.Vogels2011Rule(alpha, tau, A_plus, A_minus)`` with
  ``AdditiveWeightDependence(w_min=0, w_max)`` -> ``vogels_sprekeler_synapse``.
* ``extra_models.PfisterSpikeTriplet(tau_plus, tau_minus, tau_x, tau_y, A_plus, A_minus)``
  with ``extra_models.WeightDependenceAdditiveTriplet(w_min=0, w_max, A3_plus, A3_minus)``
  -> ``stdp_triplet_synapse``.
* ``extra_models.IF_curr_dual_exp`` -> PyNN's ``PointNeuron(LIF, excitatory,
  excitatory2, inhibitory)`` with exponential current responses, which pyNN.nest builds
  as ``iaf_psc_exp_multisynapse``.

Also noted here: plastic projections onto the same NEST neurons that ask for different
post-synaptic trace constants (tau_minus, tau_minus_triplet belong to NEST's neuron, the last
projection's value holds for all), and, on the SpiNNaker backends, a PyNN script's additive
pair rule with w_max != 1 (sPyNNaker takes its amplitudes as weights, PyNN as fractions of
w_max).

Site-side: standard library, numpy and pyNN only (pyNN.nest and nest inside functions).
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from repro.site.dialect_connections import parameter_value as _value
from repro.site.portability import NoteBook, script_line
from repro.site.script_scan import speaks_spynnaker
from repro.site.spynnaker_catalogue import HARDWARE_TARGETS, Extension

#: nA (or uS) in PyNN -> pA (or nS) in NEST.
NEST_WEIGHT_SCALE = 1000.0

#: What each mapping keeps and what it changes, as read from both sources.
EQUATIONS = {
    "Vogels2011Rule": (
        "vogels_sprekeler_synapse: both add A_plus * x_post(t) - A_plus * alpha at a pre "
        "spike and A_plus * x_pre(t) at a post spike, with traces that jump by 1 per spike "
        "and decay with tau (timing_vogels_2011_impl.h with weight_additive_one_term_impl.h;"
        " NEST eta = A_plus, alpha = alpha, Wmax = w_max, post trace tau_minus = tau); "
        "A_minus is unused by sPyNNaker's rule. Differs: sPyNNaker applies a pre spike's "
        "term only once the post neuron has fired (a pre spike before the first post spike "
        "leaves the weight unchanged), NEST subtracts A_plus * alpha at every pre spike; "
        "sPyNNaker clamps only at w_max (no lower bound in this rule), NEST also clamps |w| "
        "at 0 and needs w_min = 0; sPyNNaker's traces are 16-bit fixed point with a "
        "lookup-table decay"),
    "PfisterSpikeTriplet": (
        "stdp_triplet_synapse: both add r1 * (A_plus + A3_plus * o2) at a post spike and "
        "subtract o1 * (A_minus + A3_minus * r2) at a pre spike, o2 and r2 sampled before the "
        "spike (timing_pfister_triplet_impl.h with weight_additive_two_term_impl.h; NEST "
        "tau_plus = tau_plus, tau_plus_triplet = tau_x, post tau_minus = tau_minus, "
        "tau_minus_triplet = tau_y, Aplus = A_plus * w_max, Aminus = A_minus * w_max, "
        "Aplus_triplet = A3_plus * w_max, Aminus_triplet = A3_minus * w_max, as sPyNNaker "
        "writes them, Wmax = w_max; w_min must be 0). Differs: sPyNNaker's traces are "
        "16-bit fixed point, tau_x and tau_y decays are looked up in steps of 4 time steps "
        "and end after 256 entries"),
    "SpikePairRule additive": (
        "sPyNNaker adds A_plus * x_pre and subtracts A_minus * x_post as weights "
        "(weight_dependence_additive.py writes them without multiplying by w_max); NEST "
        "multiplies lambda and lambda * alpha by Wmax, so A_plus / w_max and A_minus / w_max "
        "are given to NEST (Projection.get returns these); the same weight changes, "
        "sPyNNaker's traces are 16-bit fixed point with a lookup-table decay"),
    "IF_curr_dual_exp": (
        "PyNN PointNeuron(LIF, excitatory, excitatory2, inhibitory) with exponential current "
        "responses, built by pyNN.nest as iaf_psc_exp_multisynapse: the same LIF with three "
        "exponentially decaying current inputs (tau_syn_E, tau_syn_E2, tau_syn_I); "
        "receptor 'excitatory2' is the second excitatory input. gsyn_exc is recorded as the "
        "sum of both excitatory currents, as sPyNNaker's dual-exponential synapse reports it; "
        "initial synaptic currents other than 0 cannot be set on NEST"),
}

#: What the SpiNNaker backends do with PyNN's additive pair rule (its amplitudes: w_max units).
AMPLITUDES_AS_WEIGHTS = (
    "the script is written for PyNN, where the additive rule's A_plus and A_minus are "
    "fractions of w_max (a pairing changes the weight by A_plus * w_max * exp(-dt/tau_plus), "
    "as NEST's stdp_synapse and pyNN.brian2 compute it); {target} runs sPyNNaker 7.4.1's "
    "rule, which adds and subtracts A_plus and A_minus as weights "
    "(weight_dependence_additive.py does not multiply them by w_max): with w_max = {w_max:g} "
    "every weight change is 1/w_max = {factor:g} times the script's")

#: Class names of PyNN's pair rule and additive weight dependence (PyNN, sPyNNaker's own).
PAIR_RULE_NAMES = frozenset({"SpikePairRule", "TimingDependenceSpikePair"})
ADDITIVE_NAMES = frozenset({"AdditiveWeightDependence", "WeightDependenceAdditive"})

#: Mappings whose weight bounds differ (results can differ beyond fixed-point arithmetic).
BOUNDS_DIFFER = frozenset({"Vogels2011Rule"})

#: sPyNNaker 7.4.1's IF_curr_dual_exp defaults (if_curr_dual_exp_base.py).
DUAL_EXP_DEFAULTS = {"tau_m": 20.0, "cm": 1.0, "v_rest": -65.0, "v_reset": -65.0,
                     "v_thresh": -50.0, "tau_syn_E": 5.0, "tau_syn_E2": 5.0,
                     "tau_syn_I": 5.0, "tau_refrac": 0.1, "i_offset": 0.0, "v": -65.0,
                     "isyn_exc": 0.0, "isyn_inh": 0.0, "isyn_exc2": 0.0}


def _rule_classes() -> dict[str, type]:
    """pyNN.nest timing and weight dependences of the NEST models (made on first use)."""
    from pyNN.standardmodels import build_translations
    from pyNN.standardmodels.synapses import STDPTimingDependence, STDPWeightDependence

    class Vogels2011Timing(STDPTimingDependence):
        """sPyNNaker's Vogels2011Rule on NEST's vogels_sprekeler_synapse."""

        default_parameters = {"tau": 20.0, "alpha": 0.12, "A_plus": 0.01}
        translations = build_translations(("tau", "tau"), ("alpha", "alpha"),
                                          ("A_plus", "eta", NEST_WEIGHT_SCALE))
        possible_models = {"vogels_sprekeler_synapse"}

    class VogelsWeight(STDPWeightDependence):
        """Additive bounds of the Vogels rule (NEST: Wmax, lower bound 0)."""

        default_parameters = {"w_min": 0.0, "w_max": 1.0}
        translations = build_translations(("w_max", "Wmax", NEST_WEIGHT_SCALE),
                                          ("w_min", "w_min_always_zero_in_NEST"))
        possible_models = {"vogels_sprekeler_synapse"}

    class TripletTiming(STDPTimingDependence):
        """sPyNNaker's PfisterSpikeTriplet on NEST's stdp_triplet_synapse (pre side)."""

        default_parameters = {"tau_plus": 16.8, "tau_x": 101.0, "A_plus": 0.01,
                              "A_minus": 0.01}
        translations = build_translations(
            ("tau_plus", "tau_plus"), ("tau_x", "tau_plus_triplet"),
            ("A_plus", "Aplus", NEST_WEIGHT_SCALE), ("A_minus", "Aminus", NEST_WEIGHT_SCALE))
        possible_models = {"stdp_triplet_synapse"}

    class TripletWeight(STDPWeightDependence):
        """sPyNNaker's WeightDependenceAdditiveTriplet on NEST's stdp_triplet_synapse."""

        default_parameters = {"w_min": 0.0, "w_max": 1.0, "A3_plus": 0.01, "A3_minus": 0.01}
        translations = build_translations(
            ("w_max", "Wmax", NEST_WEIGHT_SCALE), ("w_min", "w_min_always_zero_in_NEST"),
            ("A3_plus", "Aplus_triplet", NEST_WEIGHT_SCALE),
            ("A3_minus", "Aminus_triplet", NEST_WEIGHT_SCALE))
        possible_models = {"stdp_triplet_synapse"}

    return {"Vogels2011Timing": Vogels2011Timing, "VogelsWeight": VogelsWeight,
            "TripletTiming": TripletTiming, "TripletWeight": TripletWeight}


def _param(model: Any, name: str) -> float:
    """A homogeneous parameter of a PyNN or sPyNNaker rule (sPyNNaker: an attribute)."""
    if hasattr(model, "parameter_space"):
        return _value(model, name)
    return float(getattr(model, name))


class NestModelDialect:
    """sPyNNaker extra models NEST runs (see the module docstring)."""

    backend: types.ModuleType
    book: NoteBook
    on_nest: bool
    on_emulator: bool
    _nestml_rule_pair: Any  # NestmlSynapseDialect: (timing, weight) -> pair or None
    _prepare_nestml_rule: Any  # NestmlSynapseDialect: (synapse type, post) -> bool

    def _init_nest_models(self) -> None:
        self.rule_classes: dict[str, type] = {}
        #: Post-neuron constants set by each plastic projection on NEST: (node ids,
        #: {name: value}, script line, post label).
        self.post_constants: list[tuple[np.ndarray, dict[str, float], str, str]] = []
        #: id(population) -> {recorded name: NEST-side signal names summed into it}
        self.summed_inputs: dict[int, dict[str, list[str]]] = {}

    def _rules(self) -> dict[str, type]:
        if not self.rule_classes:
            self.rule_classes = _rule_classes()
        return self.rule_classes

    def _nest_extension(self, extension: Extension) -> Any:
        """``sim.extra_models.<name>`` for an extension NEST runs."""
        equations = EQUATIONS.get(extension.name, EQUATIONS["PfisterSpikeTriplet"])
        self.book.add(f"extra_models.{extension.name}", "translated",
                      f"{extension.nest}: {equations}",
                      numerical_effect=extension.name in BOUNDS_DIFFER)
        rules = self._rules()
        if extension.name == "Vogels2011Rule":
            return self._vogels_factory(rules["Vogels2011Timing"])
        if extension.name == "PfisterSpikeTriplet":
            return self._triplet_factory(rules["TripletTiming"])
        if extension.name == "WeightDependenceAdditiveTriplet":
            weight = rules["TripletWeight"]

            def additive_triplet(w_min: float = 0.0, w_max: float = 1.0,
                                 A3_plus: float = 0.01, A3_minus: float = 0.01) -> Any:  # noqa: N803
                return weight(w_min=w_min, w_max=w_max, A3_plus=A3_plus, A3_minus=A3_minus)

            return additive_triplet
        return self._dual_exp_factory()

    def _vogels_factory(self, timing: type) -> Any:
        def vogels_2011_rule(alpha: float, tau: float = 20.0, A_plus: float = 0.01,  # noqa: N803
                             A_minus: float = 0.01) -> Any:  # noqa: N803
            rule = timing(tau=tau, alpha=alpha, A_plus=A_plus)
            rule._repro_A_minus = A_minus
            return rule

        return vogels_2011_rule

    def _triplet_factory(self, timing: type) -> Any:
        def pfister_spike_triplet(tau_plus: float, tau_minus: float, tau_x: float,
                                  tau_y: float, A_plus: float, A_minus: float) -> Any:  # noqa: N803
            rule = timing(tau_plus=tau_plus, tau_x=tau_x, A_plus=A_plus, A_minus=A_minus)
            rule._repro_post = {"tau_minus": float(tau_minus),
                                "tau_minus_triplet": float(tau_y)}
            return rule

        return pfister_spike_triplet

    def _stdp_mechanism_class(self) -> type:
        """``STDPMechanism`` pairing sPyNNaker's rules with the NEST model's bounds.

        On the SpiNNaker backends it notes the PyNN rules they give another meaning.
        """
        dialect = self
        base = self.backend.STDPMechanism

        class STDPMechanism(base):  # type: ignore[misc, valid-type]
            def __init__(self, timing_dependence: Any = None, weight_dependence: Any = None,
                         *args: Any, **kwargs: Any) -> None:
                timing_dependence, weight_dependence = dialect._rule_pair(
                    timing_dependence, weight_dependence)
                super().__init__(timing_dependence, weight_dependence, *args, **kwargs)

        STDPMechanism.__name__ = STDPMechanism.__qualname__ = "STDPMechanism"
        return STDPMechanism

    def _rule_pair(self, timing: Any, weight: Any) -> tuple[Any, Any]:
        """Check a timing/weight pair of the NEST rules; scale as sPyNNaker writes them.

        Elsewhere (emulator, sPyNNaker) the pair is kept and only noted where it differs.
        """
        nestml = self._nestml_rule_pair(timing, weight)
        if nestml is not None:
            return nestml
        weight_name = type(weight).__name__
        if type(timing).__name__ in PAIR_RULE_NAMES and weight_name in ADDITIVE_NAMES:
            if not self.on_nest:
                self._note_amplitudes_as_weights(weight)
            elif self._speaks_spynnaker():
                return self._absolute_pair_amplitudes(timing, weight), weight
        rules = self.rule_classes
        if not rules or not self.on_nest:
            return timing, weight
        if isinstance(timing, rules["Vogels2011Timing"]):
            if weight_name != "AdditiveWeightDependence" or _value(weight, "w_min") != 0.0:
                raise self.book.refuse(
                    f"extra_models.Vogels2011Rule with {weight_name}", HARDWARE_TARGETS,
                    "NEST's vogels_sprekeler_synapse has additive bounds [0, Wmax] only")
            return timing, rules["VogelsWeight"](w_min=0.0, w_max=_value(weight, "w_max"))
        if isinstance(timing, rules["TripletTiming"]):
            if not isinstance(weight, rules["TripletWeight"]) or _value(weight, "w_min") != 0.0:
                raise self.book.refuse(
                    f"extra_models.PfisterSpikeTriplet with {weight_name}", HARDWARE_TARGETS,
                    "NEST's stdp_triplet_synapse has additive triplet bounds [0, Wmax] only")
            w_max = _value(weight, "w_max")
            scaled_timing = type(timing)(
                tau_plus=_value(timing, "tau_plus"), tau_x=_value(timing, "tau_x"),
                A_plus=_value(timing, "A_plus") * w_max, A_minus=_value(timing, "A_minus") * w_max)
            scaled_timing._repro_post = timing._repro_post
            scaled_weight = type(weight)(
                w_min=0.0, w_max=w_max, A3_plus=_value(weight, "A3_plus") * w_max,
                A3_minus=_value(weight, "A3_minus") * w_max)
            return scaled_timing, scaled_weight
        if isinstance(weight, rules["TripletWeight"]):
            raise self.book.refuse(
                f"extra_models.WeightDependenceAdditiveTriplet with {type(timing).__name__}",
                HARDWARE_TARGETS, "NEST's triplet bounds belong to stdp_triplet_synapse only")
        return timing, weight

    def _speaks_spynnaker(self) -> bool:
        """Whether the running script imports its simulator from sPyNNaker (parsed once)."""
        known = self.__dict__.get("_script_speaks_spynnaker")
        if known is None:
            script = self.book.script
            known = script is not None and speaks_spynnaker(script.read_text(errors="replace"))
            self._script_speaks_spynnaker = known
        return known

    def _note_amplitudes_as_weights(self, weight: Any) -> None:
        """A PyNN script's additive pair rule on sPyNNaker or the emulator (w_max != 1).

        Both take A_plus and A_minus as weights where PyNN means fractions of w_max; the
        emulator keeps sPyNNaker's meaning (it previews the hardware), so it is noted.
        """
        if self._speaks_spynnaker():
            return
        w_max = _param(weight, "w_max")
        if w_max in (0.0, 1.0):
            return
        target = "the SpiNNaker emulator" if self.on_emulator else "SpiNNaker"
        self.book.add(f"SpikePairRule with AdditiveWeightDependence(w_max={w_max:g})",
                      "translated", AMPLITUDES_AS_WEIGHTS.format(
                          target=target, w_max=w_max, factor=1.0 / w_max),
                      numerical_effect=True)

    def _absolute_pair_amplitudes(self, timing: Any, weight: Any) -> Any:
        """sPyNNaker's additive pair rule on NEST: amplitudes divided by w_max (noted).

        sPyNNaker writes A_plus and A_minus as weights (``weight_dependence_additive.py``
        does not multiply them by w_max, though its comment says so); NEST's
        ``stdp_synapse`` multiplies lambda and lambda * alpha by Wmax.
        """
        w_max = _value(weight, "w_max")
        self.book.add("SpikePairRule with AdditiveWeightDependence", "translated",
                      f"stdp_synapse: {EQUATIONS['SpikePairRule additive']}",
                      numerical_effect=False)
        if w_max == 0.0:
            return timing
        scaled = type(timing)(
            tau_plus=_value(timing, "tau_plus"), tau_minus=_value(timing, "tau_minus"),
            A_plus=_value(timing, "A_plus") / w_max, A_minus=_value(timing, "A_minus") / w_max)
        scaled._repro_per_w_max = True
        return scaled

    def _prepare_nest_rule(self, synapse_type: Any, post: Any, receptor: Any) -> None:
        """Post-neuron trace constants and the sign of Wmax for the NEST rules."""
        import nest

        if self._prepare_nestml_rule(synapse_type, post):
            return
        constants = self._post_constants(synapse_type)
        if constants:
            self._check_post_constants(post, constants)
        timing = getattr(synapse_type, "timing_dependence", None)
        rules = self.rule_classes
        if timing is None or not rules or not isinstance(
                timing, rules["Vogels2011Timing"] | rules["TripletTiming"]):
            return
        if isinstance(timing, rules["Vogels2011Timing"]):
            constants = {"tau_minus": _value(timing, "tau")}
        else:
            constants = dict(timing._repro_post)
        nest.SetStatus(post.node_collection, constants)
        if receptor == "inhibitory":
            # NEST keeps weights with the sign of Wmax; inhibitory weights are negative
            w_max = -abs(_value(synapse_type.weight_dependence, "w_max"))
            synapse_type.weight_dependence.parameter_space.update(w_max=w_max)

    def _post_constants(self, synapse_type: Any) -> dict[str, float]:
        """The post-neuron constants (NEST ArchivingNode) a plastic synapse type sets."""
        timing = getattr(synapse_type, "timing_dependence", None)
        rules = self.rule_classes
        if rules and isinstance(timing, rules["Vogels2011Timing"]):
            return {"tau_minus": _value(timing, "tau")}
        if rules and isinstance(timing, rules["TripletTiming"]):
            return dict(timing._repro_post)
        has_parameter = getattr(synapse_type, "has_parameter", None)
        if has_parameter is None or not has_parameter("tau_minus"):
            return {}
        value = synapse_type.parameter_space["tau_minus"]  # pyNN.nest sets it on the post
        if not value.is_homogeneous or not isinstance(value.base_value, int | float):
            return {}
        return {"tau_minus": float(value.base_value)}

    def _check_post_constants(self, post: Any, constants: dict[str, float]) -> None:
        """Note plastic projections onto the same neurons that want other post constants.

        NEST keeps tau_minus (and the triplet rule's tau_minus_triplet) in the post-synaptic
        neuron, not in the synapse; pyNN.nest sets it on the post cells at each Projection,
        silently, so the last projection's value holds for all of them.
        """
        ids = np.asarray(post.all_cells, dtype=np.int64)
        line = script_line(self.book.script)
        label = str(getattr(post, "label", "") or "the post population")
        for earlier, wanted, first_line, first_label in self.post_constants:
            differ = sorted(name for name in constants.keys() & wanted.keys()
                            if constants[name] != wanted[name])
            if not differ or not np.intersect1d(earlier, ids).size:
                continue
            asked = ", ".join(f"{name}={wanted[name]:g}" for name in differ)
            kept = ", ".join(f"{name}={constants[name]:g}" for name in differ)
            self.book.add(
                f"plastic projections onto one population with different {', '.join(differ)}",
                "ignored",
                f"NEST keeps {', '.join(differ)} in the post-synaptic neuron (ArchivingNode), "
                f"not in the synapse: the projection at {first_line or '?'} onto {first_label} "
                f"asks {asked}, the one at {line or '?'} onto {label} asks {kept}; NEST (and "
                f"pyNN.nest, silently) uses {kept} for both on the neurons they share "
                "(sPyNNaker 7.4.1 refuses different STDP rules onto one population)",
                numerical_effect=True)
        self.post_constants.append((ids, constants, line, label))

    def _dual_exp_factory(self) -> Any:
        dialect = self
        backend = self.backend

        def if_curr_dual_exp(**parameters: Any) -> Any:
            unknown = sorted(set(parameters) - set(DUAL_EXP_DEFAULTS))
            if unknown:
                raise TypeError(f"IF_curr_dual_exp has no parameters {unknown}")
            values = {**DUAL_EXP_DEFAULTS, **parameters}
            currents = {k: values[k] for k in ("isyn_exc", "isyn_exc2", "isyn_inh")
                        if k in parameters}
            if any(currents.values()):
                dialect.book.add("IF_curr_dual_exp(isyn_...=...)", "ignored",
                                 "NEST cannot set initial synaptic currents",
                                 numerical_effect=True)
            cell = backend.PointNeuron(
                backend.LIF(**{k: values[k] for k in ("tau_m", "cm", "v_rest", "v_reset",
                                                      "v_thresh", "tau_refrac", "i_offset")}),
                excitatory=backend.CurrExpPostSynapticResponse(tau_syn=values["tau_syn_E"]),
                excitatory2=backend.CurrExpPostSynapticResponse(tau_syn=values["tau_syn_E2"]),
                inhibitory=backend.CurrExpPostSynapticResponse(tau_syn=values["tau_syn_I"]))
            cell._repro_initial_values = {"v": values["v"]}
            cell._repro_summed = {"gsyn_exc": ["excitatory.isyn", "excitatory2.isyn"],
                                  "gsyn_inh": ["inhibitory.isyn"]}
            dialect._clamp_refractory(cell)
            return cell

        if_curr_dual_exp.set_model_n_synapse_cores = lambda *_args: None  # type: ignore[attr-defined]
        if_curr_dual_exp._repro_factory = True  # type: ignore[attr-defined]
        return if_curr_dual_exp

    def _want_summed_input(self, population: Any, gsyn: set[str]) -> list[str]:
        """Record the NEST signals summed into ``gsyn``; return their names."""
        summed = getattr(population.celltype, "_repro_summed", {})
        entry = self.summed_inputs.setdefault(id(population), {})
        self.book.add("record('gsyn_exc'/'gsyn_inh') of IF_curr_dual_exp", "translated",
                      "gsyn_exc recorded as NEST's excitatory.isyn + excitatory2.isyn and "
                      "gsyn_inh as inhibitory.isyn (nA), the sums sPyNNaker's "
                      "dual-exponential synapse reports", numerical_effect=False)
        for name in gsyn:
            entry[name] = summed[name]
        return sorted({part for name in gsyn for part in summed[name]})

    def _with_summed_input(self, population: Any, block: Any, variables: Any) -> Any:
        """Replace the recorded parts by their sums under sPyNNaker's names."""
        entry = self.summed_inputs.get(id(population))
        if not entry:
            return block
        wanted = [variables] if isinstance(variables, str) else list(variables or [])
        for segment in block.segments:
            signals = {s.name: s for s in segment.analogsignals}
            for name, parts in entry.items():
                if (name not in wanted and "all" not in wanted) or not all(
                        p in signals for p in parts):
                    continue
                total = signals[parts[0]].copy()
                for part in parts[1:]:
                    total = total + signals[part].rescale(total.units)
                total.name = name
                segment.analogsignals.append(total)
            explicit = {p for p in wanted}
            segment.analogsignals = [s for s in segment.analogsignals if s.name in explicit
                                     or s.name not in {p for ps in entry.values() for p in ps}]
        return block
