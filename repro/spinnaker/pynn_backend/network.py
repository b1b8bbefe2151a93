"""Turn what a PyNN script created into the emulator's network description and engine."""

from __future__ import annotations

import dataclasses

import numpy as np
from pyNN.random import RandomDistribution

from repro.spinnaker import cores
from repro.spinnaker.current_sources import CurrentSourceSpec
from repro.spinnaker.engine import Engine
from repro.spinnaker.netspec import (
    ArrayPopulation,
    Network,
    NeuronPopulation,
    PoissonPopulation,
    ProjectionSpec,
)
from repro.spinnaker.neuromodulation import NEUROMODULATED_RULES, DopamineInput
from repro.spinnaker.neurons import MODELS, PER_CORE_RANDOM, receptors, weight_scale
from repro.spinnaker.pynn_backend.estimates import estimate, seeded_random_sources
from repro.spinnaker.pynn_backend.populations import Assembly
from repro.spinnaker.pynn_backend.recording import population_index
from repro.spinnaker.pynn_backend.standardmodels import (
    Neuromodulation,
    STDPMechanism,
    UnsupportedFeatureError,
)
from repro.spinnaker.stdp import Neuromodulation as Modulation
from repro.spinnaker.stdp import StdpRule

#: What sPyNNaker 7.4.1 does by default with seeded RNGs, and what the emulator does instead.
SEEDED_RNG_NOTE = (
    "sPyNNaker 7.4.1 with its default configuration (error_on_non_spynnaker_pynn = True) "
    "refuses seeded RNGs in {where}; the emulator proceeds as if that option were False, "
    "using the values PyNN drew on the host where SpiNNaker would draw them on chip")


def _neuron_population(pop) -> NeuronPopulation:
    names = pop.celltype.get_parameter_names()
    params = {name: np.broadcast_to(np.asarray(pop.parameter_array(name), dtype=float),
                                    (pop.size,)).copy() for name in names}
    for variable in ("isyn_exc", "isyn_exc2", "isyn_inh", "gsyn_exc", "gsyn_inh"):
        if variable in pop.initial_values and np.any(pop.initial_array(variable) != 0):
            raise UnsupportedFeatureError(
                f"initial {variable} other than 0 is not supported by the "
                f"SpiNNaker emulator (population {pop.label!r})")
    extras = pop.additional_parameters
    summed = extras.get("max_expected_summed_weight")
    initial = {name: pop.initial_array(name).copy()
               for name in ("u", "multiplicator", "exc2_old")
               if name in pop.initial_values}
    return NeuronPopulation(
        label=pop.label, size=pop.size, model=type(pop.celltype).__name__, params=params,
        v_init=pop.initial_array("v").copy(), initial=initial,
        spikes_per_second=float(extras.get("spikes_per_second", 30.0)),
        ring_buffer_sigma=float(extras.get("ring_buffer_sigma", 5.0)),
        max_expected_summed_weight=None if summed is None else tuple(float(w) for w in summed),
        neurons_per_core=cores.neurons_per_core(pop.neurons_per_core))


def _source_population(pop) -> PoissonPopulation | ArrayPopulation:
    name = type(pop.celltype).__name__
    if name == "SpikeSourcePoisson":
        values = {}
        for parameter in ("rate", "start", "duration"):
            array = pop.parameter_array(parameter)
            if array.dtype == object:
                raise UnsupportedFeatureError(
                    f"SpikeSourcePoisson {parameter} must be one number per "
                    f"source (population {pop.label!r})")
            values[parameter] = np.broadcast_to(array.astype(float), (pop.size,)).copy()
        return PoissonPopulation(label=pop.label, size=pop.size, **values)
    times = np.broadcast_to(pop.parameter_array("spike_times"), (pop.size,))
    return ArrayPopulation(label=pop.label, size=pop.size,
                           spike_times=[np.asarray(getattr(t, "value", t), dtype=float)
                                        for t in times])


