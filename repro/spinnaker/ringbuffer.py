"""Synaptic rows and the uint16 input ring buffer of a post-population, with saturation.

A spike sent in tick t through a synapse with delay d adds the synapse's weight integer W
to cell (slot (t + d) mod S, synapse type, target neuron). Cells saturate at 0xFFFF; since
every W is non-negative, clipping the sum equals saturating each addition. The neuron
update of tick t reads and clears slot t mod S first.
"""

from __future__ import annotations

import numpy as np

from repro.spinnaker.synapses import WEIGHT_MAX


class SynapticRows:
    """One projection's synapses sorted into rows by pre-synaptic neuron (CSR).

    Parameters
    ----------
    n_pre : int
        Size of the pre-synaptic population (the parent population for views).
    pre : numpy.ndarray
        Pre-synaptic neuron index of every synapse.
    target : numpy.ndarray
        Column of the synapse in a ring-buffer slot: ``synapse_type * n_post + post``.
    delay_steps : numpy.ndarray
        Delay of every synapse in whole time steps (>= 1).
    weight : numpy.ndarray
        Weight integer W of every synapse (0..65535).
    stride : int
        Cells per ring-buffer slot of the target population.
    """

    def __init__(self, n_pre: int, pre: np.ndarray, target: np.ndarray,
                 delay_steps: np.ndarray, weight: np.ndarray, stride: int) -> None:
        order = np.argsort(pre, kind="stable")
        self.indptr = np.concatenate(
            [[0], np.cumsum(np.bincount(pre, minlength=n_pre))]).astype(np.int64)
        self.delay = np.asarray(delay_steps, dtype=np.int64)[order]
        self.weight = np.asarray(weight, dtype=np.int64)[order]
        #: Position relative to the sending tick's slot: delay * stride + target.
        self.offset = self.delay * stride + np.asarray(target, dtype=np.int64)[order]
        #: At most one synapse per row (one-to-one): events need no expansion.
        self.one_per_row = bool(np.all(np.diff(self.indptr) <= 1))

    @property
    def max_delay(self) -> int:
        """Longest delay in steps (0 for an empty projection)."""
        return int(self.delay.max()) if self.delay.size else 0

    def events(self, spiking: np.ndarray, counts: np.ndarray | None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Synaptic events caused by ``spiking`` pre-neurons this tick.

        Parameters
        ----------
        spiking : numpy.ndarray
            Indices of the pre-neurons that sent a packet.
        counts : numpy.ndarray or None
            Spikes carried by each packet (Poisson sources can send several); None means 1.

        Returns
        -------
        tuple of numpy.ndarray
            ``(offset, amount)`` per event: position relative to the sending slot, and
            W * count.
        """
        starts = self.indptr[spiking]
        lengths = self.indptr[spiking + 1] - starts
        if self.one_per_row:
            index = starts[lengths > 0]
            repeats = counts[lengths > 0] if counts is not None else None
        else:
            ends = np.cumsum(lengths)
            index = np.repeat(starts - ends + lengths, lengths) + np.arange(ends[-1])
            repeats = np.repeat(counts, lengths) if counts is not None else None
        amount = self.weight[index]
        if repeats is not None:
            amount = amount * repeats
        return self.offset[index], amount


class RingBuffer:
    """uint16 input cells of one post-population: slots x synapse types x neurons.

    Parameters
    ----------
    n_neurons : int
        Neurons in the post-population.
    n_slots : int
        Delay slots; must exceed the longest incoming delay (delay extensions make any
        delay exact on SpiNNaker, so the emulator simply sizes the buffer to fit).
    n_types : int
        Synapse types (2: excitatory, inhibitory).
    """

    def __init__(self, n_neurons: int, n_slots: int, n_types: int = 2) -> None:
        self.n_neurons = n_neurons
        self.n_types = n_types
        self.n_slots = max(1, n_slots)
        self.stride = n_types * n_neurons
        self.cells = np.zeros(self.n_slots * self.stride, dtype=np.int64)

    def take(self, tick: int) -> np.ndarray:
        """Return the cells of slot ``tick mod S`` as (types, neurons) and clear them."""
        start = (tick % self.n_slots) * self.stride
        window = self.cells[start:start + self.stride]
        taken = window.reshape(self.n_types, self.n_neurons).copy()
        window[:] = 0
        return taken

    def add(self, tick: int, offset: np.ndarray, amount: np.ndarray) -> int:
        """Add events sent in ``tick``; return how many cells hit the 0xFFFF cap.

        ``offset`` is ``delay * stride + column`` (see :class:`SynapticRows`).
        """
        if amount.size == 0:
            return 0
        flat = (tick % self.n_slots) * self.stride + offset
        flat[flat >= self.cells.size] -= self.cells.size
        np.add.at(self.cells, flat, amount)
        saturated = np.flatnonzero(self.cells > WEIGHT_MAX)
        if saturated.size == 0:
            return 0
        self.cells[saturated] = WEIGHT_MAX
        return int(saturated.size)
