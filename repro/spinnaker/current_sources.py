"""PyNN current sources as sPyNNaker 7.4.1 injects them (``neuron/current_sources/``).

The host converts times to ticks with ``int(t_ms * steps_per_ms)`` (truncation) and
amplitudes to S16.15; the core adds ``current_source_get_offset(time, neuron)`` to the
membrane current of every neuron in every tick, summed over the neuron's sources:

* DCSource: amplitude while start <= t < stop (sPyNNaker's default stop is 0 ms: a
  source without ``stop`` never switches on).
* ACSource: offset + amplitude * sin((t - start) * frequency + phase) while start <= t <
  stop, with frequency = 2 pi f / 1000 per *tick* (so f is scaled by 1 ms / dt) and
  phase in radians; the tick count enters as an S16.15 (``(REAL) time``).
* StepCurrentSource: one shared cursor per source; each call (one per attached neuron, in
  neuron order) with t >= times[cursor] takes amplitudes[cursor] and advances the cursor,
  so a source attached to one neuron takes at most one step per tick.
* NoisyCurrentSource: mean + stdev * z with a fresh normal z per neuron and tick while
  start <= t < stop (``dt`` must equal the time step; a new value every step).

Approximations (statistics faithful, samples not): ``sink`` is computed exactly and
rounded to S16.15 (spinn_common's table-based sine differs by a few LSB at most), and the
noisy source draws z from numpy through the exact inverse normal CDF of a 16-bit
probability instead of spinn_common's ``norminv_urt`` on the chip's KISS stream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from repro.spinnaker import fixedpoint as fp
from repro.spinnaker.poisson import normal_table
from repro.spinnaker.timing import Timing

#: sPyNNaker's ``CurrentSourceIDs`` order: sources are applied DC, AC, step, noisy.
SOURCE_ORDER = ("DCSource", "ACSource", "StepCurrentSource", "NoisyCurrentSource")


@dataclass
class CurrentSourceSpec:
    """One current source injected into some neurons of one population.

    Attributes
    ----------
    model : str
        One of :data:`SOURCE_ORDER`.
    params : dict
        sPyNNaker parameters in PyNN units (ms, nA, Hz, degrees); ``times`` and
        ``amplitudes`` are arrays for the step source.
    targets : numpy.ndarray
        Indices of the neurons (within the population) it is injected into.
    """

    model: str
    params: dict
    targets: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def to_ticks(time_ms: float, timing: Timing) -> int:
    """Host conversion of a time to ticks: ``int(t * steps_per_ms)`` (truncates)."""
    return int(float(time_ms) * timing.steps_per_ms)


def ac_constants(frequency_hz: float, phase_deg: float) -> tuple[int, int]:
    """S16.15 codes of the AC frequency (2 pi f / 1000 per tick) and phase (radians)."""
    return (fp.s1615(frequency_hz * 2 * math.pi / 1000.0),
            fp.s1615(phase_deg * math.pi / 180.0))


def sink(raw: np.ndarray) -> np.ndarray:
    """sin of an S16.15 angle, rounded to S16.15 (stand-in for spinn_common ``sink``)."""
    return np.round(np.sin(np.asarray(raw, dtype=float) / fp.S1615_ONE)
                    * fp.S1615_ONE).astype(np.int64)


class _Step:
    def __init__(self, spec: CurrentSourceSpec, timing: Timing) -> None:
        self.times = [to_ticks(t, timing) for t in np.atleast_1d(spec.params["times"])]
        self.amplitudes = [fp.s1615(a) for a in np.atleast_1d(spec.params["amplitudes"])]
        self.cursor = 0
        self.last = 0

    def values(self, tick: int, n_calls: int) -> np.ndarray:
        """Values returned to ``n_calls`` successive calls in one tick."""
        if self.cursor >= len(self.times) or tick < self.times[self.cursor]:
            return np.full(n_calls, self.last, dtype=np.int64)
        out = np.empty(n_calls, dtype=np.int64)
        for call in range(n_calls):
            if self.cursor < len(self.times) and tick >= self.times[self.cursor]:
                self.last = self.amplitudes[self.cursor]
                self.cursor += 1
            out[call] = self.last
        return out


class CurrentSources:
    """All current sources of one population.

    Parameters
    ----------
    specs : list of CurrentSourceSpec
        Sources injected into this population.
    n_neurons : int
        Population size.
    timing : Timing
        The simulation time step.
    rng : numpy.random.Generator
        Draws of the noisy sources.

    Raises
    ------
    ValueError
        For a NoisyCurrentSource whose ``dt`` differs from the time step (sPyNNaker
        refuses it too).
    """

    def __init__(self, specs: list[CurrentSourceSpec], n_neurons: int, timing: Timing,
                 rng: np.random.Generator) -> None:
        self.n_neurons = n_neurons
        self.rng = rng
        self.sources = sorted(specs, key=lambda s: SOURCE_ORDER.index(s.model))
        self._state: list = []
        for spec in self.sources:
            p = spec.params
            if spec.model == "StepCurrentSource":
                self._state.append(_Step(spec, timing))
                continue
            window = (to_ticks(p["start"], timing), to_ticks(p["stop"], timing))
            if spec.model == "DCSource":
                self._state.append((window, fp.s1615(p["amplitude"])))
            elif spec.model == "ACSource":
                self._state.append((window, fp.s1615(p["amplitude"]), fp.s1615(p["offset"]),
                                    *ac_constants(p["frequency"], p["phase"])))
            else:
                if not math.isclose(float(p["dt"]), timing.ms):
                    raise ValueError("NoisyCurrentSource dt must equal the time step "
                                     f"({timing.ms} ms) on SpiNNaker, got {p['dt']}")
                self._state.append((window, fp.s1615(p["mean"]), fp.s1615(p["stdev"])))
        self._z_table = None

    def _normal(self, n: int) -> np.ndarray:
        if self._z_table is None:
            self._z_table = normal_table()
        draws = self.rng.integers(0, 1 << 16, size=n)
        return self._z_table[draws]

    def offset(self, tick: int) -> np.ndarray:
        """Summed source current (raw S16.15 nA) of every neuron in ``tick``."""
        total = np.zeros(self.n_neurons, dtype=np.int64)
        for spec, state in zip(self.sources, self._state, strict=True):
            targets = spec.targets
            if spec.model == "StepCurrentSource":
                np.add.at(total, targets, state.values(tick, targets.size))
                continue
            (start, stop), *values = state
            if not start <= tick < stop:
                continue
            if spec.model == "DCSource":
                value = np.full(targets.size, values[0], dtype=np.int64)
            elif spec.model == "ACSource":
                amplitude, offset, frequency, phase = values
                elapsed = fp.wrap32(fp.wrap32(tick << fp.S1615_SHIFT)
                                    - fp.wrap32(start << fp.S1615_SHIFT))
                angle = fp.wrap32(fp.mulk(elapsed, frequency) + phase)
                value = np.full(targets.size, fp.wrap32(offset + fp.mulk(amplitude,
                                                                        int(sink(angle)))))
            else:
                mean, stdev = values
                value = fp.wrap32(mean + fp.mulk(stdev, self._normal(targets.size)))
            np.add.at(total, targets, value)
        return fp.wrap32(total)
