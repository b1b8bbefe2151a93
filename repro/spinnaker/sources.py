"""SpikeSourceArray: spike times mapped to ticks as sPyNNaker 7.4.1 does.

A time T (ms) is sent in tick ``ceil(floor(T * 1000) / dt_us)``; several spikes of one
source in the same tick travel as one packet carrying their count.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from repro.spinnaker.timing import Timing


def spike_ticks(times_ms: np.ndarray, timing: Timing) -> np.ndarray:
    """Tick in which each spike time is sent."""
    micro = np.floor(np.asarray(times_ms, dtype=float) * 1000.0).astype(np.int64)
    return -(-micro // timing.timestep_us)


class ArraySources:
    """The spike generator of one SpikeSourceArray population.

    Parameters
    ----------
    spike_times : sequence of numpy.ndarray
        Spike times (ms) of every source.
    timing : Timing
        The simulation time step.

    Raises
    ------
    ValueError
        If a spike time is negative.
    """

    def __init__(self, spike_times: Sequence[np.ndarray], timing: Timing) -> None:
        ticks, sources = [], []
        for index, times in enumerate(spike_times):
            times = np.asarray(times, dtype=float).ravel()
            if np.any(times < 0):
                raise ValueError(f"SpikeSourceArray source {index} has a negative spike time")
            ticks.append(spike_ticks(times, timing))
            sources.append(np.full(times.size, index, dtype=np.int64))
        tick = np.concatenate(ticks) if ticks else np.zeros(0, dtype=np.int64)
        source = np.concatenate(sources) if sources else np.zeros(0, dtype=np.int64)
        order = np.lexsort((source, tick))
        self.tick = tick[order]
        self.source = source[order]

    def step(self, tick: int) -> tuple[np.ndarray, np.ndarray]:
        """``(source indices, spike counts)`` sent in ``tick``."""
        lo, hi = np.searchsorted(self.tick, [tick, tick + 1])
        if lo == hi:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        sources, counts = np.unique(self.source[lo:hi], return_counts=True)
        return sources, counts.astype(np.int64)

    def steps(self, tick: int, n_ticks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Packets of ticks ``tick .. tick + n_ticks - 1``: ``(ticks, sources, counts)``."""
        lo, hi = np.searchsorted(self.tick, [tick, tick + n_ticks])
        code = self.tick[lo:hi] * (int(self.source.max(initial=0)) + 1) + self.source[lo:hi]
        unique, counts = np.unique(code, return_counts=True)
        ticks, sources = np.divmod(unique, int(self.source.max(initial=0)) + 1)
        return ticks, sources, counts.astype(np.int64)
