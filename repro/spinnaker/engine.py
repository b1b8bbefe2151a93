"""The time-step loop: SpiNNaker's tick order, vectorised over neurons with numpy.

Inside tick t, for every neuron population (as ``c_main.c`` orders it): move ring-buffer
slot t into the synaptic state, record V and gsyn (values before the update), convert the
synaptic state to currents, update the membrane and test the threshold, decay the
synaptic state. Then the sources emit, and every spike sent in tick t (stamped t * dt) is
added to slot t + d of its targets' ring buffers. A neuron spike therefore reaches its
target one step earlier than in NEST, which stamps the same crossing t + dt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from repro.spinnaker import fixedpoint as fp
from repro.spinnaker import lif, shifts, synapses
from repro.spinnaker.netspec import (
    ArrayPopulation,
    Network,
    NeuronPopulation,
    PoissonPopulation,
    ProjectionSpec,
)
from repro.spinnaker.poisson import PoissonSources, effective_rate, poisson_constants
from repro.spinnaker.ringbuffer import RingBuffer, SynapticRows
from repro.spinnaker.sources import ArraySources
from repro.spinnaker.timing import Timing

_GLOBAL_WEIGHT_SCALE = {False: 1, True: 1024}


def _encode_connection_values(values: np.ndarray) -> np.ndarray:
    """S16.15 codes of per-connection values: the host's scalar rule for a constant,
    ``numpy.round`` for drawn values (the chip draws them in S16.15 directly)."""
    values = np.asarray(values, dtype=float)
    if values.size and np.all(values == values.flat[0]):
        return np.full(values.shape, fp.s1615(float(values.flat[0])), dtype=np.int64)
    return np.round(values * fp.S1615_ONE).astype(np.int64)


@dataclass
class _NeuronGroup:
    spec: NeuronPopulation
    constants: lif.LifConstants
    syn: list[synapses.SynapseConstants]
    shifts: np.ndarray
    v: np.ndarray
    refract: np.ndarray
    value: np.ndarray
    ring: RingBuffer | None = None
    recorded: set[str] = field(default_factory=set)
    samples: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.decay = np.stack([s.decay for s in self.syn])
        self.init = np.stack([s.init for s in self.syn])
        self.column_shifts = self.shifts[:, None]


@dataclass
class _Route:
    spec: ProjectionSpec
    rows: SynapticRows
    lost: int = 0
    wrapped: int = 0
    saturations: int = 0
    events: int = 0


class Engine:
    """A built network, ready to be advanced tick by tick.

    Parameters
    ----------
    network : Network
        Populations and projections with their actual connections.
    timing : Timing
        The simulation time step.
    seed : int or sequence of int
        Entropy for the Poisson sources (one stream is spawned per population).

    Raises
    ------
    ValueError
        On parameters SpiNNaker cannot represent (non-positive time constants and the like).
    """

    def __init__(self, network: Network, timing: Timing, seed: int | list[int]) -> None:
        self.network = network
        self.timing = timing
        self.seed = seed
        self.tick = 0
        self.groups: dict[int, _NeuronGroup] = {}
        self.sources: dict[int, PoissonSources | ArraySources] = {}
        self.spikes: dict[int, list[tuple[int, np.ndarray, np.ndarray]]] = {}
        seeds = np.random.SeedSequence(seed).spawn(len(network.populations))
        for index, pop in enumerate(network.populations):
            self.spikes[index] = []
            if isinstance(pop, NeuronPopulation):
                self.groups[index] = self._build_group(index, pop)
            elif isinstance(pop, PoissonPopulation):
                constants = poisson_constants(pop.rate, pop.start, pop.duration, timing)
                self.sources[index] = PoissonSources(constants,
                                                     np.random.default_rng(seeds[index]))
            elif isinstance(pop, ArrayPopulation):
                self.sources[index] = ArraySources(pop.spike_times, timing)
        self.routes = [self._build_route(p) for p in network.projections]
        self.routes_from: dict[int, list[_Route]] = {}
        for route in self.routes:
            self.routes_from.setdefault(route.spec.pre, []).append(route)
        for index, group in self.groups.items():
            longest = max((r.rows.max_delay for r in self.routes if r.spec.post == index),
                          default=0)
            group.ring = RingBuffer(group.spec.size, longest + 1)

    # --- building ---------------------------------------------------------------------

    def _incoming(self, index: int) -> list[ProjectionSpec]:
        return [p for p in self.network.projections if p.post == index]

    def _build_group(self, index: int, pop: NeuronPopulation) -> _NeuronGroup:
        cond = pop.conductance_based
        constants = lif.lif_constants(pop.params, self.timing.ms, cond)
        syn = [synapses.synapse_constants(pop.params[name], self.timing.ms)
               for name in ("tau_syn_E", "tau_syn_I")]
        scale = _GLOBAL_WEIGHT_SCALE[cond]
        if pop.max_expected_summed_weight is not None:
            summed = [w * scale for w in pop.max_expected_summed_weight]
        else:
            summed = shifts.max_summed_weights(
                [p.estimate for p in self._incoming(index)], scale, self.timing.ms,
                spikes_per_second=pop.spikes_per_second,
                ring_buffer_sigma=pop.ring_buffer_sigma)
        return _NeuronGroup(
            spec=pop, constants=constants, syn=syn,
            shifts=np.array([shifts.left_shift(m) for m in summed], dtype=np.int64),
            v=fp.encode_values(pop.v_init, fp.S1615_SHIFT),
            refract=np.zeros(pop.size, dtype=np.int64),
            value=np.zeros((2, pop.size), dtype=np.int64))

    def _build_route(self, spec: ProjectionSpec) -> _Route:
        post = self.groups.get(spec.post)
        if post is None:
            raise ValueError(f"projection {spec.label!r} targets a spike source; only "
                             "IF_curr_exp and IF_cond_exp populations receive synapses")
        shift = int(post.shifts[spec.synapse_type])
        scale = _GLOBAL_WEIGHT_SCALE[post.spec.conductance_based]
        if spec.on_machine:
            weight = synapses.machine_weight_integers(
                _encode_connection_values(spec.weight), shift, scale)
            delay = synapses.machine_delay_steps(
                _encode_connection_values(spec.delay), self.timing.steps_per_ms)
        else:
            weight = synapses.host_weight_integers(
                spec.weight, shifts.weight_scale(shift, scale))
            delay = synapses.host_delay_steps(spec.delay, self.timing.steps_per_ms)
        lost = int(np.count_nonzero((weight == 0) & (np.asarray(spec.weight) != 0)))
        wrapped = int(np.count_nonzero(weight > synapses.WEIGHT_MAX))
        weight = synapses.weight_field(weight)
        if delay.size and delay.min() < 1:
            raise ValueError(f"projection {spec.label!r} has delays below one time step "
                             f"({self.timing.ms} ms)")
        target = spec.synapse_type * post.spec.size + np.asarray(spec.post_index, np.int64)
        n_pre = self.network.populations[spec.pre].size
        rows = SynapticRows(n_pre, np.asarray(spec.pre_index, np.int64), target, delay, weight,
                            stride=2 * post.spec.size)
        return _Route(spec=spec, rows=rows, lost=lost, wrapped=wrapped)

    # --- recording ----------------------------------------------------------------------

    def record_signals(self, population: int, variables: set[str]) -> None:
        """Start sampling ``variables`` (v, gsyn_exc, gsyn_inh) of a neuron population."""
        group = self.groups[population]
        for name in variables:
            group.recorded.add(name)
            group.samples.setdefault(name, [])

    def spike_data(self, population: int, clear: bool = False
                   ) -> tuple[np.ndarray, np.ndarray]:
        """All spikes recorded so far: ``(neuron indices, times in ms)``, one entry per spike."""
        chunks = self.spikes[population]
        if chunks:
            ticks = np.concatenate([np.repeat(t, counts.sum()) for t, _, counts in chunks])
            index = np.concatenate([np.repeat(i, counts) for _, i, counts in chunks])
        else:
            ticks = np.zeros(0, dtype=np.int64)
            index = np.zeros(0, dtype=np.int64)
        if clear:
            self.spikes[population] = []
        return index, ticks * self.timing.ms

    def signal_data(self, population: int, variable: str, clear: bool = False) -> np.ndarray:
        """Samples (ticks x neurons, in mV / nA / uS) of a recorded variable."""
        group = self.groups[population]
        samples = group.samples.get(variable, [])
        data = (np.stack(samples) / float(fp.S1615_ONE) if samples
                else np.zeros((0, group.spec.size)))
        if clear:
            group.samples[variable] = []
        return data

    def _sample(self, group: _NeuronGroup) -> None:
        if "v" in group.recorded:
            group.samples["v"].append(group.v.copy())
        if not (group.recorded & {"gsyn_exc", "gsyn_inh"}):
            return
        shift = lif.CONDUCTANCE_SHIFT if group.spec.conductance_based else 0
        for receptor, name in enumerate(("gsyn_exc", "gsyn_inh")):
            if name in group.recorded:
                group.samples[name].append(group.value[receptor] >> shift)

    # --- the loop -------------------------------------------------------------------------

    def _update_neurons(self, tick: int) -> None:
        for index, group in self.groups.items():
            cells = group.ring.take(tick)
            group.value = fp.wrap32(group.value + synapses.transfer(
                cells, group.column_shifts, group.init))
            self._sample(group)
            if group.spec.conductance_based:
                exc, inh = lif.conductance_input(group.constants, group.v, group.value[0],
                                                 group.value[1])
            else:
                exc, inh = group.value[0], group.value[1]
            spiked = np.flatnonzero(lif.membrane_step(group.constants, group.v,
                                                      group.refract, exc, inh))
            group.value = fp.decay_s1615(group.value, group.decay)
            if spiked.size:
                self._send(index, tick, spiked, None)

    def _send(self, population: int, tick: int, indices: np.ndarray,
              counts: np.ndarray | None) -> None:
        counts_or_ones = counts if counts is not None else np.ones(indices.size, np.int64)
        self.spikes[population].append((tick, indices, counts_or_ones))
        for route in self.routes_from.get(population, ()):
            offset, amount = route.rows.events(indices, counts)
            route.events += int(amount.size)
            route.saturations += self.groups[route.spec.post].ring.add(tick, offset, amount)

    def run(self, n_ticks: int) -> None:
        """Advance the network by ``n_ticks`` time steps."""
        for tick in range(self.tick, self.tick + n_ticks):
            self._update_neurons(tick)
            for index, source in self.sources.items():
                fired, counts = source.step(tick)
                if fired.size:
                    self._send(index, tick, fired, counts)
        self.tick += n_ticks

    # --- provenance -------------------------------------------------------------------------

    def provenance(self) -> dict:
        """Counters and quantisation facts per population and projection (JSON-ready)."""
        populations = []
        for index, pop in enumerate(self.network.populations):
            entry: dict = {"label": pop.label, "model": pop.model, "size": pop.size,
                           "spikes": int(sum(int(c.sum()) for _, _, c in self.spikes[index]))}
            group = self.groups.get(index)
            if group is not None:
                scale = _GLOBAL_WEIGHT_SCALE[pop.conductance_based]
                entry.update(
                    ring_buffer_left_shift={"excitatory": int(group.shifts[0]),
                                            "inhibitory": int(group.shifts[1])},
                    weight_resolution={
                        name: 2.0 ** (int(group.shifts[r]) - 15) / scale
                        for r, name in enumerate(("excitatory", "inhibitory"))},
                    ring_buffer_saturations=sum(r.saturations for r in self.routes
                                                if r.spec.post == index),
                    refractory_steps=sorted({int(s) for s in group.constants.refract_steps}))
            if isinstance(pop, PoissonPopulation):
                entry["effective_rates_hz"] = {
                    repr(float(r)): effective_rate(float(r), self.timing)
                    for r in np.unique(pop.rate)[:20]}
            populations.append(entry)
        projections = []
        for route in self.routes:
            spec = route.spec
            pre = self.network.populations[spec.pre]
            post = self.network.populations[spec.post]
            projections.append({
                "label": spec.label, "pre": pre.label, "post": post.label,
                "connector": spec.connector,
                "receptor_type": ("excitatory", "inhibitory")[spec.synapse_type],
                "generated": "on machine" if spec.on_machine else "on host",
                "connections": int(spec.weight.size),
                "weights_rounded_to_zero": route.lost,
                "weights_wrapped": route.wrapped,
                "delay_steps": sorted({int(d) for d in np.unique(route.rows.delay)})[:50],
                "synaptic_events": route.events,
                "ring_buffer_saturations": route.saturations,
            })
        return {"populations": populations, "projections": projections}
