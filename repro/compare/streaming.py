"""Population statistics of a spike file streamed in chunks, in memory bounded by the chunk.

The in-memory path (:func:`repro.compare.statistics.population_statistics`) holds every
spike of a population, several arrays of them at once. Here the spike file is read in
chunks of whole neurons (:func:`repro.site.spikefile.iter_population_chunks`): every
per-neuron statistic (rate, activity, CV, LV, Fano factor) depends on that neuron's
spikes only and is computed by the same functions on the chunk, so the results are
identical, bit for bit; the population-rate histogram adds integer counts. The pairwise
correlations need the sample of active neurons, known only after the first pass, so a
second pass collects the spikes of the (at most ``corr_max_neurons``) sampled neurons.

Memory: a few arrays of ``chunk_spikes`` spikes plus per-neuron results (O(neurons)) and
the sampled neurons' spikes; time: two reads of the file, linear in the spikes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from repro.compare.statistics import (
    MS_PER_S,
    PopulationStatistics,
    StatisticsConfig,
    analysis_window,
    bin_indices,
    check_flat_sorted,
    correlation_sample,
    fano_factors,
    firing_rates,
    isi_variability,
    n_bins,
    pairwise_correlations,
    window_counts,
    window_mask,
)
from repro.site.spikefile import iter_population_chunks, read_population_header

#: Spikes per chunk by default (about 8 MiB of times; peak memory is a small multiple).
DEFAULT_CHUNK_SPIKES = 1 << 20


def population_statistics_streaming(path: str | Path, name: str, config: StatisticsConfig,
                                    chunk_spikes: int = DEFAULT_CHUNK_SPIKES
                                    ) -> PopulationStatistics:
    """All statistics of population ``name`` of a spike file, streamed in chunks.

    Parameters
    ----------
    path : str or Path
        Spike file (``repro.spikes/1``).
    name : str
        Population label.
    config : StatisticsConfig
        Settings.
    chunk_spikes : int
        Largest number of spikes held at once (a single neuron with more is read whole).

    Returns
    -------
    PopulationStatistics
        Equal to :func:`repro.compare.statistics.population_statistics` of the loaded
        population.

    Raises
    ------
    repro.site.spikefile.SpikeFileError
        If the file is unreadable or has no population ``name``.
    ValueError
        If the spikes of a neuron are not sorted or the transient is too long.
    """
    header, _ = read_population_header(path, name)
    size = header.size
    t0, t1 = analysis_window(header.t_start, header.t_stop, config.transient_ms)
    fano_bins = max(1, n_bins(t0, t1, config.fano_window_ms))
    max_neurons = max(1, chunk_spikes // fano_bins)  # bounds the chunk's window counts
    rate = np.zeros(size)
    cv, lv, fano = np.full(size, np.nan), np.full(size, np.nan), np.full(size, np.nan)
    active = np.zeros(size, dtype=bool)
    pop_bins = n_bins(t0, t1, config.pop_rate_bin_ms)
    pop_counts = np.zeros(pop_bins, dtype=np.int64)
    for chunk in iter_population_chunks(path, name, chunk_spikes, max_neurons):
        m = chunk.indptr.size - 1
        cells = slice(chunk.first, chunk.first + m)
        neuron_ids = chunk.neuron_ids()
        check_flat_sorted(neuron_ids, chunk.times, m)
        keep = window_mask(chunk.times, t0, t1)
        ids, ts = neuron_ids[keep], chunk.times[keep]
        rate[cells] = firing_rates(ids, m, t0, t1)
        active[cells] = np.bincount(ids, minlength=m)[:m] >= config.min_spikes
        cv[cells], lv[cells] = isi_variability(ids, ts, m, active[cells])
        fano[cells] = fano_factors(window_counts(ids, ts, m, t0, t1, config.fano_window_ms),
                                   active[cells])
        index = bin_indices(ts, t0, config.pop_rate_bin_ms)
        pop_counts += np.bincount(index[index < pop_bins], minlength=pop_bins)[:pop_bins]
    pop_rate = (pop_counts / (size * config.pop_rate_bin_ms) * MS_PER_S if size
                else np.full(pop_bins, np.nan))
    sample = correlation_sample(active, config.corr_max_neurons, config.corr_sample_seed)
    return PopulationStatistics(
        rate=rate, cv=cv, lv=lv, fano=fano, active=active, corr_neurons=sample,
        corr=_sample_correlations(path, name, sample, t0, t1, config, chunk_spikes),
        pop_rate=pop_rate)


def _sample_correlations(path: str | Path, name: str, sample: np.ndarray, t0: float,
                         t1: float, config: StatisticsConfig, chunk_spikes: int) -> np.ndarray:
    """Pairwise correlations of the sampled neurons (second pass over the file)."""
    corr_bins = n_bins(t0, t1, config.corr_bin_ms)
    rows, bins = [], []
    for chunk in iter_population_chunks(path, name, chunk_spikes):
        m = chunk.indptr.size - 1
        local = sample[(sample >= chunk.first) & (sample < chunk.first + m)] - chunk.first
        if local.size == 0:
            continue
        rank = np.full(m, -1, dtype=np.int64)
        rank[local] = np.searchsorted(sample, local + chunk.first)
        neuron_ids = chunk.neuron_ids()
        keep = window_mask(chunk.times, t0, t1) & (rank[neuron_ids] >= 0)
        index = bin_indices(chunk.times[keep], t0, config.corr_bin_ms)
        inside = index < corr_bins
        rows.append(rank[neuron_ids[keep]][inside])
        bins.append(index[inside])
    rows_all = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    bins_all = np.concatenate(bins) if bins else np.zeros(0, dtype=np.int64)
    return pairwise_correlations(rows_all, bins_all, sample.size, corr_bins)
