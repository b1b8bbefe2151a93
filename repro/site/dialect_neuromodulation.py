"""sPyNNaker's ``extra_models.Neuromodulation`` (reward and punishment) on NEST.

Part of :class:`repro.site.dialect.ScriptDialect` (a mixin). sPyNNaker 7.4.1 makes every
STDP projection into a population neuromodulated once that population receives a projection
with ``synapse_type=extra_models.Neuromodulation(weight, tau_c, tau_d, w_min, w_max)`` and
``receptor_type="reward"`` or ``"punishment"``. On NEST:

* every ``IF_curr_exp`` population of a script that uses Neuromodulation is the NESTML
  neuron ``spynnaker_if_curr_exp`` generated together with the NESTML synapse
  ``spynnaker_neuromodulated_stdp_synapse`` (``repro/nestml/models``; catalogue
  ``nestml_post``, :meth:`NestmlCellDialect._paired_post_cell`);
* a ``SpikePairRule`` + ``AdditiveWeightDependence`` projection onto such a population is
  that synapse (one NEST synapse model per projection); until a dopamine projection reaches
  the population its dopamine is zero;
* dopamine reaches the synapses through repro's ``repro_signed_volume_transmitter``
  (:mod:`repro.nestml.augment`; NEST's own volume transmitter drops weights): each dopamine
  connection carries +|weight| (reward) or -|weight| (punishment) with the plastic synapses'
  delay d, so a spike of tick t adds its signed concentration at t + d as in sPyNNaker, and
  coincident spikes add. A population whose neurons all have the same dopamine sources has
  one transmitter; otherwise there is one per distinct set of sources, and the plastic
  synapses are rebuilt on one NEST synapse model per set (NEST gives a model one volume
  transmitter), again whenever a later dopamine projection refines the sets.

Refused, naming the reason: dopamine connectors other than all-to-all, one-to-one and
from-list; plastic delays that differ within one population; dopamine sources of one
population that are both spike sources and neurons (NEST stamps them differently, the
synapse corrects one stamp); STDP rules other than the additive pair rule onto a
neuromodulated population. As sPyNNaker does, a second Neuromodulation into a population
must have the first one's tau_c, tau_d, w_min and w_max.

Site-side: standard library, numpy and pyNN only (nest inside functions).
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from repro.site.dialect_connections import parameter_value
from repro.site.portability import NoteBook
from repro.site.spynnaker_catalogue import NESTML_SUFFIX, NEUROMODULATION_TARGETS

#: The pair the NESTML build generates (``repro.nestml.shipped.SHIPPED_PAIRS``).
NEURON = "spynnaker_if_curr_exp"
SYNAPSE = "spynnaker_neuromodulated_stdp_synapse"
NEST_NEURON = f"{NEURON}{NESTML_SUFFIX}__with_{SYNAPSE}{NESTML_SUFFIX}"
NEST_SYNAPSE = f"{SYNAPSE}{NESTML_SUFFIX}__with_{NEURON}{NESTML_SUFFIX}"
#: repro's volume transmitter with signed amounts (``repro.nestml.augment.SIGNED_VT_MODEL``).
SIGNED_VT = "repro_signed_volume_transmitter"

SYNAPSE_EQUATIONS = (
    f"NESTML synapse {SYNAPSE} (NEST model {NEST_SYNAPSE}): sPyNNaker 7.4.1's "
    "synapse_dynamics_stdp_izhikevich_neuromodulation with the pair rule and additive "
    "weights (docs/spinnaker-numerics-models.md section 17) in floating point: an "
    "eligibility trace Wc (SpikePairRule's A_plus/A_minus as weights, clamped to the weight "
    "dependence's [w_min, w_max]), dopamine D (+|weight| per reward spike, -|weight| per "
    "punishment spike, coincident spikes added, decaying with tau_d), W += the integral of "
    "Wc D between events, W clamped to Neuromodulation's [w_min, w_max] and changed only at "
    "pre spikes; sPyNNaker's table decays as exact exponentials of the same quantised times "
    "(tau_c in steps of 16 ticks, tau_d of 4), and its decay of the newest event's dopamine "
    "from that event's undelayed tick. Dopamine reaches the synapses through "
    "repro_signed_volume_transmitter nodes (signed amounts, repro's C++) at the dopamine "
    "spike's tick + d; post spikes count at NEST's stamp minus one step (sPyNNaker's tick). "
    "Differs: floating point instead of STDP fixed point (16-bit traces, truncating "
    "products, the concentration rounded to 11 fraction bits); NEST keeps every post spike "
    "and dopamine event (sPyNNaker's history keeps 15 per neuron); a post spike arriving in "
    "a pre spike's own tick is paired after that pre spike (sPyNNaker: before it); the "
    "marker-bit quirk of 7.4.1 (section 17) is not reproduced")


@dataclass(frozen=True)
class Dopamine:
    """``extra_models.Neuromodulation(...)`` as a script wrote it (NEST side)."""

    weight: float
    tau_c: float
    tau_d: float
    w_min: float
    w_max: float

    def synapse_parameters(self, lag_ms: float) -> dict[str, float]:
        """The NESTML synapse's dopamine parameters (``lag_ms``: NEST's stamp minus
        sPyNNaker's tick of the dopamine spikes)."""
        return {"tau_c": self.tau_c, "tau_d": self.tau_d, "nm_w_min": self.w_min,
                "nm_w_max": self.w_max, "dopamine_lag": lag_ms}

    def same_modulation(self, other: Dopamine) -> bool:
        """sPyNNaker's test for merging two Neuromodulations into one population."""
        return (self.tau_c, self.tau_d, self.w_min, self.w_max) == (
            other.tau_c, other.tau_d, other.w_min, other.w_max)


