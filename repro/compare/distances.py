"""Distances between the statistic distributions of two runs (pure functions).

The distance between two runs for one (population, statistic) is the Wasserstein-1 distance
between their per-neuron (or per-pair, per-bin) values divided by a robust scale of the
baseline, optionally plus the two-sample Kolmogorov-Smirnov statistic D. Matrices over all runs
are computed once; scaled distances are then cheap to form for any split of the runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def wasserstein(a: np.ndarray, b: np.ndarray) -> float:
    """Wasserstein-1 distance between the empirical distributions of ``a`` and ``b``.

    Returns NaN if either sample is empty.
    """
    a, b = np.sort(np.asarray(a, dtype=np.float64)), np.sort(np.asarray(b, dtype=np.float64))
    if a.size == 0 or b.size == 0:
        return float("nan")
    grid = np.concatenate([a, b])
    grid.sort(kind="mergesort")
    steps = np.diff(grid)
    cdf_a = np.searchsorted(a, grid[:-1], side="right") / a.size
    cdf_b = np.searchsorted(b, grid[:-1], side="right") / b.size
    return float(np.sum(np.abs(cdf_a - cdf_b) * steps))


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic D (NaN if either sample is empty)."""
    a, b = np.sort(np.asarray(a, dtype=np.float64)), np.sort(np.asarray(b, dtype=np.float64))
    if a.size == 0 or b.size == 0:
        return float("nan")
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / a.size
    cdf_b = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def pairwise_matrices(samples: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Unscaled Wasserstein and KS distances between every pair of samples.

    Parameters
    ----------
    samples : sequence of numpy.ndarray
        One sample per run (NaNs already removed).

    Returns
    -------
    wasserstein, ks : numpy.ndarray
        Symmetric ``(n, n)`` matrices with zero diagonals (NaN where a sample is empty).
    """
    n = len(samples)
    w = np.zeros((n, n))
    ks = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            w[i, j] = w[j, i] = wasserstein(samples[i], samples[j])
            ks[i, j] = ks[j, i] = ks_statistic(samples[i], samples[j])
    return w, ks


def robust_scale(reference: np.ndarray) -> float:
    """Scale that makes Wasserstein distances unit-free: the interquartile range.

    Falls back to the standard deviation, then to ``|median|``, then to 1 when the reference
    has no spread (a single run's scalar, identical values).
    """
    values = np.asarray(reference, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 1.0
    q25, q75 = np.percentile(values, [25, 75])
    for candidate in (q75 - q25, values.std(), abs(float(np.median(values)))):
        if candidate > 0:
            return float(candidate)
    return 1.0


def combined_distance(w: np.ndarray, ks: np.ndarray, scale: float, add_ks: bool) -> np.ndarray:
    """Distance matrix used for R and the permutation test: ``w / scale (+ ks)``."""
    scaled = np.asarray(w) / scale
    return scaled + ks if add_ks else scaled
