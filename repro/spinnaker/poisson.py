"""SpikeSourcePoisson with sPyNNaker 7.4.1's per-rate algorithms and their biases.

Rate set-up follows the 7.4.1 binary: the rate reaches the core as U16.16 (rates of
65,536 Hz or more wrap), rate-per-tick lambda = rate * seconds_per_tick (U16.16), and

* slow (lambda < 0.01/tick): inter-spike intervals of an integer number of ticks,
  ``mean_isi = floor(ticks_per_second / rate)`` (so rates come out high), times an Exp(1)
  variate drawn by von Neumann's comparison method and truncated to S16.15, all in uint32
  units of 1/1000 tick (which overflows at very low rates);
* fast (lambda < 10/tick): Knuth's product-of-uniforms method against exp(-lambda) kept
  with only 16 fractional bits;
* faster (lambda >= 10/tick): a normal approximation, count = round((z/2 + sqrt(lambda))**2),
  mean lambda + 1/4.

Uniform 32-bit draws come from a numpy generator seeded per population, not from the
chip's per-core KISS stream: spike *statistics* match SpiNNaker, individual trains do not
(on hardware they also depend on the partitioning and on seeds drawn from OS entropy).
The normal regime uses the exact inverse normal CDF of the 16-bit probability where
spinn_common evaluates a piecewise polynomial of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from repro.spinnaker import fixedpoint as fp
from repro.spinnaker.kernels import compiled
from repro.spinnaker.timing import Timing

SLOW, FAST, FASTER = 0, 1, 2
#: Regime cut-offs in spikes per tick, U16.16 raw (0.01 and 10).
SLOW_CUTOFF_RAW = fp.encode_scalar(0.01, 16)
FAST_CUTOFF_RAW = fp.encode_scalar(10.0, 16)
#: "Forever" end tick for sources without a finite duration.
FOREVER = 1 << 62
_UINT32 = 0xFFFFFFFF
#: Knuth factors drawn for every fast source of a tick before only the survivors continue.
#: It fixes the order in which the stream is consumed (an earlier depth formula always
#: evaluated to 2), so it is part of the emulator's output for a seed.
KNUTH_FIRST_DRAWS = 2
#: Draws held at once by the batched generators (bounds their memory: 8 bytes each).
BLOCK_DRAWS = 1 << 20


@dataclass(frozen=True)
class PoissonConstants:
    """Per-source quantities set up on the core when the rate becomes active.

    Attributes
    ----------
    regime : numpy.ndarray
        SLOW, FAST or FASTER per source.
    mean_isi : numpy.ndarray
        Slow regime: mean inter-spike interval in whole ticks (0 = silent).
    exp_minus_lambda : numpy.ndarray
        Fast regime: exp(-lambda) as U0.32 with only 16 significant fractional bits.
    sqrt_lambda : numpy.ndarray
        Faster regime: sqrt(lambda) as S16.15.
    start_tick, end_tick : numpy.ndarray
        The source emits in ticks start_tick <= t < end_tick.
    """

    regime: np.ndarray
    mean_isi: np.ndarray
    exp_minus_lambda: np.ndarray
    sqrt_lambda: np.ndarray
    start_tick: np.ndarray
    end_tick: np.ndarray


def _rate_per_tick(rate_hz: np.ndarray, timing: Timing) -> tuple[np.ndarray, np.ndarray]:
    rate_u3232 = np.array([int(round(r * 2.0 ** 32)) for r in np.asarray(rate_hz, float)],
                          dtype=object)
    rate16 = np.array([(int(r) >> 16) & _UINT32 for r in rate_u3232], dtype=np.int64)
    seconds_per_tick = int(round(timing.seconds * 2.0 ** 32))
    lambda16 = (rate16 * seconds_per_tick) >> 32
    return rate16, lambda16


def poisson_constants(rate_hz: np.ndarray, start_ms: np.ndarray, duration_ms: np.ndarray,
                      timing: Timing) -> PoissonConstants:
    """Set up every source of a population.

    Parameters
    ----------
    rate_hz, start_ms, duration_ms : numpy.ndarray
        Per-source PyNN parameters.
    timing : Timing
        The simulation time step.

    Raises
    ------
    ValueError
        If a rate, start or duration is negative.
    """
    rate_hz = np.asarray(rate_hz, dtype=float)
    for name, values in (("rate", rate_hz), ("start", start_ms), ("duration", duration_ms)):
        if np.any(np.asarray(values) < 0):
            raise ValueError(f"SpikeSourcePoisson {name} must not be negative")
    rate16, lambda16 = _rate_per_tick(rate_hz, timing)
    regime = np.where(lambda16 < SLOW_CUTOFF_RAW, SLOW,
                      np.where(lambda16 < FAST_CUTOFF_RAW, FAST, FASTER))
    ticks_per_ms_raw = fp.encode_scalar(timing.steps_per_ms, 16)
    ticks_per_second_raw = (1000 * ticks_per_ms_raw) & _UINT32
    mean_isi = np.where((regime == SLOW) & (rate16 > 0),
                        ticks_per_second_raw // np.maximum(rate16, 1), 0)
    exp_minus_lambda = np.where(
        regime == FAST, fp.per_unique(lambda l16: fp.expuk(-(l16 >> 1)) << 16, lambda16), 0)
    sqrt_lambda = np.where(regime == FASTER,
                           fp.per_unique(lambda l16: fp.sqrtk(l16 >> 1), lambda16), 0)
    start_tick = np.floor(np.asarray(start_ms, float) * timing.steps_per_ms + 0.5)
    end_ms = np.asarray(start_ms, float) + np.asarray(duration_ms, float)
    end_ticks = end_ms * timing.steps_per_ms + 0.5
    end_tick = np.where(end_ticks >= 2.0 ** 32, float(FOREVER), np.floor(end_ticks))
    return PoissonConstants(regime=regime.astype(np.int8), mean_isi=mean_isi.astype(np.int64),
                            exp_minus_lambda=exp_minus_lambda.astype(np.int64),
                            sqrt_lambda=sqrt_lambda.astype(np.int64),
                            start_tick=start_tick.astype(np.int64),
                            end_tick=np.minimum(end_tick, float(FOREVER)).astype(np.int64))


def mean_slow_interval(mean_isi: int) -> float:
    """Mean of the slow regime's interval in 1/1000 tick, as the core computes it.

    ISI = (round_half_up(1000 E) * mean_isi) mod 2**32 with E ~ Exp(1) truncated to
    S16.15. P(E raw = r) = exp(-r / 2**15) (1 - exp(-2**-15)); summing over the integer
    k = round_half_up(1000 E) gives the exact mean including the truncation bias (errata
    11) and the uint32 wrap at very low rates (errata 2).
    """
    k = np.arange(0, 40_001, dtype=np.int64)  # P(E > 40) = 4e-18
    r_low = np.where(k == 0, 0, -(-(k * fp.S1615_ONE - (1 << 14)) // 1000))
    r_next = -(-((k + 1) * fp.S1615_ONE - (1 << 14)) // 1000)
    probability = np.exp(-r_low / fp.S1615_ONE) - np.exp(-r_next / fp.S1615_ONE)
    interval = (k * int(mean_isi)) & _UINT32
    return float(np.sum(probability * interval))


def effective_rate(rate_hz: float, timing: Timing) -> float:
    """Mean output rate (Hz) the 7.4.1 algorithms produce for a requested rate.

    Slow: 1000 / (mean interval in 1/1000 tick, :func:`mean_slow_interval`) per tick,
    with the integer mean_isi, the S16.15 truncation of E and the uint32 wrap; fast:
    -ln(exp_minus_lambda) / dt; faster: (sqrt_lambda**2 + 1/4) / dt. Quantisation of the
    uniform draws adds < 1e-4 relative.
    """
    c = poisson_constants(np.array([rate_hz]), np.zeros(1), np.full(1, np.inf), timing)
    regime = int(c.regime[0])
    if regime == SLOW:
        isi = int(c.mean_isi[0])
        return 0.0 if isi == 0 else 1000.0 / (mean_slow_interval(isi) * timing.seconds)
    if regime == FAST:
        threshold = int(c.exp_minus_lambda[0])
        return 0.0 if threshold == 0 else -math.log(threshold / 2.0 ** 32) / timing.seconds
    root = int(c.sqrt_lambda[0]) / float(fp.S1615_ONE)
    return (root * root + 0.25) / timing.seconds


def rate_notes(rates_hz: np.ndarray, timing: Timing, tolerance: float = 0.01) -> list[str]:
    """One note per requested rate whose SpiNNaker rate differs by more than ``tolerance``."""
    notes = []
    for rate in np.unique(np.asarray(rates_hz, dtype=float))[:50]:
        if rate <= 0:
            continue
        actual = effective_rate(float(rate), timing)
        if abs(actual / rate - 1.0) > tolerance:
            notes.append(f"SpikeSourcePoisson rate {rate:g} Hz at dt = {timing.ms:g} ms: "
                         f"SpiNNaker (7.4.1 algorithm) produces {actual:.6g} Hz "
                         f"({actual / rate:.3g}x the requested rate)")
    return notes


def normal_table() -> np.ndarray:
    """z for each 16-bit probability q/65536 (q = 0 gives -7.0, as the library's table)."""
    normal = NormalDist()
    z = [-7.0] + [normal.inv_cdf(q / 65536.0) for q in range(1, 65536)]
    return np.round(np.array(z) * fp.S1615_ONE).astype(np.int64)


class RawStream:
    """Uniform 32-bit draws of a bit generator, drawn ahead in blocks.

    ``random_raw(a)`` followed by ``random_raw(b)`` gives the same values as
    ``random_raw(a + b)``, so drawing ahead changes nothing but the number of calls.
    """

    def __init__(self, bit_generator: np.random.BitGenerator) -> None:
        self._bit_generator = bit_generator
        self._buffer = np.zeros(0, dtype=np.uint64)
        self._position = 0

    def peek(self, n: int) -> np.ndarray:
        """The next ``n`` draws (top 32 bits, as uint64), without consuming them."""
        available = self._buffer.size - self._position
        if available < n:
            fresh = self._bit_generator.random_raw(max(n - available, BLOCK_DRAWS // 4))
            self._buffer = np.concatenate([self._buffer[self._position:],
                                           fresh >> np.uint64(32)])
            self._position = 0
        return self._buffer[self._position:self._position + n]

    def skip(self, n: int) -> None:
        """Consume ``n`` draws (after :meth:`peek`)."""
        self._position += n

    def take(self, n: int) -> np.ndarray:
        """Consume and return the next ``n`` draws."""
        values = self.peek(n)
        self._position += n
        return values


class PoissonSources:
    """The spike generator of one SpikeSourcePoisson population.

    Parameters
    ----------
    constants : PoissonConstants
        Per-source set-up.
    rng : numpy.random.Generator
        Source of uniform 32-bit draws.
    """

    def __init__(self, constants: PoissonConstants, rng: np.random.Generator) -> None:
        self.c = constants
        self.stream = RawStream(rng.bit_generator)
        self.slow = np.flatnonzero((constants.regime == SLOW) & (constants.mean_isi > 0))
        self.fast = np.flatnonzero(constants.regime == FAST)
        self.faster = np.flatnonzero(constants.regime == FASTER)
        self._z_table = normal_table() if self.faster.size else None
        # Time to next spike (1/1000 tick, uint32), drawn when the rate is set.
        self.time_to_spike = self._intervals(self.slow)

    def _uniform(self, n: int | tuple[int, int]) -> np.ndarray:
        """Uniform 32-bit draws (the top half of the generator's 64-bit output), as uint64."""
        return self.stream.take(int(np.prod(n))).reshape(n)

    def _exponential_s1615(self, n: int) -> np.ndarray:
        """Exp(1) variates by von Neumann's comparison method, truncated to S16.15."""
        result = np.zeros(n, dtype=np.int64)
        whole = np.zeros(n, dtype=np.int64)
        pending = np.arange(n)
        while pending.size:
            first = self._uniform(pending.size)
            current = first.copy()
            running = np.ones(pending.size, dtype=bool)
            accepted = np.zeros(pending.size, dtype=bool)
            while running.any():
                idx = np.flatnonzero(running)
                star = self._uniform(idx.size)
                accept = current[idx] < star
                accepted[idx[accept]] = True
                running[idx[accept]] = False
                rest = idx[~accept]
                following = self._uniform(rest.size)
                current[rest] = following
                running[rest[~(following < star[~accept])]] = False
            done = pending[accepted]
            result[done] = (whole[done] << fp.S1615_SHIFT) + (
                first[accepted] >> np.uint64(17)).astype(np.int64)
            whole[pending[~accepted]] += 1
            pending = pending[~accepted]
        return result

    def _intervals(self, sources: np.ndarray) -> np.ndarray:
        """round_half_up(1000 * E) * mean_isi, in uint32 (wraps at very low rates)."""
        exp_raw = self._exponential_s1615(sources.size)
        thousandths = (exp_raw * 1000 + (1 << 14)) >> fp.S1615_SHIFT
        return (thousandths * self.c.mean_isi[sources]) & _UINT32

    def _slow_counts(self, sources: np.ndarray) -> np.ndarray:
        position = np.searchsorted(self.slow, sources)
        counts = np.zeros(sources.size, dtype=np.int64)
        due = np.flatnonzero(self.time_to_spike[position] < 1000)
        while due.size:
            counts[due] += 1
            slots = position[due]
            self.time_to_spike[slots] = (
                self.time_to_spike[slots] + self._intervals(sources[due])) & _UINT32
            due = due[self.time_to_spike[position[due]] < 1000]
        self.time_to_spike[position] -= 1000
        return counts

    def _knuth_counts(self, sources: np.ndarray) -> np.ndarray:
        """Knuth's count: how many partial products floor(p * u / 2**32), p from 1.0ulr,
        stay above exp(-lambda) (0 when exp(-lambda) is 0).

        The first :data:`KNUTH_FIRST_DRAWS` factors are drawn for all sources at once (the
        product only falls); the sources still above the threshold continue one draw each
        per round, in index order.
        """
        threshold = self.c.exp_minus_lambda[sources].astype(np.uint64)
        product = np.full(sources.size, _UINT32, dtype=np.uint64)
        counts = np.zeros(sources.size, dtype=np.int64)
        for column in self._uniform((KNUTH_FIRST_DRAWS, sources.size)):
            product = (product * column) >> np.uint64(32)
            counts += product > threshold
        alive = np.flatnonzero(product > threshold)
        product, limit = product[alive], threshold[alive]
        survivors = []
        while alive.size:
            product = (product * self.stream.take(alive.size)) >> np.uint64(32)
            above = product > limit
            alive, product, limit = alive[above], product[above], limit[above]
            survivors.append(alive)
        if survivors:
            counts += np.bincount(np.concatenate(survivors), minlength=sources.size)
        counts[threshold == 0] = 0
        return counts

    def _normal_counts(self, sources: np.ndarray) -> np.ndarray:
        q = (self._uniform(sources.size) >> np.uint64(16)).astype(np.int64)
        x = (self._z_table[q] >> 1) + self.c.sqrt_lambda[sources]
        return np.maximum(fp.roundk(fp.mulk(x, x), fp.S1615_SHIFT), 0)

    def step(self, tick: int) -> tuple[np.ndarray, np.ndarray]:
        """Spike counts of tick ``tick``: ``(source indices, counts)`` with counts > 0."""
        indices = []
        counts = []
        for sources, method in ((self.slow, self._slow_counts), (self.fast, self._knuth_counts),
                                (self.faster, self._normal_counts)):
            if sources.size == 0:
                continue
            active = sources[(self.c.start_tick[sources] <= tick)
                             & (tick < self.c.end_tick[sources])]
            if active.size == 0:
                continue
            n = method(active)
            fired = n > 0
            indices.append(active[fired])
            counts.append(n[fired])
        if not indices:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        return np.concatenate(indices), np.concatenate(counts)

    def _knuth_ticks(self, sources: np.ndarray, n_ticks: int) -> np.ndarray:
        """Knuth counts of ``sources`` for ``n_ticks`` consecutive ticks, (ticks, sources)."""
        kernels = compiled()
        if kernels is None:
            return np.stack([self._knuth_counts(sources) for _ in range(n_ticks)])
        threshold = self.c.exp_minus_lambda[sources].astype(np.uint64)
        counts = np.zeros((n_ticks, sources.size), dtype=np.int64)
        done, ahead = 0, (KNUTH_FIRST_DRAWS + 1) * sources.size * n_ticks + 64
        while done < n_ticks:
            finished, used = kernels["knuth_ticks"](self.stream.peek(ahead), threshold,
                                                    KNUTH_FIRST_DRAWS, counts[done:])
            self.stream.skip(used)
            done += finished
            ahead *= 1 if finished else 2
        return counts

    def _normal_block(self, sources: np.ndarray, n_ticks: int) -> np.ndarray:
        """Normal-regime counts of ``sources`` for ``n_ticks`` consecutive ticks."""
        q = (self._uniform((n_ticks, sources.size)) >> np.uint64(16)).astype(np.int64)
        x = (self._z_table[q] >> 1) + self.c.sqrt_lambda[sources]
        return np.maximum(fp.roundk(fp.mulk(x, x), fp.S1615_SHIFT), 0)

    def steps(self, tick: int, n_ticks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Packets of ticks ``tick .. tick + n_ticks - 1``, as calling :meth:`step` in turn.

        Returns
        -------
        tuple of numpy.ndarray
            ``(ticks, source indices, counts)`` ordered by tick, within a tick as
            :meth:`step` orders them.
        """
        regimes = [(sources, block) for sources, block in
                   ((self.fast, self._knuth_ticks), (self.faster, self._normal_block))
                   if sources.size]
        if self.slow.size or len(regimes) > 1:  # draws interleave: go tick by tick
            return _concatenate_steps(tick, [self.step(t) for t in range(tick, tick + n_ticks)])
        if not regimes:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        sources, block = regimes[0]
        starts, ends = self.c.start_tick[sources], self.c.end_tick[sources]
        edges = np.unique(np.concatenate([[tick, tick + n_ticks], starts, ends]))
        edges = edges[(edges >= tick) & (edges <= tick + n_ticks)]
        ticks, indices, counts = [], [], []
        for first, stop in zip(edges[:-1], edges[1:], strict=True):
            active = sources[(starts <= first) & (first < ends)]
            if active.size == 0:
                continue
            n = block(active, int(stop - first))
            row, column = np.nonzero(n)
            ticks.append(row + first)
            indices.append(active[column])
            counts.append(n[row, column])
        if not ticks:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        return np.concatenate(ticks), np.concatenate(indices), np.concatenate(counts)


def _concatenate_steps(tick: int, steps: list[tuple[np.ndarray, np.ndarray]]
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ticks, indices, counts)`` of consecutive per-tick ``(indices, counts)``."""
    if not steps:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    sizes = [indices.size for indices, _ in steps]
    ticks = np.repeat(np.arange(tick, tick + len(steps), dtype=np.int64), sizes)
    return (ticks, np.concatenate([i for i, _ in steps]).astype(np.int64),
            np.concatenate([c for _, c in steps]).astype(np.int64))