@dataclass(frozen=True)
class DopamineInput:
    """One dopamine projection into a modulated population."""

    pre: Any
    #: (pre index, post index) rows
    pairs: np.ndarray
    #: signed concentration of one spike: +|weight| reward, -|weight| punishment
    amount: float


def _stamp_lag(population: Any) -> float:
    """NEST's spike stamp minus sPyNNaker's tick for ``population``'s spikes (ms): a
    neuron's spike is stamped at the end of its step, a spike source's (through pyNN.nest's
    parrot) at the source's own time."""
    import nest

    return 0.0 if getattr(type(population.celltype), "uses_parrot", False) else float(
        nest.resolution)


@dataclass
class ModulatedPopulation:
    """A post population with neuromodulated plastic synapses."""

    volume_transmitter: Any
    models: list[str] = field(default_factory=list)
    projections: dict[str, Any] = field(default_factory=dict)
    delays_ms: set[float] = field(default_factory=set)
    dopamine: Dopamine | None = None
    #: NEST's stamp minus sPyNNaker's tick of the dopamine spikes (ms)
    lag_ms: float | None = None
    inputs: list[DopamineInput] = field(default_factory=list)
    #: each post neuron's dopamine sources: sorted (input index, pre index) rows
    neuron_sources: tuple[tuple[tuple[int, int], ...], ...] = ()
    #: one volume transmitter per distinct set of sources when the neurons' sets differ
    group_transmitters: dict[tuple[tuple[int, int], ...], Any] = field(default_factory=dict)

    def sources_of_neurons(self, size: int) -> tuple[tuple[tuple[int, int], ...], ...]:
        """Every post neuron's dopamine sources over all inputs (repeats kept: two rows
        from one source add twice, as two sPyNNaker rows do)."""
        rows: list[list[tuple[int, int]]] = [[] for _ in range(size)]
        for index, dopamine_input in enumerate(self.inputs):
            for pre, post in dopamine_input.pairs:
                rows[int(post)].append((index, int(pre)))
        return tuple(tuple(sorted(row)) for row in rows)


def dopamine_pairs(connector: Any, n_pre: int, n_post: int) -> np.ndarray:
    """(pre index, post index) rows of a reward projection's connector.

    Raises
    ------
    ValueError
        For connectors whose connections depend on random draws or space.
    """
    name = type(connector).__name__
    if name == "AllToAllConnector":
        pre, post = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
        return np.column_stack([pre.ravel(), post.ravel()])
    if name == "OneToOneConnector":
        if n_pre != n_post:
            raise ValueError("OneToOneConnector between populations of different sizes")
        return np.column_stack([np.arange(n_pre), np.arange(n_pre)])
    if name == "FromListConnector":
        rows = np.asarray(connector.conn_list)
        return rows[:, :2].astype(int) if rows.size else np.zeros((0, 2), dtype=int)
    raise ValueError(f"{name} (the dialect reads the connections of a reward projection "
                     "from AllToAllConnector, OneToOneConnector and FromListConnector)")


