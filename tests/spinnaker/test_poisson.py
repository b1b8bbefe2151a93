"""SpikeSourcePoisson: the 7.4.1 regimes and their rate biases (spinnaker-numerics.md §7)."""

from __future__ import annotations

import numpy as np
import pytest

from repro.spinnaker.poisson import (
    FAST,
    FASTER,
    SLOW,
    PoissonSources,
    effective_rate,
    mean_slow_interval,
    poisson_constants,
    rate_notes,
)
from repro.spinnaker.timing import Timing

MS1 = Timing.from_ms(1.0)
MS01 = Timing.from_ms(0.1)


@pytest.mark.parametrize(("timing", "rate", "bias"), [
    (MS1, 3.0, 0.0010), (MS1, 7.0, 0.0060), (MS1, 9.99, 0.0010), (MS1, 10.0, -0.0017),
    (MS1, 9000.0, 0.0012), (MS1, 9900.0, 0.0093), (MS1, 10000.0, 0.040),
    (MS1, 16000.0, 0.0156), (MS01, 30.0, 0.0010), (MS01, 90.0, 0.0010),
])
def test_rate_bias_table(timing, rate, bias):
    assert effective_rate(rate, timing) / rate - 1.0 == pytest.approx(bias, abs=5e-4)


@pytest.mark.parametrize("rate", [100.0, 1000.0, 6000.0])
def test_knuth_regime_is_nearly_unbiased(rate):
    assert abs(effective_rate(rate, MS1) / rate - 1.0) < 5e-4


@pytest.mark.parametrize("rate", [100.0, 1250.0, 18000.0])
def test_knuth_regime_at_a_tenth_of_a_millisecond_is_within_0_17_percent(rate):
    assert abs(effective_rate(rate, MS01) / rate - 1.0) <= 0.0017 + 1e-5


def test_rates_of_65536_hz_and_more_wrap():
    """Errata 1: the rate reaches the core as U16.16; 100 kHz behaves like 34,464 Hz."""
    assert effective_rate(100_000.0, MS01) == pytest.approx(34_464.0, rel=2e-3)


def test_regimes_follow_the_rate_per_tick():
    c = poisson_constants(np.array([9.99, 10.0, 9999.0, 10000.0, 16000.0]), np.zeros(5),
                          np.full(5, 1e10), MS1)
    assert list(c.regime) == [SLOW, FAST, FAST, FAST, FASTER]


def test_very_low_rates_overflow_the_interval():
    """Errata 2: at 0.001 Hz and dt = 0.1 ms the uint32 interval wraps and rates come out high."""
    c = poisson_constants(np.array([0.001]), np.zeros(1), np.full(1, 1e10), MS01)
    source = PoissonSources(c, np.random.default_rng(3))
    intervals = source._intervals(np.zeros(20000, dtype=np.int64))
    mean_ticks = intervals.mean() / 1000.0
    assert mean_ticks * MS01.seconds < 0.5 / 0.001


def _simulated_rate(rate, timing, n_sources, n_ticks, seed=1):
    c = poisson_constants(np.full(n_sources, rate), np.zeros(n_sources),
                          np.full(n_sources, 1e10), timing)
    source = PoissonSources(c, np.random.default_rng(seed))
    total = sum(int(source.step(t)[1].sum()) for t in range(n_ticks))
    return total / (n_sources * n_ticks * timing.seconds), total


@pytest.mark.parametrize(("rate", "n_ticks"), [(7.0, 4000), (1250.0, 400), (16000.0, 100)])
def test_simulated_rate_matches_the_effective_rate(rate, n_ticks):
    measured, total = _simulated_rate(rate, MS1, 500, n_ticks)
    expected = effective_rate(rate, MS1)
    assert abs(measured - expected) < 4.0 * expected / np.sqrt(total)


def test_counts_are_poisson_distributed_per_tick():
    c = poisson_constants(np.full(2000, 1250.0), np.zeros(2000), np.full(2000, 1e10), MS1)
    source = PoissonSources(c, np.random.default_rng(2))
    counts = np.zeros(2000, dtype=np.int64)
    index, n = source.step(0)
    counts[index] = n
    assert counts.var() == pytest.approx(counts.mean(), rel=0.15)
    assert counts.max() >= 4  # several spikes of one source in one tick


def test_sources_are_silent_outside_start_and_duration():
    c = poisson_constants(np.full(50, 2000.0), np.full(50, 10.0), np.full(50, 5.0), MS1)
    source = PoissonSources(c, np.random.default_rng(4))
    active = [t for t in range(30) if source.step(t)[0].size]
    assert min(active) == 10 and max(active) == 14


def test_zero_rate_is_silent():
    c = poisson_constants(np.zeros(10), np.zeros(10), np.full(10, 1e10), MS1)
    source = PoissonSources(c, np.random.default_rng(5))
    assert all(source.step(t)[0].size == 0 for t in range(100))


def test_very_low_rate_overflows_the_interval_and_says_so():
    """Errata 2/11: at 0.001 Hz and 0.1 ms, mean_isi = 1e7 ticks; 1000 E mean_isi wraps in
    uint32 (the intervals are in 1/1000 tick), so the rate comes out ~5x too high."""
    e = np.random.default_rng(3).exponential(size=2_000_000)
    intervals = (np.floor(1000 * e + 0.5).astype(np.int64) * 10_000_000) % (1 << 32)
    monte_carlo = 1000.0 / (intervals.mean() * 1e-4)
    rate = effective_rate(0.001, MS01)
    assert rate == pytest.approx(monte_carlo, rel=0.01)
    assert 4.5 < rate / 0.001 < 5.5
    (note,) = rate_notes(np.array([0.001, 5.0]), MS01)
    assert "0.001 Hz" in note and f"{rate / 0.001:.3g}x" in note


def test_slow_regime_mean_includes_the_s1615_truncation():
    """Errata 11: E truncated to S16.15 biases the mean interval by about -1.5e-5."""
    isi = 333  # 3 Hz at 1 ms
    mean = mean_slow_interval(isi)
    assert mean / (1000 * isi) - 1.0 == pytest.approx(-0.5 / 32768, abs=3e-6)
