"""Synaptic rows by sending neuron, and the uint16 input ring buffer of all neurons.

A spike sent in tick t through a synapse with delay d adds the synapse's weight integer W
to cell (slot (t + d) mod S, synapse type, target neuron). A cell saturates at 0xFFFF;
``synapses.c`` counts every addition that reaches 0x10000. Since every W is non-negative,
clamping the summed input of a tick equals saturating each addition in turn, so the
buffer adds a whole tick's events at once (``numpy.bincount``) and only replays the
additions in delivery order, with cumulative sums, for the few cells that saturate. The
neuron update of tick t reads and clears slot t mod S first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from repro.spinnaker.kernels import compiled
from repro.spinnaker.synapses import WEIGHT_MAX


@dataclass(frozen=True)
class RouteSynapses:
    """The synapses of one projection, as the fan-out of its sending population sees them.

    Attributes
    ----------
    route : int
        Index of the projection in the engine's route list (counters are kept per route).
    rank : int
        Delivery rank: routes of lower rank deliver first within a tick.
    pre : numpy.ndarray
        Pre-synaptic neuron of every synapse.
    column : numpy.ndarray
        Ring-buffer column of every synapse: ``synapse_type * n_cells + target cell``.
    delay_steps : numpy.ndarray
        Delay of every synapse in whole time steps (>= 1).
    weight : numpy.ndarray
        Weight integer W of every synapse (0..65535).
    """

    route: int
    rank: int
    pre: np.ndarray
    column: np.ndarray
    delay_steps: np.ndarray
    weight: np.ndarray


@dataclass
class Events:
    """Synaptic events of one tick (or of several ticks, ordered by tick).

    ``offset`` is the event's cell relative to the start of slot t + 1 of the sending tick
    t: ``(delay - 1) * stride + column``; ``amount`` is W times the spikes in the packet.
    ``synapse`` (index into the fan-out's arrays) and ``packet`` (delivery order of the
    packet within its population) are kept to replay saturating additions in order.
    """

    offset: np.ndarray
    amount: np.ndarray
    synapse: np.ndarray
    packet: np.ndarray
    fanout: Fanout

    @property
    def size(self) -> int:
        """Number of events."""
        return int(self.offset.size)

    def take(self, selection: slice | np.ndarray) -> Events:
        """The events at ``selection``."""
        return Events(self.offset[selection], self.amount[selection],
                      self.synapse[selection], self.packet[selection], self.fanout)


@dataclass
class Packets:
    """Packets sent in one tick through a fan-out, not yet expanded into events.

    ``counts`` (spikes per packet) and ``packet`` (delivery order of each packet) as in
    :meth:`Fanout.events`; None means one spike each, in the order given.
    """

    fanout: Fanout
    senders: np.ndarray
    counts: np.ndarray | None = None
    packet: np.ndarray | None = None

    def expand(self) -> Events:
        """The synaptic events of the packets."""
        return self.fanout.events(self.senders, self.counts, self.packet)


class Fanout:
    """Every synapse leaving one population, in rows by pre-synaptic neuron (CSR).

    Within a row the synapses keep route order, and within a route the order of
    ``numpy.argsort(pre, kind="stable")``; the delivery order of a tick's additions is
    (route rank, packet, position in the route's rows), as the chip processes them.

    Parameters
    ----------
    n_pre : int
        Size of the sending population.
    routes : sequence of RouteSynapses
        The projections leaving the population.
    stride : int
        Cells per ring-buffer slot.
    """

    def __init__(self, n_pre: int, routes: Sequence[RouteSynapses], stride: int) -> None:
        pre = np.concatenate([r.pre for r in routes]).astype(np.int64)
        order = np.argsort(pre, kind="stable")
        self.indptr = np.zeros(n_pre + 1, dtype=np.int64)
        np.cumsum(np.bincount(pre, minlength=n_pre), out=self.indptr[1:])
        delay = np.concatenate([r.delay_steps for r in routes]).astype(np.int64)
        column = np.concatenate([r.column for r in routes]).astype(np.int64)
        self.offset = ((delay - 1) * stride + column)[order]
        self.weight = np.concatenate([r.weight for r in routes]).astype(np.float64)[order]
        self.route = np.concatenate([np.full(r.pre.size, r.route, np.int32)
                                     for r in routes])[order]
        self.rank = np.concatenate([np.full(r.pre.size, r.rank, np.int32)
                                    for r in routes])[order]
        position = [np.empty(r.pre.size, np.int64) for r in routes]
        for positions, r in zip(position, routes, strict=True):
            positions[np.argsort(r.pre, kind="stable")] = np.arange(r.pre.size)
        self.position = np.concatenate(position)[order]
        self.max_delay = int(delay.max()) if delay.size else 0
        self.routes = [r.route for r in routes]
        #: Row length of every pre-neuron in every route (synaptic-event counter).
        self.row_lengths = np.stack([np.bincount(r.pre, minlength=n_pre) for r in routes])

    def events(self, senders: np.ndarray, counts: np.ndarray | None,
               packet: np.ndarray | None = None) -> Events:
        """Synaptic events of packets sent by ``senders`` (several spikes: ``counts``).

        Parameters
        ----------
        senders : numpy.ndarray
            Pre-neuron of every packet, in delivery order.
        counts : numpy.ndarray or None
            Spikes carried by each packet; None means one.
        packet : numpy.ndarray or None
            Delivery order of each packet (default: the position in ``senders``).
        """
        starts = self.indptr[senders]
        lengths = self.indptr[senders + 1] - starts
        ends = np.cumsum(lengths)
        total = int(ends[-1]) if ends.size else 0
        index = np.repeat(starts - ends + lengths, lengths) + np.arange(total)
        amount = self.weight[index]
        if counts is not None:
            amount = amount * np.repeat(counts, lengths)
        order = np.arange(senders.size) if packet is None else packet
        return Events(self.offset[index], amount, index, np.repeat(order, lengths), self)


def saturating_additions(start: np.ndarray, cell: np.ndarray, amount: np.ndarray,
                         order: Sequence[np.ndarray]) -> np.ndarray:
    """Which additions saturate when cells starting at ``start`` receive them one by one.

    Parameters
    ----------
    start : numpy.ndarray
        Value of every event's cell before the tick's additions (<= 0xFFFF).
    cell : numpy.ndarray
        Cell of every event.
    amount : numpy.ndarray
        Amount added by every event (>= 0).
    order : sequence of numpy.ndarray
        Sort keys giving the delivery order within a cell, most significant first.

    Returns
    -------
    numpy.ndarray
        Boolean mask (in the given event order): ``min(before, 0xFFFF) + amount >= 0x10000``.
    """
    sequence = np.lexsort(tuple(reversed([cell, *order])))
    c, a = cell[sequence], amount[sequence]
    total = np.cumsum(a)
    first = np.flatnonzero(np.concatenate([[True], c[1:] != c[:-1]]))
    group_start = np.repeat(first, np.diff(np.append(first, c.size)))
    before = start[sequence] + total - a - (total[group_start] - a[group_start])
    mask = np.empty(cell.size, dtype=bool)
    mask[sequence] = np.minimum(before, WEIGHT_MAX) + a > WEIGHT_MAX
    return mask


class RingBuffer:
    """uint16 input cells of every neuron: slots x (synapse types x neurons).

    Held as float64 (exact for these integers) so that a tick's events can be summed with
    ``numpy.bincount`` and added in place.

    Parameters
    ----------
    n_cells : int
        Neurons (of all populations; a neuron's column is its index in the network).
    n_slots : int
        Delay slots; must exceed the longest delay (delay extensions make any delay exact
        on SpiNNaker, so the emulator sizes the buffer to fit).
    n_routes : int
        Number of routes whose saturating additions are counted.
    n_types : int
        Synapse types (2: excitatory, inhibitory).
    """

    def __init__(self, n_cells: int, n_slots: int, n_routes: int, n_types: int = 2) -> None:
        self.n_cells = n_cells
        self.n_types = n_types
        self.n_slots = max(2, n_slots)
        self.stride = n_types * n_cells
        self.cells = np.zeros(self.n_slots * self.stride, dtype=np.float64)
        #: Saturating additions per route.
        self.saturations = np.zeros(n_routes, dtype=np.int64)

    def take(self, tick: int) -> np.ndarray:
        """Return slot ``tick mod S`` as int64 (types, cells) and clear it."""
        start = (tick % self.n_slots) * self.stride
        window = self.cells[start:start + self.stride]
        taken = window.astype(np.int64).reshape(self.n_types, self.n_cells)
        window[:] = 0.0
        return taken

    def add(self, tick: int, batches: list[Events | Packets]) -> None:
        """Add what was sent in ``tick`` (in delivery order of the list), saturating."""
        kernels = compiled()
        if kernels is None:
            self._add_summed(tick, [b.expand() if isinstance(b, Packets) else b
                                    for b in batches])
            return
        start = ((tick + 1) % self.n_slots) * self.stride
        highest = 0.0
        for batch in batches:
            if isinstance(batch, Packets):
                f = batch.fanout
                if batch.counts is None:
                    top = kernels["add_rows"](self.cells, start, f.indptr, f.offset, f.weight,
                                              batch.senders)
                else:
                    top = kernels["add_packets"](self.cells, start, f.indptr, f.offset,
                                                 f.weight, batch.senders, batch.counts)
            else:
                top = kernels["add_events"](self.cells, start, batch.offset, batch.amount)
            highest = max(highest, top)
        if highest > WEIGHT_MAX:  # replay the tick's additions where cells saturated
            events = [e for e in (b.expand() if isinstance(b, Packets) else b
                                  for b in batches) if e.size]
            incoming = np.bincount(np.concatenate([e.offset for e in events]),
                                   np.concatenate([e.amount for e in events]))
            self._saturate(events, start, incoming)

    def _add_summed(self, tick: int, events: list[Events]) -> None:
        """numpy path of :meth:`add`: sum the tick's events per cell, then add."""
        events = [e for e in events if e.size]
        if not events:
            return
        offset = np.concatenate([e.offset for e in events]) if len(events) > 1 \
            else events[0].offset
        amount = np.concatenate([e.amount for e in events]) if len(events) > 1 \
            else events[0].amount
        incoming = np.bincount(offset, amount)
        start = ((tick + 1) % self.n_slots) * self.stride
        head = min(incoming.size, self.cells.size - start)
        self.cells[start:start + head] += incoming[:head]
        self.cells[:incoming.size - head] += incoming[head:]
        self._saturate(events, start, incoming)

    def _saturate(self, events: list[Events], start: int, incoming: np.ndarray) -> None:
        """Clamp the cells the tick's ``incoming`` sums (added from ``start``) pushed over
        0xFFFF, counting the saturating additions."""
        head = min(incoming.size, self.cells.size - start)
        for begin, values in ((start, incoming[:head]), (0, incoming[head:])):
            window = self.cells[begin:begin + values.size]
            if values.size and window.max() > WEIGHT_MAX:
                over = np.flatnonzero(window > WEIGHT_MAX)
                self._count(events, start, begin + over, window[over] - values[over])
                window[over] = WEIGHT_MAX

    def _count(self, events: list[Events], start: int, over: np.ndarray,
               before: np.ndarray) -> None:
        """Count the saturating additions into cells ``over`` (values ``before`` the tick)."""
        cells, amounts, ranks, packets, positions, routes = [], [], [], [], [], []
        for e in events:
            cell = (start + e.offset) % self.cells.size
            hit = np.isin(cell, over)
            synapse = e.synapse[hit]
            cells.append(cell[hit])
            amounts.append(e.amount[hit])
            ranks.append(e.fanout.rank[synapse])
            packets.append(e.packet[hit])
            positions.append(e.fanout.position[synapse])
            routes.append(e.fanout.route[synapse])
        cell = np.concatenate(cells)
        start_value = before[np.searchsorted(over, cell)]
        saturating = saturating_additions(
            start_value, cell, np.concatenate(amounts),
            [np.concatenate(ranks), np.concatenate(packets), np.concatenate(positions)])
        self.saturations += np.bincount(np.concatenate(routes)[saturating],
                                        minlength=self.saturations.size)