class NeuromodulationDialect:
    """Reward-modulated STDP on NEST (see the module docstring)."""

    backend: types.ModuleType
    book: NoteBook
    on_nest: bool

    def _init_neuromodulation(self) -> None:
        self.modulated: dict[int, ModulatedPopulation] = {}

    # ----------------------------------------------------------------- the rule
    def _neuromodulation_factory(self) -> Any:
        """``sim.extra_models.Neuromodulation`` on NEST (wired by its projection)."""
        def neuromodulation(weight: float = 0.0, tau_c: float = 1000.0, tau_d: float = 200.0,
                            w_min: float = 0.0, w_max: float = 1.0) -> Dopamine:
            return Dopamine(float(weight), float(tau_c), float(tau_d), float(w_min),
                            float(w_max))

        return neuromodulation

    def _is_dopamine(self, synapse_type: Any) -> bool:
        return isinstance(synapse_type, Dopamine)

    def _is_paired_post(self, post: Any) -> bool:
        nest_name = getattr(type(getattr(post, "celltype", None)), "nest_name", None)
        return isinstance(nest_name, dict) and nest_name.get("on_grid") == NEST_NEURON

    def _modulated_synapse(self, synapse_type: Any, pre: Any, post: Any, receptor: Any) -> Any:
        """The NESTML synapse for a pair-rule additive STDP projection onto a paired
        population (``synapse_type`` unchanged otherwise)."""
        timing = getattr(synapse_type, "timing_dependence", None)
        weight = getattr(synapse_type, "weight_dependence", None)
        if timing is None or not self._is_paired_post(post):
            return synapse_type
        rule = (type(timing).__name__, type(weight).__name__)
        if receptor in (None, "default"):  # PyNN guesses from the sign: STDP weights are >= 0
            receptor = "excitatory"
        if rule != ("SpikePairRule", "AdditiveWeightDependence") or receptor != "excitatory":
            raise self.book.refuse(
                f"{rule[0]} with {rule[1]} onto IF_curr_exp ({receptor}) in a script using "
                "extra_models.Neuromodulation", NEUROMODULATION_TARGETS,
                f"NEST runs the neuromodulated rule as {SYNAPSE}, sPyNNaker's "
                "SpikePairRule with AdditiveWeightDependence on excitatory synapses only")
        import nest

        target = self._modulated_population(post)
        name = f"repro_neuromodulated_stdp_{len(nest.synapse_models)}"
        nest.CopyModel(NEST_SYNAPSE + "_lbl", name)
        _set_volume_transmitter(name, target.volume_transmitter)
        values = {n: parameter_value(timing, n)
                  for n in ("tau_plus", "tau_minus", "A_plus", "A_minus")}
        values.update({n: parameter_value(weight, n) for n in ("w_min", "w_max")})
        if getattr(timing, "_repro_per_w_max", False):
            # the dialect gave NEST's stdp_synapse A / w_max; sPyNNaker's A are weights
            values["A_plus"] *= values["w_max"]
            values["A_minus"] *= values["w_max"]
        values["pre_lag"] = _stamp_lag(pre)
        if target.dopamine is not None:
            values.update(target.dopamine.synapse_parameters(target.lag_ms or 0.0))
        nest.SetDefaults(name, values)
        target.models.append(name)
        # the STDPMechanism's note named NEST's stdp_synapse, which this projection is not
        self.book.notes[:] = [n for n in self.book.notes if not (
            n.feature == "SpikePairRule with AdditiveWeightDependence"
            and n.detail.startswith("stdp_synapse"))]
        self.book.add("STDPMechanism(SpikePairRule, AdditiveWeightDependence) onto a "
                      "neuromodulated population", "translated", SYNAPSE_EQUATIONS,
                      numerical_effect=True)
        space = synapse_type.parameter_space
        return _nestml_synapse_class(self.backend, name)(
            weight=space["weight"].base_value, delay=space["delay"].base_value)

    def _modulated_population(self, post: Any) -> ModulatedPopulation:
        import nest

        target = self.modulated.get(id(post))
        if target is None:
            target = self.modulated[id(post)] = ModulatedPopulation(
                nest.Create(SIGNED_VT))
        return target

    def _note_modulated(self, projection: Any) -> None:
        """After a neuromodulated projection is built: record its delays (and give it its
        own volume transmitters when it comes after the reward projection)."""
        import nest

        model = getattr(projection, "nest_synapse_model", "")
        target = self.modulated.get(id(projection.post))
        if target is None or model not in target.models:
            return
        delays = nest.GetConnections(synapse_model=model).get("delay")
        target.delays_ms.update(float(d) for d in np.atleast_1d(delays))
        target.projections[model] = projection
        if target.group_transmitters:  # a plastic projection made after the reward one
            self._split_by_dopamine(target, model)

    # ----------------------------------------------------------------- dopamine
    def _dopamine_projection(self, projection: Any, pre: Any, post: Any, connector: Any,
                             dopamine: Dopamine, receptor: Any) -> None:
        """Wire a reward or punishment projection: each post neuron's dopamine sources drive
        the volume transmitter of that neuron's plastic synapses."""
        import nest

        projection.pre, projection.post, projection.synapse_type = pre, post, dopamine
        projection.receptor_type = receptor
        feature = f"extra_models.Neuromodulation(receptor_type={receptor!r})"
        if receptor not in ("reward", "punishment"):
            raise ValueError(f"Neuromodulation needs receptor_type 'reward' or "
                             f"'punishment', not {receptor!r}")
        if NEST_SYNAPSE not in nest.synapse_models or SIGNED_VT not in nest.node_models:
            raise self.book.refuse(
                feature, NEUROMODULATION_TARGETS,
                f"its NESTML synapse {SYNAPSE} (and {SIGNED_VT}) is not installed (repro "
                "builds them when the pre-run scan finds the name in the script)")
        target = self.modulated.get(id(post))
        if target is None or not target.models:
            # sPyNNaker: synapse_dynamics_neuromodulation.py, merge()
            raise ValueError("Neuromodulation synapses can only be added when an STDP "
                             "projection has already been added")
        if target.dopamine is not None and not target.dopamine.same_modulation(dopamine):
            raise ValueError("Neuromodulation must match exactly when using multiple edges "
                             "to the same Population")
        try:
            pairs = dopamine_pairs(connector, pre.size, post.size)
        except ValueError as exc:
            raise self.book.refuse(f"{feature} with {exc}", NEUROMODULATION_TARGETS,
                                   "the dialect builds NEST's dopamine routing from the "
                                   "connection list") from None
        if len(target.delays_ms) != 1:
            raise self.book.refuse(
                feature, NEUROMODULATION_TARGETS,
                f"the plastic synapses into the population have delays {sorted(target.delays_ms)}"
                " ms; the dopamine reaches them through volume transmitters at one delay")
        lag_ms = _stamp_lag(pre)
        if target.lag_ms is not None and lag_ms != target.lag_ms:
            raise self.book.refuse(
                feature, NEUROMODULATION_TARGETS,
                "the population's dopamine comes from both spike sources and neurons; NEST "
                f"stamps a neuron's spike {float(nest.resolution):g} ms after sPyNNaker's "
                "tick and a spike source's at its tick, and the synapse corrects one stamp")
        amount = abs(dopamine.weight) if receptor == "reward" else -abs(dopamine.weight)
        target.dopamine, target.lag_ms = dopamine, lag_ms
        target.inputs.append(DopamineInput(pre, pairs, amount))
        self._wire_dopamine(target, post.size)
        for model in target.models:
            values = dopamine.synapse_parameters(lag_ms)
            nest.SetDefaults(model, values)
            nest.GetConnections(synapse_model=model).set(values)
        sets = ("one per distinct set of a neuron's dopamine sources"
                if target.group_transmitters else "one for the population")
        self.book.add(feature, "translated",
                      f"the dopamine sources drive {SIGNED_VT} nodes ({sets}; repro's C++, "
                      "signed amounts, coincident spikes add) read by "
                      f"{SYNAPSE}, delay {next(iter(target.delays_ms)):g} ms (the plastic "
                      f"synapses' d), {amount:+g} per spike; tau_c, tau_d and the weight "
                      "bounds as synapse parameters", numerical_effect=False)

    def _wire_dopamine(self, target: ModulatedPopulation, size: int) -> None:
        """Connect the newest input's sources to the transmitters; when the neurons' source
        sets differ, give every set a fresh transmitter and rebuild the plastic synapses."""
        import nest

        delay = next(iter(target.delays_ms))
        sets = target.sources_of_neurons(size)
        target.neuron_sources = sets
        newest = len(target.inputs) - 1
        if len(set(sets)) == 1:
            for index, source in sets[0]:
                if index == newest:
                    self._connect_source(target, index, source, target.volume_transmitter,
                                         delay)
            return
        old = [target.volume_transmitter, *target.group_transmitters.values()]
        for vt in old:
            incoming = nest.GetConnections(target=vt)
            if len(incoming):
                nest.Disconnect(incoming)
        target.group_transmitters = {}
        for key in sorted(set(sets)):
            vt = target.group_transmitters[key] = nest.Create(SIGNED_VT)
            for index, source in key:
                self._connect_source(target, index, source, vt, delay)
        for model in list(target.models):
            self._split_by_dopamine(target, model)

    @staticmethod
    def _connect_source(target: ModulatedPopulation, index: int, source: int, vt: Any,
                        delay: float) -> None:
        import nest

        dopamine_input = target.inputs[index]
        nest.Connect(dopamine_input.pre.node_collection[[source]], vt,
                     syn_spec={"delay": delay, "weight": dopamine_input.amount})

    def _split_by_dopamine(self, target: ModulatedPopulation, model: str) -> None:
        """Rebuild ``model``'s connections with one synapse model (and volume transmitter)
        per set of dopamine sources: NEST gives a synapse model one volume transmitter."""
        import nest

        projection = target.projections.pop(model)
        connections = nest.GetConnections(synapse_model=model)
        rows = {k: np.atleast_1d(v) for k, v in connections.get(
            ["source", "target", "weight", "delay", "synapse_label"]).items()}
        nest.Disconnect(connections)
        target.models.remove(model)
        first = int(projection.post.node_collection[0].global_id)
        for group, (key, vt) in enumerate(target.group_transmitters.items()):
            posts = [j for j, s in enumerate(target.neuron_sources) if s == key]
            chosen = np.isin(rows["target"] - first, posts)
            if not chosen.any():
                continue
            name = f"{model}_{group + 1}"
            nest.CopyModel(model, name)
            _set_volume_transmitter(name, vt)
            for post_id in np.unique(rows["target"][chosen]):
                row = np.flatnonzero(chosen & (rows["target"] == post_id))
                row = row[np.argsort(rows["source"][row])]
                nest.Connect(nest.NodeCollection(rows["source"][row].tolist()),
                             nest.NodeCollection([int(post_id)]), "all_to_all",
                             syn_spec={"synapse_model": name,
                                       "weight": rows["weight"][row][None, :],
                                       "delay": rows["delay"][row][None, :],
                                       "synapse_label": int(rows["synapse_label"][row[0]])})
            target.models.append(name)
            target.projections[name] = projection
        # pyNN.nest finds the projection's connections by its label in every model
        projection.nest_synapse_model = None
        projection._connections = None
        projection._simulator.state.stale_connection_cache = True


def _set_volume_transmitter(model: str, volume_transmitter: Any) -> None:
    """``SetDefaults(model, {"volume_transmitter": vt})`` for a NESTML synapse.

    NESTML 9's synapses accept the volume transmitter but do not report it in their
    defaults, and ``nest.SetDefaults`` looks every key up in the defaults first.
    """
    from nest.lib.hl_api_models import nestkernel

    nestkernel.llapi_set_defaults(model, {"volume_transmitter": volume_transmitter})


def _nestml_synapse_class(backend: types.ModuleType, model: str) -> type:
    """pyNN.nest's StaticSynapse (weight in nA, delay) connecting with ``model``."""
    base = backend.StaticSynapse

    def _get_nest_synapse_model(self: Any) -> str:
        return model

    return type("NeuromodulatedSTDP", (base,), {
        "_get_nest_synapse_model": _get_nest_synapse_model, "__module__": __name__})