def _locate(cells: np.ndarray, first_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(population index, index within it) of global cell ids."""
    owner = np.searchsorted(first_ids, cells, side="right") - 1
    return owner, cells - first_ids[owner]


def _attach_current_sources(state, network: Network, first_ids: np.ndarray) -> None:
    """Hand every injected current source to the populations of its cells."""
    for source, ids in state.current_sources:
        model = type(source).__name__
        params = source.parameter_values()
        owner, index = _locate(ids, first_ids)
        for population in np.unique(owner):
            pop = network.populations[int(population)]
            if not isinstance(pop, NeuronPopulation):
                raise UnsupportedFeatureError(
                    f"{model} injected into spike source {pop.label!r}")
            pop.current_sources.append(CurrentSourceSpec(
                model=model, params=params, targets=index[owner == population]))
        if "stop" in params and params["stop"] <= params["start"]:
            network.notes.append(
                f"{model} with stop ({params['stop']} ms) <= start ({params['start']} ms) "
                "never switches on; sPyNNaker 7.4.1 defaults stop to 0 ms")


def _synapse_type(projection) -> int:
    """Ring-buffer row of a projection's receptor type in its post cell type."""
    post = projection.post
    celltype = post.populations[0].celltype if isinstance(post, Assembly) else post.celltype
    names = receptors(type(celltype).__name__)
    if projection.receptor_type not in names:
        raise UnsupportedFeatureError(
            f"receptor_type {projection.receptor_type!r} of {type(celltype).__name__} is not "
            f"supported by the SpiNNaker emulator (supported: {', '.join(names)})")
    return names.index(projection.receptor_type)


def _rule_value(component, name: str) -> float:
    value = component.parameter_space[name].base_value
    if isinstance(value, RandomDistribution) or np.ndim(value) != 0:
        raise UnsupportedFeatureError(
            f"{type(component).__name__}({name}=...) must be one number on SpiNNaker (the "
            "rule's parameters are shared by all synapses of a projection)")
    return float(value)


def rule_parameters(synapse_type) -> dict[str, float]:
    """The timing and weight dependence parameters of an STDPMechanism, by PyNN name."""
    return {name: _rule_value(component, name)
            for component in (synapse_type.timing_dependence, synapse_type.weight_dependence)
            for name in component.get_parameter_names()}


#: PyNN weight-dependence class -> :class:`StdpRule` weight dependence.
WEIGHT_DEPENDENCES = {"AdditiveWeightDependence": "additive",
                      "MultiplicativeWeightDependence": "multiplicative",
                      "WeightDependenceAdditiveTriplet": "additive_triplet"}


def stdp_rule(synapse_type) -> StdpRule | None:
    """The STDP rule of a projection's synapse type (None for static synapses)."""
    if not isinstance(synapse_type, STDPMechanism):
        return None
    timing, weights = synapse_type.timing_dependence, synapse_type.weight_dependence
    kind = WEIGHT_DEPENDENCES[type(weights).__name__]
    bounds = {name: _rule_value(weights, name) for name in ("w_min", "w_max")}
    amplitudes = {name.lower(): _rule_value(timing, name) for name in ("A_plus", "A_minus")}
    name = type(timing).__name__
    if name == "TimingDependenceVogels2011":
        tau = _rule_value(timing, "tau")
        return StdpRule(weight_dependence=kind, tau_plus=tau, tau_minus=tau, **amplitudes,
                        **bounds, timing="vogels2011", alpha=_rule_value(timing, "alpha"))
    if name == "TimingDependenceRecurrent":
        dual = bool(_rule_value(timing, "dual_fsm"))
        return StdpRule(weight_dependence=kind, tau_plus=0.0, tau_minus=0.0, **amplitudes,
                        **bounds, timing="recurrent_dual_fsm" if dual
                        else "recurrent_pre_stochastic",
                        **{n: int(_rule_value(timing, n)) for n in (
                            "accumulator_depression", "accumulator_potentiation")},
                        **{n: _rule_value(timing, n) for n in (
                            "mean_pre_window", "mean_post_window")})
    taus = {n: _rule_value(timing, n) for n in ("tau_plus", "tau_minus")}
    if name == "PfisterSpikeTriplet":
        return StdpRule(weight_dependence=kind, **taus, **amplitudes, **bounds,
                        timing="triplet",
                        **{n.lower(): _rule_value(timing if n.startswith("tau") else weights, n)
                           for n in ("tau_x", "tau_y", "A3_plus", "A3_minus")})
    return StdpRule(weight_dependence=kind, **taus, **amplitudes, **bounds)


def modulation(synapse_type) -> Modulation | None:
    """The parameters of a Neuromodulation synapse type (None for other synapse types)."""
    if not isinstance(synapse_type, Neuromodulation):
        return None
    return Modulation(**{name: _rule_value(synapse_type, name)
                         for name in ("tau_c", "tau_d", "w_min", "w_max")})


def dopamine_input(projection) -> DopamineInput | None:
    """The dopamine input of a Neuromodulation projection (None for other synapse types)."""
    parameters = modulation(projection.synapse_type)
    if parameters is None:
        return None
    return DopamineInput(reward=projection.receptor_type == "reward", modulation=parameters)


def _apply_merged_dynamics(state, network: Network) -> None:
    """Run every plastic projection with its post population's merged rule (sPyNNaker
    keeps one synapse dynamics per population: :mod:`.dynamics_merge`), neuromodulated
    STDP where the population receives reward or punishment input.

    Raises
    ------
    UnsupportedFeatureError
        For a rule without a neuromodulation build.
    """
    for spec in network.projections:
        if not isinstance(spec.plasticity, StdpRule):
            continue
        rule = state.synapse_dynamics[state.populations[spec.post]].rule
        if rule.neuromodulation is not None \
                and (rule.timing, rule.weight_dependence) not in NEUROMODULATED_RULES:
            raise UnsupportedFeatureError(
                f"neuromodulated STDP with the {rule.timing} rule and "
                f"{rule.weight_dependence} weight dependence (projection {spec.label!r}): "
                "sPyNNaker 7.4.1 builds only pair additive/multiplicative and Vogels 2011 "
                "additive")
        spec.plasticity = rule


def learned_weights(engine: Engine, projection, weights: np.ndarray) -> np.ndarray:
    """Weights of a plastic projection as SpiNNaker holds them after the run (read back as
    sPyNNaker's ``Projection.get`` does: W / (2**(15 - L) g), unsigned)."""
    origin = engine_projection_origin(projection)
    learned = np.asarray(weights, dtype=float).copy()
    for number, spec in enumerate(engine.network.projections):
        if spec.origin != origin or not isinstance(spec.plasticity, StdpRule):
            continue
        group = engine.groups[spec.post]
        quantum = 2.0 ** (int(group.shifts[spec.synapse_type]) - 15) / weight_scale(
            group.spec.model)
        learned[spec.connection_index] = engine.learned_weights(number) * quantum
    return learned


def engine_projection_origin(projection) -> int:
    """Position of a Projection in the simulator's list (the specs' ``origin``)."""
    for index, candidate in enumerate(projection._simulator.state.projections):
        if candidate is projection:
            return index
    raise KeyError(f"projection {projection.label!r} is not part of this simulation")


def build_network(state) -> Network:
    """Capture the populations and projections of the current simulation.

    Raises
    ------
    UnsupportedFeatureError
        For features the emulator does not implement (named in the message).
    RuntimeError
        If ``setup(error_on_non_spynnaker_pynn=True)`` and the script uses seeded RNGs
        where sPyNNaker would refuse them.
    """
    network = Network()
    for pop in state.populations:
        if type(pop.celltype).__name__ in MODELS:
            network.populations.append(_neuron_population(pop))
        else:
            network.populations.append(_source_population(pop))
    first_ids = np.array([int(p.first_id) for p in state.populations], dtype=np.int64)
    _attach_current_sources(state, network, first_ids)
    seeded: list[str] = []
    for origin, projection in enumerate(state.projections):
        arrays = projection.connection_arrays()
        dopamine = dopamine_input(projection)
        synapse_type = 0 if dopamine else _synapse_type(projection)
        on_machine, est = estimate(projection, synapse_type, arrays)
        rule = stdp_rule(projection.synapse_type) or dopamine
        if isinstance(rule, StdpRule):
            # SynapseDynamicsSTDP: mean = maximum = max(connector's, w_max), variance 0.
            top = max(est.weight_max, rule.w_max)
            est = dataclasses.replace(est, weight_mean=top, weight_variance=0.0, weight_max=top)
        seeded.extend(seeded_random_sources(projection))
        network.notes.extend(projection.notes)
        pre_ids = np.asarray(projection.pre.all_cells, dtype=np.int64)
        post_ids = np.asarray(projection.post.all_cells, dtype=np.int64)
        pre_pop, pre_index = _locate(pre_ids[arrays["presynaptic_index"]], first_ids)
        post_pop, post_index = _locate(post_ids[arrays["postsynaptic_index"]], first_ids)
        if not isinstance(projection.pre, Assembly) and not isinstance(projection.post, Assembly):
            # Population or view to population or view: one pair, even without connections
            # (sPyNNaker plans the ring buffer from the connector, not from what it drew).
            pairs = [(int(_locate(pre_ids[:1], first_ids)[0][0]),
                      int(_locate(post_ids[:1], first_ids)[0][0]))]
        else:
            codes = np.unique(pre_pop * len(first_ids) + post_pop)
            pairs = [divmod(int(code), len(first_ids)) for code in codes]
        for pre, post in pairs:
            keep = (pre_pop == pre) & (post_pop == post)
            network.projections.append(ProjectionSpec(
                label=projection.label or f"projection{len(network.projections)}",
                pre=int(pre), post=int(post), pre_index=pre_index[keep],
                post_index=post_index[keep], weight=arrays["weight"][keep],
                delay=arrays["delay"][keep], synapse_type=synapse_type, on_machine=on_machine,
                estimate=est, connector=type(projection._connector).__name__,
                plasticity=rule, origin=origin, connection_index=np.flatnonzero(keep)))
    _apply_merged_dynamics(state, network)
    seeded.extend(f"RandomDistribution for initial {variable} of {pop.label}"
                  for pop in state.populations for variable in ("v",)
                  if variable in pop.initial_values
                  and getattr(getattr(pop.initial_values[variable].base_value, "rng", None),
                              "seed", None) is not None)
    if seeded:
        where = ", ".join(dict.fromkeys(seeded))
        if state.options.get("error_on_non_spynnaker_pynn", False):
            raise RuntimeError("sPyNNaker 7.4.1 refuses seeded RNGs in " + where +
                               " (error_on_non_spynnaker_pynn = True)")
        network.notes.append(SEEDED_RNG_NOTE.format(where=where))
    return network


def build_engine(state) -> Engine:
    """Build the engine for the current simulation (called at the first ``run()``)."""
    engine = Engine(build_network(state), state.timing, [state.seed, state.segment_counter])
    for recorder in state.recorders:
        variables = recorder.signal_variables()
        if variables:
            engine.record_signals(population_index(recorder.population), variables)
    return engine


def slicing_changes_draws(network: Network, index: int) -> bool:
    """Whether the script's neurons per core give population ``index`` other random draws.

    True when the population draws from per-core on-chip streams (IF_cond_exp_stoc's
    threshold; the post population of a RecurrentRule projection) and its slices differ
    from those of sPyNNaker's default of 256 neurons per core.
    """
    spec = network.populations[index]
    if not isinstance(spec, NeuronPopulation):
        return False
    streams = spec.model in PER_CORE_RANDOM or any(
        p.post == index and isinstance(p.plasticity, StdpRule)
        and p.plasticity.timing.startswith("recurrent") for p in network.projections)
    return streams and (cores.core_slices(spec.size, spec.neurons_per_core)
                        != cores.core_slices(spec.size, cores.MAX_NEURONS_PER_CORE))
