"""Activity statistics of one population in one run: a vectorised path and the Elephant reference.

Every function here is pure (arrays in, arrays out; no I/O, no printing). Two implementations
compute the same :class:`PopulationStatistics`:

* :func:`population_statistics` works on the flat arrays ``(neuron_ids, times)`` sorted by
  neuron, then time (the CSR order of a spike file) with ``numpy.bincount`` and friends;
* :func:`population_statistics_elephant` loops over one ``neo.SpikeTrain`` per neuron and calls
  Elephant (``mean_firing_rate``, ``isi``, ``cv``, ``lv``, ``fanofactor``, ``BinnedSpikeTrain``,
  ``correlation_coefficient``, ``time_histogram``). It is the reference the fast path is
  property-tested against.

Conventions shared by both paths (all times in ms):

* the analysis window is ``[t_start + transient, t_stop]``, both ends included;
* binning follows Elephant's ``BinnedSpikeTrain``: bin ``floor((t - t0) * (1 / width))`` with
  values within 1e-8 below an integer moved up, spikes beyond the last complete bin dropped;
* CV, LV and Fano factor are computed for *active* neurons (at least ``min_spikes`` spikes in
  the window) and are NaN elsewhere; the excluded fraction is reported;
* pairwise correlations use a seeded sample of up to ``corr_max_neurons`` active neurons.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, fields

import numpy as np

#: Elephant's tolerance for spikes just below a bin edge (``BinnedSpikeTrain(tolerance=)``).
BIN_TOLERANCE = 1e-8
#: Milliseconds per second: spike times are in ms, rates in spikes/s.
MS_PER_S = 1000.0


@dataclass(frozen=True)
class StatisticsConfig:
    """How statistics are computed (part of the tolerance profile).

    Attributes
    ----------
    transient_ms : float
        Time discarded at the start of each run.
    min_spikes : int
        Spikes a neuron needs in the window to count as active (CV, LV, Fano, correlation).
        At least 3, since LV needs two intervals.
    fano_window_ms : float
        Window for the spike counts of the Fano factor.
    corr_bin_ms : float
        Bin width of the counts correlated pairwise.
    corr_max_neurons : int
        Largest sample of active neurons whose pairwise correlations are computed.
    corr_sample_seed : int
        Seed of the neuron sample (the same seed picks the same neurons in every run).
    pop_rate_bin_ms : float
        Bin width of the population rate histogram.
    """

    transient_ms: float = 200.0
    min_spikes: int = 10
    fano_window_ms: float = 100.0
    corr_bin_ms: float = 2.0
    corr_max_neurons: int = 200
    corr_sample_seed: int = 12345
    pop_rate_bin_ms: float = 5.0

    def __post_init__(self) -> None:
        if self.transient_ms < 0:
            raise ValueError(f"transient_ms must be >= 0, got {self.transient_ms}")
        if self.min_spikes < 3:
            raise ValueError(f"min_spikes must be >= 3 (LV needs two intervals), "
                             f"got {self.min_spikes}")
        for name in ("fano_window_ms", "corr_bin_ms", "pop_rate_bin_ms"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.corr_max_neurons < 2:
            raise ValueError(f"corr_max_neurons must be >= 2, got {self.corr_max_neurons}")

    def as_dict(self) -> dict[str, float | int]:
        """Plain dict of the settings (for records).

        >>> StatisticsConfig(transient_ms=100.0).as_dict()["transient_ms"]
        100.0
        """
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class PopulationStatistics:
    """Statistics of one population in one run.

    Attributes
    ----------
    rate : numpy.ndarray
        Firing rate of every neuron in spikes/s, shape ``(size,)``.
    cv, lv, fano : numpy.ndarray
        CV of ISIs, local variation and Fano factor per neuron, shape ``(size,)``, NaN for
        neurons that are not active.
    active : numpy.ndarray
        Boolean mask of active neurons, shape ``(size,)``.
    corr_neurons : numpy.ndarray
        Sorted indices of the sampled active neurons.
    corr : numpy.ndarray
        Pearson correlations of all sampled pairs (upper triangle, row-major).
    pop_rate : numpy.ndarray
        Population rate in spikes/s per neuron, one value per bin.
    """

    rate: np.ndarray
    cv: np.ndarray
    lv: np.ndarray
    fano: np.ndarray
    active: np.ndarray
    corr_neurons: np.ndarray
    corr: np.ndarray
    pop_rate: np.ndarray

    @property
    def excluded_fraction(self) -> float:
        """Fraction of neurons with fewer than ``min_spikes`` spikes (NaN for no neurons)."""
        return float(1.0 - self.active.mean()) if self.active.size else float("nan")


# --------------------------------------------------------------------------- shared helpers


def analysis_window(t_start_ms: float, t_stop_ms: float,
                    transient_ms: float) -> tuple[float, float]:
    """Window ``(t0_ms, t1_ms)`` analysed after the transient.

    Raises
    ------
    ValueError
        If the transient leaves nothing to analyse.

    Examples
    --------
    >>> analysis_window(0.0, 1000.0, transient_ms=200.0)
    (200.0, 1000.0)
    """
    t0_ms = float(t_start_ms) + float(transient_ms)
    if not t0_ms < t_stop_ms:
        raise ValueError(f"transient_ms={transient_ms} leaves nothing of the recording "
                         f"[{t_start_ms}, {t_stop_ms}] ms to analyse")
    return t0_ms, float(t_stop_ms)


def n_bins(t0_ms: float, t1_ms: float, width_ms: float) -> int:
    """Number of complete bins of ``width_ms`` in ``[t0_ms, t1_ms]`` (Elephant's rounding rule).

    A window that is a whole number of bins up to floating-point error counts that bin:

    >>> n_bins(200.0, 1000.0, 100.0), n_bins(0.0, 0.3, 0.1), n_bins(0.0, 250.0, 100.0)
    (8, 3, 2)
    """
    value = (t1_ms - t0_ms) / width_ms
    if value % 1 >= 1 - BIN_TOLERANCE:
        value += 0.5
    return int(value)


def bin_indices(times_ms: np.ndarray, t0_ms: float, width_ms: float) -> np.ndarray:
    """Bin index of each time, Elephant's rule (``times_ms`` must be ``>= t0_ms``).

    >>> bin_indices(np.array([200.0, 249.9, 250.0, 299.99999999999]), 200.0, 50.0)
    array([0, 0, 1, 2])
    """
    scaled = (np.asarray(times_ms, dtype=np.float64) - t0_ms) * (1.0 / width_ms)
    scaled[scaled % 1 >= 1 - BIN_TOLERANCE] += 0.5
    return scaled.astype(np.int64)


def correlation_sample(active: np.ndarray, max_neurons: int, seed: int) -> np.ndarray:
    """Sorted indices of up to ``max_neurons`` active neurons drawn with ``seed``.

    Parameters
    ----------
    active : numpy.ndarray
        Boolean mask of active neurons.
    max_neurons : int
        Sample size limit; all active neurons are taken when there are fewer.
    seed : int
        Seed of ``numpy.random.default_rng``.

    Examples
    --------
    >>> active = np.array([True, False, True, True, True])
    >>> correlation_sample(active, max_neurons=10, seed=1)
    array([0, 2, 3, 4])
    >>> sample = correlation_sample(active, max_neurons=2, seed=1)
    >>> len(sample), bool(active[sample].all())
    (2, True)
    """
    candidates = np.flatnonzero(active)
    if candidates.size <= max_neurons:
        return candidates
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(candidates, size=max_neurons, replace=False))


def upper_triangle(matrix: np.ndarray) -> np.ndarray:
    """Entries above the diagonal of a square matrix, row-major.

    >>> upper_triangle(np.arange(9).reshape(3, 3))
    array([1, 2, 5])
    """
    rows, cols = np.triu_indices(matrix.shape[0], k=1)
    return np.asarray(matrix)[rows, cols]


# --------------------------------------------------------------------------- fast path


def check_flat_sorted(neuron_ids: np.ndarray, times: np.ndarray, size: int) -> None:
    """Check that flat arrays are sorted by neuron, then time, with ids in ``[0, size)``.

    Raises
    ------
    ValueError
        If lengths differ, an id is out of range or the order is wrong.

    Examples
    --------
    >>> check_flat_sorted(np.array([0, 0, 2]), np.array([5.0, 7.0, 1.0]), size=3)
    >>> check_flat_sorted(np.array([0, 0]), np.array([7.0, 5.0]), size=1)
    Traceback (most recent call last):
    ...
    ValueError: neuron_ids and times must be sorted by neuron, then time
    """
    if neuron_ids.shape != times.shape or neuron_ids.ndim != 1:
        raise ValueError("neuron_ids and times must be 1-d arrays of the same length")
    if neuron_ids.size == 0:
        return
    if neuron_ids[0] < 0 or neuron_ids[-1] >= size:
        raise ValueError(f"neuron_ids must lie in [0, {size})")
    step = np.diff(neuron_ids)
    if np.any(step < 0) or np.any((step == 0) & (np.diff(times) < 0)):
        raise ValueError("neuron_ids and times must be sorted by neuron, then time")


def window_mask(times_ms: np.ndarray, t0_ms: float, t1_ms: float) -> np.ndarray:
    """Boolean mask of times inside ``[t0_ms, t1_ms]`` (both ends included).

    >>> window_mask(np.array([100.0, 200.0, 500.0, 1000.0, 1000.5]), 200.0, 1000.0)
    array([False,  True,  True,  True, False])
    """
    return (times_ms >= t0_ms) & (times_ms <= t1_ms)


def firing_rates(neuron_ids: np.ndarray, size: int, t0_ms: float, t1_ms: float) -> np.ndarray:
    """Rate of every neuron in spikes/s from the ids of the spikes inside ``[t0_ms, t1_ms]``.

    Three spikes of neuron 0 and one of neuron 2 in half a second; neuron 1 is silent:

    >>> firing_rates(np.array([0, 0, 0, 2]), size=3, t0_ms=0.0, t1_ms=500.0)
    array([6., 0., 2.])
    """
    counts = np.bincount(neuron_ids, minlength=size)[:size]
    return counts / (t1_ms - t0_ms) * MS_PER_S


def isi_variability(neuron_ids: np.ndarray, times_ms: np.ndarray, size: int,
                    active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CV of ISIs and LV of every active neuron (NaN elsewhere).

    Parameters
    ----------
    neuron_ids, times_ms : numpy.ndarray
        Flat spikes inside the window, sorted by neuron, then time.
    size : int
        Number of neurons.
    active : numpy.ndarray
        Boolean mask of neurons to evaluate (each with at least 3 spikes).

    Returns
    -------
    cv, lv : numpy.ndarray
        Shape ``(size,)``; CV is std/mean of ISIs (``ddof=0``), LV is
        ``3 mean(((I[i+1] - I[i]) / (I[i+1] + I[i]))**2)``.

    Examples
    --------
    A regular neuron (CV = LV = 0) and one with intervals 10, 30, 10 ms:

    >>> ids = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> times_ms = np.array([0.0, 10.0, 20.0, 30.0, 0.0, 10.0, 40.0, 50.0])
    >>> cv, lv = isi_variability(ids, times_ms, 2, np.array([True, True]))
    >>> cv.round(4), lv.round(4)
    (array([0.    , 0.5657]), array([0.  , 0.75]))
    """
    same = neuron_ids[1:] == neuron_ids[:-1]
    intervals = np.diff(times_ms)[same]
    owner = neuron_ids[1:][same]
    n_isi = np.bincount(owner, minlength=size).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.bincount(owner, weights=intervals, minlength=size) / n_isi
        deviation = intervals - mean[owner]
        std = np.sqrt(np.bincount(owner, weights=deviation * deviation, minlength=size) / n_isi)
        cv = std / mean
        pair = owner[1:] == owner[:-1]
        first, second = intervals[:-1][pair], intervals[1:][pair]
        local = ((second - first) / (second + first)) ** 2
        lv = 3.0 * np.bincount(owner[1:][pair], weights=local, minlength=size) / (n_isi - 1)
    return np.where(active, cv, np.nan), np.where(active, lv, np.nan)


def window_counts(neuron_ids: np.ndarray, times_ms: np.ndarray, size: int, t0_ms: float,
                  t1_ms: float, width_ms: float) -> np.ndarray:
    """Spike counts per neuron and bin, shape ``(size, n_bins)`` (spikes inside the window).

    >>> window_counts(np.array([0, 0, 1]), np.array([5.0, 15.0, 12.0]), 2, 0.0, 20.0, 10.0)
    array([[1, 1],
           [0, 1]])
    """
    bins = n_bins(t0_ms, t1_ms, width_ms)
    index = bin_indices(times_ms, t0_ms, width_ms)
    keep = index < bins
    flat = neuron_ids[keep] * bins + index[keep]
    return np.bincount(flat, minlength=size * bins)[: size * bins].reshape(size, bins)


def fano_factors(counts: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Fano factor (variance / mean of window counts) of each active neuron, NaN elsewhere.

    >>> fano_factors(np.array([[2, 2, 2, 2], [0, 4, 0, 4], [1, 0, 0, 0]]),
    ...              np.array([True, True, False]))
    array([ 0.,  2., nan])
    """
    if counts.shape[1] == 0:
        return np.full(counts.shape[0], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        fano = counts.var(axis=1) / counts.mean(axis=1)
    return np.where(active, fano, np.nan)


def pairwise_correlations(rows: np.ndarray, bins: np.ndarray, n_rows: int,
                          n_cols: int) -> np.ndarray:
    """Pearson correlations between the rows of a sparse count matrix, upper triangle.

    Parameters
    ----------
    rows, bins : numpy.ndarray
        Row (sampled neuron) and bin index of every spike; repeated pairs add up.
    n_rows, n_cols : int
        Shape of the count matrix.

    Notes
    -----
    Uses ``cov = C C^T - n n^T / n_bins`` on the sparse matrix, so the cost grows with the
    number of spikes rather than with neurons x bins.

    Examples
    --------
    Neurons 0 and 1 fire in the same bins, neuron 2 in the others (4 bins):

    >>> rows = np.array([0, 0, 1, 1, 2, 2])
    >>> bins = np.array([0, 2, 0, 2, 1, 3])
    >>> pairwise_correlations(rows, bins, n_rows=3, n_cols=4)
    array([ 1., -1., -1.])
    """
    if n_rows < 2:
        return np.zeros(0)
    from scipy.sparse import csr_matrix

    matrix = csr_matrix((np.ones(rows.size), (rows, bins)), shape=(n_rows, n_cols))
    totals = np.asarray(matrix.sum(axis=1)).ravel()
    cov = (matrix @ matrix.T).toarray() - np.outer(totals, totals) / n_cols
    std = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        return upper_triangle(cov / np.outer(std, std))


def population_rate(times_ms: np.ndarray, size: int, t0_ms: float, t1_ms: float,
                    width_ms: float) -> np.ndarray:
    """Population rate in spikes/s per neuron for each bin of ``width_ms`` in the window.

    Two neurons, 10 ms bins: one spike in the first bin is 50 spikes/s per neuron.

    >>> population_rate(np.array([3.0, 12.0, 15.0]), 2, 0.0, 20.0, 10.0)
    array([ 50., 100.])
    """
    bins = n_bins(t0_ms, t1_ms, width_ms)
    index = bin_indices(times_ms, t0_ms, width_ms)
    counts = np.bincount(index[index < bins], minlength=bins)[:bins]
    if size == 0:
        return np.full(bins, np.nan)
    return counts / (size * width_ms) * MS_PER_S


def population_statistics_flat(neuron_ids: np.ndarray, times_ms: np.ndarray, size: int,
                               t_start_ms: float, t_stop_ms: float,
                               config: StatisticsConfig) -> PopulationStatistics:
    """All statistics of one population from flat arrays (the vectorised path).

    Parameters
    ----------
    neuron_ids, times_ms : numpy.ndarray
        Neuron index (int) and time (ms) of every spike, sorted by neuron, then time.
    size : int
        Number of neurons (silent ones included).
    t_start_ms, t_stop_ms : float
        Recording window.
    config : StatisticsConfig
        Settings.

    Returns
    -------
    PopulationStatistics

    Raises
    ------
    ValueError
        If the arrays are not sorted flat arrays of ``size`` neurons or the transient is too
        long.

    Examples
    --------
    Two neurons firing regularly for a second, at 20 and 50 spikes/s:

    >>> times_ms = np.concatenate([np.arange(0.0, 1000.0, 50.0), np.arange(0.0, 1000.0, 20.0)])
    >>> ids = np.repeat([0, 1], [20, 50])
    >>> stats = population_statistics_flat(ids, times_ms, 2, 0.0, 1000.0,
    ...                                    StatisticsConfig(transient_ms=200.0))
    >>> stats.rate, stats.cv, stats.active
    (array([20., 50.]), array([0., 0.]), array([ True,  True]))
    """
    neuron_ids = np.asarray(neuron_ids, dtype=np.int64)
    times_ms = np.asarray(times_ms, dtype=np.float64)
    check_flat_sorted(neuron_ids, times_ms, size)
    t0, t1 = analysis_window(t_start_ms, t_stop_ms, config.transient_ms)
    keep = window_mask(times_ms, t0, t1)
    ids, ts = neuron_ids[keep], times_ms[keep]
    rate = firing_rates(ids, size, t0, t1)
    active = np.bincount(ids, minlength=size)[:size] >= config.min_spikes
    cv, lv = isi_variability(ids, ts, size, active)
    fano = fano_factors(window_counts(ids, ts, size, t0, t1, config.fano_window_ms), active)
    sample = correlation_sample(active, config.corr_max_neurons, config.corr_sample_seed)
    rank = np.full(size, -1, dtype=np.int64)
    rank[sample] = np.arange(sample.size)
    in_sample = rank[ids] >= 0
    corr_bins = n_bins(t0, t1, config.corr_bin_ms)
    index = bin_indices(ts[in_sample], t0, config.corr_bin_ms)
    keep = index < corr_bins
    corr = pairwise_correlations(rank[ids][in_sample][keep], index[keep], sample.size,
                                 corr_bins)
    return PopulationStatistics(
        rate=rate, cv=cv, lv=lv, fano=fano, active=active, corr_neurons=sample, corr=corr,
        pop_rate=population_rate(ts, size, t0, t1, config.pop_rate_bin_ms))


def population_statistics(pop, config: StatisticsConfig) -> PopulationStatistics:
    """All statistics of a :class:`repro.site.spikefile.PopulationSpikes` (vectorised path).

    >>> from repro.site.spikefile import PopulationSpikes
    >>> trains = [np.arange(0.0, 1000.0, 50.0), np.array([300.0, 310.0, 700.0])]
    >>> pop = PopulationSpikes.from_trains("exc", trains, celltype="IF_curr_exp",
    ...                                    t_start=0.0, t_stop=1000.0)
    >>> stats = population_statistics(pop, StatisticsConfig(transient_ms=200.0, min_spikes=3))
    >>> stats.rate, stats.excluded_fraction
    (array([20.  ,  3.75]), 0.0)
    """
    return population_statistics_flat(pop.neuron_ids(), pop.times, pop.size, pop.t_start,
                                      pop.t_stop, config)


# --------------------------------------------------------------------------- Elephant reference


def population_statistics_elephant(pop, config: StatisticsConfig) -> PopulationStatistics:
    """All statistics of a population with Elephant, one ``neo.SpikeTrain`` per neuron.

    The reference implementation: slow (a Python loop over neurons) but written with
    Elephant's own functions so the vectorised path can be tested against it.

    Parameters
    ----------
    pop : repro.site.spikefile.PopulationSpikes
        Spikes of one population.
    config : StatisticsConfig
        Settings.

    Returns
    -------
    PopulationStatistics

    Examples
    --------
    >>> from repro.site.spikefile import PopulationSpikes
    >>> trains = [np.arange(0.0, 1000.0, 50.0), np.array([300.0, 310.0, 700.0])]
    >>> pop = PopulationSpikes.from_trains("exc", trains, celltype="IF_curr_exp",
    ...                                    t_start=0.0, t_stop=1000.0)
    >>> config = StatisticsConfig(transient_ms=200.0, min_spikes=3)
    >>> population_statistics_elephant(pop, config).rate
    array([20.  ,  3.75])
    """
    import neo
    import quantities as pq
    from elephant.conversion import BinnedSpikeTrain
    from elephant.spike_train_correlation import correlation_coefficient
    from elephant.statistics import cv, fanofactor, isi, lv, mean_firing_rate, time_histogram

    t0, t1 = analysis_window(pop.t_start, pop.t_stop, config.transient_ms)
    trains = []
    for i in range(pop.size):
        times = pop.train(i)
        trains.append(neo.SpikeTrain(times[window_mask(times, t0, t1)] * pq.ms,
                                     t_start=t0 * pq.ms, t_stop=t1 * pq.ms))
    nan = np.full(pop.size, np.nan)
    rate = np.array([float(mean_firing_rate(st).rescale(pq.Hz).magnitude) for st in trains])
    active = np.array([len(st) >= config.min_spikes for st in trains], dtype=bool)
    cvs, lvs, fanos = nan.copy(), nan.copy(), nan.copy()
    window = config.fano_window_ms * pq.ms
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        for i in np.flatnonzero(active):
            intervals = isi(trains[i]).magnitude
            cvs[i] = float(cv(intervals))
            lvs[i] = float(lv(intervals))
            if n_bins(t0, t1, config.fano_window_ms) > 0:
                counts = BinnedSpikeTrain(trains[i], bin_size=window).to_array()[0]
                spikes = trains[i].magnitude[: counts.sum()]
                fanos[i] = float(fanofactor(np.split(spikes, np.cumsum(counts)[:-1])))
        sample = correlation_sample(active, config.corr_max_neurons, config.corr_sample_seed)
        corr = np.zeros(0)
        if sample.size >= 2:
            binned = BinnedSpikeTrain([trains[i] for i in sample],
                                      bin_size=config.corr_bin_ms * pq.ms)
            corr = upper_triangle(correlation_coefficient(binned))
        if pop.size and n_bins(t0, t1, config.pop_rate_bin_ms) > 0:
            histogram = time_histogram(trains, bin_size=config.pop_rate_bin_ms * pq.ms,
                                       output="rate")
            pop_rate = histogram.rescale(pq.Hz).magnitude.ravel()
        else:
            pop_rate = population_rate(np.zeros(0), pop.size, t0, t1, config.pop_rate_bin_ms)
    return PopulationStatistics(rate=rate, cv=cvs, lv=lvs, fano=fanos, active=active,
                                corr_neurons=sample, corr=corr, pop_rate=pop_rate)
