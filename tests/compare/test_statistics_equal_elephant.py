"""The vectorised statistics equal Elephant's per-train reference (property tests)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repro.compare.statistics import (
    StatisticsConfig,
    population_statistics,
    population_statistics_elephant,
)
from repro.site.spikefile import PopulationSpikes

T_STOP = 600.0


def spike_times(t_stop: float):
    """Spike trains that mix NEST-like grid times, arbitrary floats and duplicates."""
    grid = st.integers(min_value=0, max_value=int(t_stop * 10)).map(lambda i: i / 10.0)
    anywhere = st.floats(min_value=0.0, max_value=t_stop, allow_nan=False)
    on_edges = st.sampled_from([0.0, 200.0, 300.0, 400.0, 402.0, t_stop, 250.0 - 1e-12])
    return st.lists(st.one_of(grid, anywhere, on_edges), max_size=60)


@st.composite
def populations(draw):
    """A population of 0-12 neurons; trains may be empty, single, duplicated or dense."""
    size = draw(st.integers(min_value=0, max_value=12))
    trains = []
    for _ in range(size):
        kind = draw(st.sampled_from(["random", "empty", "single", "duplicates"]))
        if kind == "empty":
            trains.append(np.zeros(0))
        elif kind == "single":
            trains.append(np.array([draw(st.floats(0.0, T_STOP))]))
        elif kind == "duplicates":
            base = draw(spike_times(T_STOP))
            trains.append(np.array(base + base[: len(base) // 2 + 1]))
        else:
            trains.append(np.array(draw(spike_times(T_STOP))))
    return PopulationSpikes.from_trains("p", trains, celltype="IF_curr_exp", t_start=0.0,
                                        t_stop=T_STOP)


configs = st.builds(
    StatisticsConfig,
    transient_ms=st.sampled_from([0.0, 200.0, 137.3]),
    min_spikes=st.integers(min_value=3, max_value=12),
    fano_window_ms=st.sampled_from([100.0, 33.3, 50.0]),
    corr_bin_ms=st.sampled_from([2.0, 5.0, 0.7]),
    corr_max_neurons=st.integers(min_value=2, max_value=8),
    corr_sample_seed=st.integers(min_value=0, max_value=2**32 - 1),
    pop_rate_bin_ms=st.sampled_from([5.0, 2.0, 3.3]),
)


def assert_same(fast, reference) -> None:
    np.testing.assert_array_equal(fast.active, reference.active)
    np.testing.assert_array_equal(fast.corr_neurons, reference.corr_neurons)
    for name in ("rate", "cv", "lv", "fano", "corr", "pop_rate"):
        a, b = getattr(fast, name), getattr(reference, name)
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=name)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pop=populations(), config=configs)
def test_fast_statistics_equal_elephant(pop, config):
    assert_same(population_statistics(pop, config), population_statistics_elephant(pop, config))


@pytest.mark.parametrize("trains", [
    [np.zeros(0)] * 4,
    [np.array([250.0])] * 3,
    [np.array([300.0, 300.0, 300.0, 300.0])] * 3,
], ids=["all-empty", "single-spikes", "identical-duplicates"])
def test_degenerate_populations_equal_elephant(trains):
    pop = PopulationSpikes.from_trains("p", trains, celltype="x", t_start=0.0, t_stop=T_STOP)
    config = StatisticsConfig(min_spikes=3)
    assert_same(population_statistics(pop, config), population_statistics_elephant(pop, config))


def test_realistic_population_equals_elephant():
    rng = np.random.default_rng(7)
    trains = [np.round(np.sort(rng.uniform(0, 1000.0, rng.poisson(25))), 1) for _ in range(300)]
    pop = PopulationSpikes.from_trains("exc", trains, celltype="x", t_start=0.0, t_stop=1000.0)
    config = StatisticsConfig()
    fast = population_statistics(pop, config)
    assert_same(fast, population_statistics_elephant(pop, config))
    assert fast.corr.size == 200 * 199 // 2
    assert 0.0 < fast.excluded_fraction < 0.5
