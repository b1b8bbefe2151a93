"""Assemble per-run, per-population statistics into one labelled xarray Dataset."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr

from repro.compare.spikes import RunSpikes, check_comparable, run_coords
from repro.compare.statistics import (
    PopulationStatistics,
    StatisticsConfig,
    population_statistics,
    population_statistics_elephant,
)

#: Per-neuron statistics (dims run, population, neuron).
NEURON_STATISTICS = ("rate", "cv", "lv", "fano")
UNITS = {"rate": "spikes/s", "pop_rate": "spikes/s", "cv": "1", "lv": "1", "fano": "1",
         "corr": "1", "excluded_fraction": "1"}
METHODS: dict[str, Callable[[object, StatisticsConfig], PopulationStatistics]] = {
    "fast": population_statistics,
    "elephant": population_statistics_elephant,
}


def statistics_dataset(runs: Sequence[RunSpikes], config: StatisticsConfig,
                       method: str = "fast") -> xr.Dataset:
    """Statistics of every population of every run.

    Parameters
    ----------
    runs : sequence of RunSpikes
        Comparable runs (same populations and duration).
    config : StatisticsConfig
        How statistics are computed.
    method : {"fast", "elephant"}
        Vectorised path or Elephant's per-train reference.

    Returns
    -------
    xarray.Dataset
        Dimensions ``run`` (coordinates target, seed, model_hash, env_digest), ``population``,
        ``neuron``, ``pair`` and ``time_bin``. Variables ``rate``, ``cv``, ``lv``, ``fano``
        (run, population, neuron; NaN for excluded neurons and padding), ``active``,
        ``corr`` (run, population, pair), ``pop_rate`` (run, population, time_bin) and
        ``excluded_fraction`` (run, population).

    Raises
    ------
    SelectionError
        If the runs are empty or not comparable.
    ValueError
        If ``method`` is unknown.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
    check_comparable(runs)
    compute = METHODS[method]
    names = runs[0].population_names
    results = [[compute(pop, config) for pop in run.populations] for run in runs]
    shape_run_pop = (len(runs), len(names))
    n_neuron = max((p.size for p in runs[0].populations), default=0)
    n_pair = max((s.corr.size for row in results for s in row), default=0)
    n_bin = max((s.pop_rate.size for row in results for s in row), default=0)
    arrays = {name: np.full((*shape_run_pop, n_neuron), np.nan) for name in NEURON_STATISTICS}
    active = np.zeros((*shape_run_pop, n_neuron), dtype=np.int8)
    corr = np.full((*shape_run_pop, n_pair), np.nan)
    pop_rate = np.full((*shape_run_pop, n_bin), np.nan)
    excluded = np.full(shape_run_pop, np.nan)
    n_sampled = np.zeros(shape_run_pop, dtype=np.int64)
    for r, row in enumerate(results):
        for p, stats in enumerate(row):
            size = stats.rate.size
            for name in NEURON_STATISTICS:
                arrays[name][r, p, :size] = getattr(stats, name)
            active[r, p, :size] = stats.active
            corr[r, p, : stats.corr.size] = stats.corr
            pop_rate[r, p, : stats.pop_rate.size] = stats.pop_rate
            excluded[r, p] = stats.excluded_fraction
            n_sampled[r, p] = stats.corr_neurons.size
    dims = ("run", "population")
    data = {name: ((*dims, "neuron"), arrays[name], {"units": UNITS[name]})
            for name in NEURON_STATISTICS}
    data.update(
        active=((*dims, "neuron"), active, {"description": f">= {config.min_spikes} spikes"}),
        corr=((*dims, "pair"), corr, {"units": "1", "description":
                                      "pairwise Pearson correlation of binned counts"}),
        pop_rate=((*dims, "time_bin"), pop_rate, {"units": "spikes/s"}),
        excluded_fraction=(dims, excluded, {"units": "1"}),
        corr_sample_size=(dims, n_sampled),
        population_size=(("population",), np.array([p.size for p in runs[0].populations])),
    )
    attrs = {f"config_{k}": v for k, v in config.as_dict().items()}
    attrs["method"] = method
    return xr.Dataset(data, coords=run_coords(runs) | {"population": list(names)}, attrs=attrs)


def statistic_samples(stats: xr.Dataset, statistic: str, population: str,
                      runs: Sequence[str]) -> list[np.ndarray]:
    """Per-run values of one statistic in one population, NaN and padding removed."""
    values = stats[statistic].sel(population=population)
    out = []
    for run in runs:
        sample = np.atleast_1d(values.sel(run=run).values).astype(np.float64)
        out.append(sample[np.isfinite(sample)])
    return out
