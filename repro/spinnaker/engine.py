"""The time-step loop: SpiNNaker's tick order, event-driven delivery of spikes.

Inside tick t, for every neuron population (as ``c_main.c`` orders it): move ring-buffer
slot t into the synaptic state, record V and gsyn (values before the update), convert the
synaptic state to currents, update the membrane and test the threshold, decay the
synaptic state. Then the sources emit, and every spike sent in tick t (stamped t * dt) is
added to slot t + d of its targets' ring buffers. A neuron spike therefore reaches its
target one step earlier than in NEST, which stamps the same crossing t + dt.

For speed, all neurons share one ring buffer (a neuron's column is its number in the
network), a tick's synaptic events are expanded from per-sender rows of all projections
and summed at once (:mod:`.ringbuffer`), and the sources, which do not depend on the
network, generate their packets and events for a chunk of ticks ahead. Every result is
bit-identical to sending population by population and projection by projection.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from repro.spinnaker import fixedpoint as fp
from repro.spinnaker import kernels, shifts, synapses
from repro.spinnaker.netspec import (
    ArrayPopulation,
    Network,
    NeuronPopulation,
    PoissonPopulation,
    ProjectionSpec,
)
from repro.spinnaker.neuromodulation import (
    DopamineInput,
    NeuromodulatedSynapses,
    concentration_integers,
)
from repro.spinnaker.neurons import PER_CORE_RANDOM, NeuronGroup, receptors, weight_scale
from repro.spinnaker.poisson import (
    PoissonSources,
    effective_rate,
    poisson_constants,
    rate_notes,
)
from repro.spinnaker.ringbuffer import Events, Fanout, Packets, RingBuffer, RouteSynapses
from repro.spinnaker.shaping import ExponentialShaping
from repro.spinnaker.sources import ArraySources
from repro.spinnaker.stdp import PlasticSynapses
from repro.spinnaker.stdp_recurrent import RecurrentSynapses, new_core_rngs
from repro.spinnaker.timing import Timing

#: Ticks whose source packets and events are generated at once (bounds their memory).
SOURCE_CHUNK_TICKS = 100


def _encode_connection_values(values: np.ndarray) -> np.ndarray:
    """S16.15 codes of per-connection values: the host's scalar rule for a constant,
    ``numpy.round`` for drawn values (the chip draws them in S16.15 directly)."""
    values = np.asarray(values, dtype=float)
    if values.size and np.all(values == values.flat[0]):
        return np.full(values.shape, fp.s1615(float(values.flat[0])), dtype=np.int64)
    return np.round(values * fp.S1615_ONE).astype(np.int64)


@dataclass
class _Route:
    """One projection: its spec and what quantisation did to it."""

    spec: ProjectionSpec
    lost: int
    wrapped: int
    delay_steps: list[int]


@dataclass
class _SourceChunk:
    """What one source population sends in a chunk of ticks, with per-tick pointers:
    expanded events (numpy path) or the packets themselves (compiled kernels)."""

    sent: Events | tuple[Fanout, np.ndarray, np.ndarray]
    pointer: np.ndarray
    first_tick: int

    def at(self, tick: int) -> Events | Packets:
        i = tick - self.first_tick
        part = slice(int(self.pointer[i]), int(self.pointer[i + 1]))
        if isinstance(self.sent, Events):
            return self.sent.take(part)
        fanout, senders, counts = self.sent
        return Packets(fanout, senders[part], counts[part],
                       np.arange(part.start, part.stop))


@dataclass
class _PlasticRoute:
    """A plastic projection: its synapses with STDP state and a fan-out of its own."""

    spec: ProjectionSpec
    synapses: PlasticSynapses | RecurrentSynapses
    fanout: Fanout
    events: int = 0

    def send(self, tick: int, senders: np.ndarray, counts: np.ndarray | None
             ) -> list[Events]:
        """Process the packets (a packet of k spikes is k row passes) and fan them out."""
        out = []
        repeats = 1 if counts is None else int(counts.max())
        for k in range(repeats):
            batch = senders if counts is None else senders[counts > k]
            positions = self.synapses.pre_spikes(tick, batch)
            self.fanout.weight[positions] = self.synapses.weight[
                self.synapses.row_order[positions]]
            self.events += int(positions.size)
            out.append(self.fanout.events(batch, None))
        return out


@dataclass
class _DopamineRoute:
    """A reward or punishment projection: its rows step the dopamine trace of the post
    histories of every neuromodulated projection into its post population."""

    spec: ProjectionSpec
    concentration: np.ndarray
    order: np.ndarray
    indptr: np.ndarray
    targets: list[NeuromodulatedSynapses]
    events: int = 0

    def send(self, tick: int, senders: np.ndarray, counts: np.ndarray | None) -> list[Events]:
        """Process the rows (a packet of k spikes is k row passes) one after another."""
        repeats = 1 if counts is None else int(counts.max())
        for k in range(repeats):
            for sender in (senders if counts is None else senders[counts > k]):
                row = self.order[self.indptr[sender]:self.indptr[sender + 1]]
                self.events += int(row.size)
                neurons = np.asarray(self.spec.post_index, np.int64)[row]
                passes = ([row] if np.unique(neurons).size == neurons.size
                          else [row[i:i + 1] for i in range(row.size)])
                for part in passes:
                    for target in self.targets:
                        target.dopamine(tick, np.asarray(self.spec.post_index,
                                                         np.int64)[part],
                                        self.concentration[part])
        return []


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
        self.groups: dict[int, NeuronGroup] = {}
        self.sources: dict[int, PoissonSources | ArraySources] = {}
        #: Per population: (tick or ticks, neuron indices, spike counts or None) chunks.
        self.spikes: dict[int, list[tuple]] = {}
        seeds = np.random.SeedSequence(seed).spawn(len(network.populations))
        #: Number of every neuron population's first neuron in the network's numbering.
        self.first: dict[int, int] = {}
        n_cells = 0
        for index, pop in enumerate(network.populations):
            self.spikes[index] = []
            if isinstance(pop, NeuronPopulation):
                self.groups[index] = self._build_group(index, pop, seeds[index])
                self.first[index] = n_cells
                n_cells += pop.size
            elif isinstance(pop, PoissonPopulation):
                constants = poisson_constants(pop.rate, pop.start, pop.duration, timing)
                self.sources[index] = PoissonSources(constants,
                                                     np.random.default_rng(seeds[index]))
                network.notes.extend(f"{pop.label}: {note}"
                                     for note in rate_notes(pop.rate, timing))
            elif isinstance(pop, ArrayPopulation):
                self.sources[index] = ArraySources(pop.spike_times, timing)
        self.n_cells = n_cells
        #: Ring-buffer rows: 2 (excitatory, inhibitory), 3 with a dual-excitatory cell type.
        self.n_types = max([g.n_types for g in self.groups.values()] + [2])
        #: Groups the loop advances: a population's own, or one fused over neighbours.
        self.runners: list[tuple[NeuronGroup, list[int]]] = self._fuse(seeds)
        self.routes: list[_Route] = []
        synapses_from: dict[int, list[RouteSynapses]] = {}
        stride = self.n_types * n_cells
        #: Plastic projections by route number (weights change at every pre spike).
        self.plastic: dict[int, _PlasticRoute] = {}
        #: RecurrentRule generators of each post population's cores (one per binary).
        self.core_rngs: dict[int, list] = {}
        #: Reward and punishment projections by route number.
        self.dopamine: dict[int, _DopamineRoute] = {}
        for number, spec in enumerate(network.projections):
            if isinstance(spec.plasticity, DopamineInput):
                self.routes.append(_Route(spec=spec, lost=0, wrapped=0, delay_steps=[1]))
                continue
            route, synapses_ = self._build_route(number, spec)
            self.routes.append(route)
            if spec.plasticity is None:
                synapses_from.setdefault(spec.pre, []).append(synapses_)
            else:
                self.plastic[number] = self._build_plastic(spec, synapses_, stride)
        for number, spec in enumerate(network.projections):
            if isinstance(spec.plasticity, DopamineInput):
                self.dopamine[number] = self._build_dopamine(spec)
        #: Routes that process rows at every pre spike, in projection order.
        self.pre_routes: dict[int, _PlasticRoute | _DopamineRoute] = dict(
            sorted({**self.plastic, **self.dopamine}.items()))
        neuron_routes = [r for pre in self.groups for r in synapses_from.get(pre, [])]
        self.neuron_fanout = Fanout(n_cells, neuron_routes, stride) if neuron_routes else None
        self.source_fanouts = {index: Fanout(network.populations[index].size,
                                             synapses_from[index], stride)
                               for index in self.sources if index in synapses_from}
        longest = max([f.max_delay for f in self.source_fanouts.values()]
                      + [self.neuron_fanout.max_delay if self.neuron_fanout else 0]
                      + [p.fanout.max_delay for p in self.plastic.values()])
        self.ring = RingBuffer(n_cells, longest + 1, len(self.routes), self.n_types)
        #: Packets sent so far by every neuron (synaptic-event counters).
        self.neuron_packets = np.zeros(n_cells, dtype=np.int64)
        self.source_packets = {index: np.zeros(network.populations[index].size, np.int64)
                               for index in self.source_fanouts}
        kernels.warm_up()
        self._chunks: dict[int, _SourceChunk] = {}
        #: Raw (ticks, senders, counts) of the current chunk of sources with plastic routes.
        self._source_spikes: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._chunk_end = 0

    # --- building ---------------------------------------------------------------------

    def _fuse(self, seeds: list) -> list[tuple[NeuronGroup, list[int]]]:
        """Neighbouring populations that differ only in per-neuron values, advanced as one.

        Every operation of a tick is elementwise over neurons for the exponential synapse
        shaping without current sources, so one concatenated group gives the same bits as
        the populations one by one, with each numpy operation run once instead of per
        population.
        """
        runs: list[list[int]] = []
        for index, group in self.groups.items():
            if runs and self._fusable(self.groups[runs[-1][-1]], group):
                runs[-1].append(index)
            else:
                runs.append([index])
        runners = []
        for members in runs:
            if len(members) == 1:
                runners.append((self.groups[members[0]], members))
                continue
            specs = [self.groups[i].spec for i in members]
            merged = replace(
                specs[0], label="+".join(s.label for s in specs),
                size=sum(s.size for s in specs),
                params={k: np.concatenate([np.broadcast_to(s.params[k], (s.size,))
                                           for s in specs]) for k in specs[0].params},
                v_init=np.concatenate([np.broadcast_to(s.v_init, (s.size,)) for s in specs]),
                initial={k: np.concatenate([np.broadcast_to(s.initial[k], (s.size,))
                                            for s in specs]) for k in specs[0].initial})
            runners.append((NeuronGroup(merged, self.timing, self.groups[members[0]].shifts,
                                        np.random.default_rng(seeds[members[0]])), members))
        return runners

    @staticmethod
    def _fusable(a: NeuronGroup, b: NeuronGroup) -> bool:
        return (a.spec.model == b.spec.model and a.spec.model not in PER_CORE_RANDOM
                and not a.spec.current_sources
                and not b.spec.current_sources and np.array_equal(a.shifts, b.shifts)
                and isinstance(a.synapses, ExponentialShaping)
                and isinstance(b.synapses, ExponentialShaping)
                and a.spec.params.keys() == b.spec.params.keys()
                and a.spec.initial.keys() == b.spec.initial.keys())

    def _incoming(self, index: int) -> list[ProjectionSpec]:
        """Projections into a population that sPyNNaker plans its ring buffer with
        (neuromodulation targets are not ring-buffer rows)."""
        return [p for p in self.network.projections
                if p.post == index and not isinstance(p.plasticity, DopamineInput)]

    def _rank(self, spec: ProjectionSpec, number: int) -> int:
        """Delivery rank: neuron populations send before sources, in population order, and
        each population's projections in the order they were made."""
        is_source = spec.pre not in self.groups
        return (int(is_source) * len(self.network.populations) + spec.pre) \
            * (len(self.network.projections) + 1) + number

    def _build_group(self, index: int, pop: NeuronPopulation,
                     seed: np.random.SeedSequence) -> NeuronGroup:
        scale = weight_scale(pop.model)
        if pop.max_expected_summed_weight is not None:
            summed = [w * scale for w in pop.max_expected_summed_weight]
        else:
            summed = shifts.max_summed_weights(
                [p.estimate for p in self._incoming(index)], scale, self.timing.ms,
                n_synapse_types=len(receptors(pop.model)),
                spikes_per_second=pop.spikes_per_second,
                ring_buffer_sigma=pop.ring_buffer_sigma)
        group = NeuronGroup(pop, self.timing,
                            np.array([shifts.left_shift(m) for m in summed], dtype=np.int64),
                            np.random.default_rng(seed))
        self.network.notes.extend(group.notes)
        return group

    def _build_route(self, number: int, spec: ProjectionSpec
                     ) -> tuple[_Route, RouteSynapses]:
        post = self.groups.get(spec.post)
        if post is None:
            raise ValueError(f"projection {spec.label!r} targets a spike source; only "
                             "neuron populations receive synapses")
        shift = int(post.shifts[spec.synapse_type])
        scale = weight_scale(post.spec.model)
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
        pre = np.asarray(spec.pre_index, np.int64) + self.first.get(spec.pre, 0)
        column = (spec.synapse_type * self.n_cells + self.first[spec.post]
                  + np.asarray(spec.post_index, np.int64))
        route = _Route(spec=spec, lost=lost, wrapped=wrapped,
                       delay_steps=sorted({int(d) for d in np.unique(delay)})[:50])
        return route, RouteSynapses(route=number, rank=self._rank(spec, number), pre=pre,
                                    column=column, delay_steps=delay, weight=weight)

    def _build_plastic(self, spec: ProjectionSpec, synapses_: RouteSynapses,
                       stride: int) -> _PlasticRoute:
        local = RouteSynapses(route=synapses_.route, rank=synapses_.rank,
                              pre=np.asarray(spec.pre_index, np.int64),
                              column=synapses_.column, delay_steps=synapses_.delay_steps,
                              weight=synapses_.weight)
        post = self.groups[spec.post]
        n_pre = self.network.populations[spec.pre].size
        if spec.plasticity.timing.startswith("recurrent"):
            per_core = post.spec.neurons_per_core
            rngs = self.core_rngs.setdefault(spec.post, new_core_rngs(post.size, per_core))
            synapses = RecurrentSynapses(
                spec.plasticity, spec.pre_index, spec.post_index, synapses_.delay_steps,
                synapses_.weight, n_pre, post.size, int(post.shifts[spec.synapse_type]),
                weight_scale(post.spec.model), self.timing.timestep_us, rngs, per_core)
            return _PlasticRoute(spec, synapses, Fanout(n_pre, [local], stride))
        kind = NeuromodulatedSynapses if spec.plasticity.neuromodulation else PlasticSynapses
        synapses = kind(
            spec.plasticity, spec.pre_index, spec.post_index, synapses_.delay_steps,
            synapses_.weight, n_pre, post.size, int(post.shifts[spec.synapse_type]),
            weight_scale(post.spec.model), self.timing.ms)
        return _PlasticRoute(spec, synapses, Fanout(n_pre, [local], stride))

    def _build_dopamine(self, spec: ProjectionSpec) -> _DopamineRoute:
        if spec.post not in self.groups:
            raise ValueError(f"projection {spec.label!r} targets a spike source; only "
                             "neuron populations receive neuromodulation")
        targets = [p.synapses for p in self.plastic.values() if p.spec.post == spec.post
                   and isinstance(p.synapses, NeuromodulatedSynapses)]
        if not targets:
            raise ValueError(f"neuromodulation projection {spec.label!r}: its post population "
                             "has no neuromodulated STDP projection")
        steps = concentration_integers(spec.weight, spec.on_machine)
        n_pre = self.network.populations[spec.pre].size
        pre = np.asarray(spec.pre_index, np.int64)
        indptr = np.zeros(n_pre + 1, dtype=np.int64)
        np.cumsum(np.bincount(pre, minlength=n_pre), out=indptr[1:])
        return _DopamineRoute(spec, steps if spec.plasticity.reward else -steps,
                              np.argsort(pre, kind="stable"), indptr, targets)

    def learned_weights(self, route: int) -> np.ndarray:
        """Current weight integers W of a plastic route (in the spec's connection order)."""
        return self.plastic[route].synapses.weight.copy()

    def _plastic_events(self, tick: int, pre: int, senders: np.ndarray,
                        counts: np.ndarray | None) -> list[Events]:
        """Update the plastic routes leaving ``pre`` for these packets; their events."""
        events = []
        for route in self.pre_routes.values():
            if route.spec.pre == pre:
                events.extend(route.send(tick, senders, counts))
        return events

    def _plastic_posts(self, tick: int, post: int, fired: np.ndarray) -> None:
        for plastic in self.plastic.values():
            if plastic.spec.post == post:
                plastic.synapses.post_spikes(tick, fired)

    # --- recording ----------------------------------------------------------------------

    def record_signals(self, population: int, variables: set[str]) -> None:
        """Start sampling ``variables`` (v, gsyn_exc, gsyn_inh) of a neuron population."""
        self.groups[population].record(variables)
        for runner, members in self.runners:
            if population in members and len(members) > 1:
                runner.record(variables)

    def spike_data(self, population: int, clear: bool = False
                   ) -> tuple[np.ndarray, np.ndarray]:
        """All spikes recorded so far: ``(neuron indices, times in ms)``, one entry per spike."""
        ticks, index = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
        for tick, neurons, counts in self.spikes[population]:
            tick = np.broadcast_to(tick, neurons.shape)
            if counts is not None:
                tick, neurons = np.repeat(tick, counts), np.repeat(neurons, counts)
            ticks.append(tick)
            index.append(neurons)
        if clear:
            self.spikes[population] = []
        return np.concatenate(index).astype(np.int64), np.concatenate(ticks) * self.timing.ms

    def signal_data(self, population: int, variable: str, clear: bool = False) -> np.ndarray:
        """Samples (ticks x neurons, in mV / nA / uS) of a recorded variable."""
        group = self.groups[population]
        samples = group.samples.get(variable, [])
        data = (np.stack(samples) / float(fp.S1615_ONE) if samples
                else np.zeros((0, group.spec.size)))
        if clear:
            group.samples[variable] = []
        return data

    def set_poisson_parameters(self, population: int, rate: np.ndarray, start: np.ndarray,
                               duration: np.ndarray) -> None:
        """New rates (and start/duration, ms from t = 0) of a Poisson population between runs.

        As sPyNNaker reloads changed rates: every source is set up again from the current
        tick (slow sources draw a fresh first interval) with its own new stream.
        """
        pop = self.network.populations[population]
        pop.rate, pop.start, pop.duration = rate, start, duration
        constants = poisson_constants(rate, start, duration, self.timing)
        entropy = self.seed if isinstance(self.seed, int) else list(self.seed)
        stream = np.random.SeedSequence(entropy, spawn_key=(population, self.tick))
        self.sources[population] = PoissonSources(constants, np.random.default_rng(stream))
        self.network.notes.extend(f"{pop.label} (from t = {self.tick * self.timing.ms:g} ms): "
                                  f"{note}" for note in rate_notes(rate, self.timing))

    def set_array_spike_times(self, population: int, spike_times: list[np.ndarray]) -> None:
        """New spike times (ms from t = 0) of a SpikeSourceArray population between runs.

        As sPyNNaker 7.4.1 reloads them (``SpikeSourceArrayVertex.set_parameter_values``):
        the next run sends the new times from the current tick on; earlier ones are never
        sent (sPyNNaker warns that it ignores them).
        """
        pop = self.network.populations[population]
        pop.spike_times = list(spike_times)
        self.sources[population] = ArraySources(pop.spike_times, self.timing)

    # --- the loop -------------------------------------------------------------------------

    def _generate_sources(self, tick: int, n_ticks: int) -> None:
        """Packets and synaptic events of every source for ``n_ticks`` ticks from ``tick``."""
        self._chunks = {}
        for index, source in self.sources.items():
            ticks, senders, counts = source.steps(tick, n_ticks)
            if ticks.size:
                self.spikes[index].append((ticks, senders, counts))
            if any(p.spec.pre == index for p in self.pre_routes.values()):
                self._source_spikes[index] = (ticks, senders, counts)
            fanout = self.source_fanouts.get(index)
            if fanout is None:
                continue
            self.source_packets[index] += np.bincount(senders, minlength=fanout.indptr.size - 1)
            bounds = np.arange(tick, tick + n_ticks + 1)
            if kernels.compiled() is not None:  # the kernel expands packets as it adds
                self._chunks[index] = _SourceChunk((fanout, senders, counts),
                                                   np.searchsorted(ticks, bounds), tick)
                continue
            lengths = fanout.indptr[senders + 1] - fanout.indptr[senders]
            self._chunks[index] = _SourceChunk(
                fanout.events(senders, counts),
                np.searchsorted(np.repeat(ticks, lengths), bounds), tick)
        self._chunk_end = tick + n_ticks

    def run(self, n_ticks: int) -> None:
        """Advance the network by ``n_ticks`` time steps."""
        end = self.tick + n_ticks
        for tick in range(self.tick, end):
            if tick >= self._chunk_end:
                self._generate_sources(tick, min(SOURCE_CHUNK_TICKS, end - tick))
            cells = self.ring.take(tick)
            spiked = []
            fired_by: dict[int, np.ndarray] = {}
            for runner, members in self.runners:
                first = self.first[members[0]]
                runner.receive(cells[:runner.n_types, first:first + runner.size])
                fired_all = runner.step(tick)
                if len(members) > 1 and runner.recorded:
                    self._distribute_samples(runner, members)
                if fired_all.size:
                    spiked.append(fired_all + first)
                for index in members:
                    lo = self.first[index] - first
                    fired = fired_all
                    if len(members) > 1:
                        fired = fired_all[(fired_all >= lo)
                                          & (fired_all < lo + self.groups[index].size)] - lo
                    if fired.size:
                        self.spikes[index].append((tick, fired, None))
                        fired_by[index] = fired
                        if self.plastic:
                            self._plastic_posts(tick, index, fired)
            events = []
            if spiked and self.neuron_fanout is not None:
                senders = np.concatenate(spiked) if len(spiked) > 1 else spiked[0]
                self.neuron_packets[senders] += 1
                events.append(Packets(self.neuron_fanout, senders))
            events.extend(chunk.at(tick) for chunk in self._chunks.values())
            if self.pre_routes:
                events.extend(self._plastic_tick(tick, fired_by))
            self.ring.add(tick, events)
        self.tick = end

    def _distribute_samples(self, runner: NeuronGroup, members: list[int]) -> None:
        """Hand the fused group's samples of this tick to its populations' recordings."""
        first = self.first[members[0]]
        for name, samples in runner.samples.items():
            for index in members:
                group = self.groups[index]
                if name in group.recorded:
                    lo = self.first[index] - first
                    group.samples[name].extend(s[..., lo:lo + group.size] for s in samples)
            samples.clear()

    def _plastic_tick(self, tick: int, fired_by: dict[int, np.ndarray]) -> list[Events]:
        """Pre spikes of this tick through the plastic routes (neurons, then sources)."""
        events = []
        for index, fired in fired_by.items():
            events.extend(self._plastic_events(tick, index, fired, None))
        for index, (ticks, senders, counts) in self._source_spikes.items():
            lo, hi = np.searchsorted(ticks, [tick, tick + 1])
            if hi > lo:
                events.extend(self._plastic_events(tick, index, senders[lo:hi], counts[lo:hi]))
        return events

    # --- provenance -------------------------------------------------------------------------

    def _synaptic_events(self) -> list[int]:
        """Synaptic events per route: packets of each pre-neuron times its row length."""
        events = [0] * len(self.routes)
        fanouts = [(self.neuron_fanout, self.neuron_packets)] + [
            (f, self.source_packets[i]) for i, f in self.source_fanouts.items()]
        for fanout, packets in fanouts:
            if fanout is None:
                continue
            for route, lengths in zip(fanout.routes, fanout.row_lengths, strict=True):
                events[route] = int(lengths @ packets)
        for route, plastic in self.pre_routes.items():
            events[route] = plastic.events
        return events

    def provenance(self) -> dict:
        """Counters and quantisation facts per population and projection (JSON-ready)."""
        populations = []
        for index, pop in enumerate(self.network.populations):
            entry: dict = {"label": pop.label, "model": pop.model, "size": pop.size,
                           "spikes": int(sum(int(n.size if c is None else c.sum())
                                             for _, n, c in self.spikes[index]))}
            group = self.groups.get(index)
            if group is not None:
                scale = weight_scale(pop.model)
                names = receptors(pop.model)
                entry.update(
                    ring_buffer_left_shift={name: int(group.shifts[r])
                                            for r, name in enumerate(names)},
                    weight_resolution={
                        name: 2.0 ** (int(group.shifts[r]) - 15) / scale
                        for r, name in enumerate(names)},
                    ring_buffer_saturations=sum(
                        int(self.ring.saturations[number])
                        for number, r in enumerate(self.routes) if r.spec.post == index),
                    **group.provenance())
            if isinstance(pop, PoissonPopulation):
                entry["effective_rates_hz"] = {
                    repr(float(r)): effective_rate(float(r), self.timing)
                    for r in np.unique(pop.rate)[:20]}
            populations.append(entry)
        projections = []
        events = self._synaptic_events()
        for number, route in enumerate(self.routes):
            spec = route.spec
            pre = self.network.populations[spec.pre]
            post = self.network.populations[spec.post]
            projections.append({
                "label": spec.label, "pre": pre.label, "post": post.label,
                "connector": spec.connector,
                "receptor_type": (("reward" if spec.plasticity.reward else "punishment")
                                  if isinstance(spec.plasticity, DopamineInput)
                                  else receptors(post.model)[spec.synapse_type]),
                "generated": "on machine" if spec.on_machine else "on host",
                "connections": int(spec.weight.size),
                "weights_rounded_to_zero": route.lost,
                "weights_wrapped": route.wrapped,
                "delay_steps": route.delay_steps,
                "synaptic_events": events[number],
                "ring_buffer_saturations": int(self.ring.saturations[number]),
            })
        return {"populations": populations, "projections": projections}
