"""Statistics streamed from a spike file in chunks equal the in-memory path exactly."""

from __future__ import annotations

import numpy as np
import pytest

from repro.compare.statistics import StatisticsConfig, population_statistics
from repro.compare.streaming import population_statistics_streaming
from repro.site.spikefile import (
    PopulationSpikes,
    SpikeFileError,
    iter_population_chunks,
    read_spikes,
    write_spikes,
)


def _population(seed: int, neurons: int = 300, duration_ms: float = 3000.0):
    rng = np.random.default_rng(seed)
    rates = rng.gamma(1.5, 8.0, neurons)  # spikes/s; some neurons nearly silent
    rates[:5] = 0.0
    rates[7] = 900.0  # one neuron with more spikes than a chunk
    trains = [np.round(np.sort(rng.uniform(0.0, duration_ms, rng.poisson(r * duration_ms
                                                                            / 1000.0))), 1)
              for r in rates]
    return PopulationSpikes.from_trains("exc", trains, celltype="IF_curr_exp", t_start=0.0,
                                        t_stop=duration_ms)


@pytest.mark.parametrize(("seed", "chunk"), [(1, 1000), (2, 4096), (3, 10**7)])
def test_streamed_statistics_equal_the_in_memory_path(tmp_path, seed, chunk):
    path = tmp_path / "spikes.npz"
    other = _population(seed + 100, neurons=20)
    write_spikes(path, [PopulationSpikes("inh", 20, "IF_curr_exp", 0.0, 3000.0, other.indptr,
                                         other.times), _population(seed)])
    config = StatisticsConfig(transient_ms=200.0, corr_max_neurons=50)
    (_, pop) = read_spikes(path)
    expected = population_statistics(pop, config)
    streamed = population_statistics_streaming(path, "exc", config, chunk_spikes=chunk)
    assert pop.n_spikes > 10_000 and expected.corr.size == 50 * 49 // 2
    for field in ("rate", "cv", "lv", "fano", "active", "corr_neurons", "corr", "pop_rate"):
        np.testing.assert_array_equal(getattr(streamed, field), getattr(expected, field),
                                      err_msg=field)


def test_chunks_hold_whole_neurons_and_cover_the_file(tmp_path):
    path = tmp_path / "spikes.npz"
    pop = _population(4)
    write_spikes(path, [pop])
    chunks = list(iter_population_chunks(path, "exc", max_spikes=500))
    assert len(chunks) > 10
    assert max(c.times.size for c in chunks if c.indptr.size > 2) <= 500
    np.testing.assert_array_equal(np.concatenate([c.times for c in chunks]), pop.times)
    assert [c.first for c in chunks] == list(np.cumsum([0] + [c.indptr.size - 1
                                                              for c in chunks[:-1]]))


def test_unknown_population_is_named(tmp_path):
    path = tmp_path / "spikes.npz"
    write_spikes(path, [_population(5, neurons=10)])
    with pytest.raises(SpikeFileError, match="no population 'inh'"):
        population_statistics_streaming(path, "inh", StatisticsConfig())
