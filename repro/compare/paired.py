"""Paired tests on run-level differences: per cell (t or sign flip), across cells (max-|t|).

The sample unit is the *pair of runs* built on the same connectivity (proven by the topology
fingerprints, see :mod:`repro.compare.pairing`): one difference of run-level means per pair
and cell. Neurons are never the unit: within a run they share the network's state.

Which per-cell test:

* an **exact sign-flip test** (all ``2**k`` sign patterns of the differences) where its
  smallest two-sided p-value, ``2 / 2**k``, can reach the level the correction needs (for
  14 cells at q = 0.05 that is k >= 10): it assumes only that differences are symmetric
  about zero under the null;
* otherwise the **paired t-test** (k - 1 degrees of freedom): with k = 5 an exact test
  cannot go below p = 1/16, while run-level means average hundreds of neurons and are close
  to normal; its false-alarm rate on noise-only pairs is measured in
  ``benchmarks/results/soundness.md``.

Across cells, :func:`max_t_test` is a single-step max-|t| test (Westfall & Young): its null
comes from resampling whole rows of the difference matrix, which keeps the correlation
between cells, so a change that moves one statistic is not lost among many cells.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

#: Largest k for which every sign pattern is enumerated.
EXACT_SIGN_FLIP_MAX_K = 16


@dataclass(frozen=True)
class PairedResult:
    """One cell's paired test.

    Attributes
    ----------
    mean_difference, sd_difference : float
        Mean and sample sd of the paired differences (candidate - baseline).
    t : float
        Paired t statistic.
    p_value : float
        Two-sided p-value of the chosen test.
    test : str
        ``"sign-flip"`` or ``"paired-t"``.
    """

    mean_difference: float
    sd_difference: float
    t: float
    p_value: float
    test: str


def t_statistics(differences: np.ndarray) -> np.ndarray:
    """Paired t statistic of every column of a ``(k, m)`` difference matrix.

    Columns with zero variance get ``0`` when their mean is zero and ``+-inf`` otherwise.

    Examples
    --------
    >>> t_statistics(np.array([[1.0, 0.0], [3.0, 0.0]])).tolist()
    [2.0, 0.0]
    """
    d = np.atleast_2d(np.asarray(differences, dtype=np.float64))
    if d.shape[0] == 1 and np.ndim(differences) == 1:
        d = d.T
    k = d.shape[0]
    mean = d.mean(axis=0)
    sd = d.std(axis=0, ddof=1) if k > 1 else np.full(d.shape[1], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = mean / (sd / math.sqrt(k))
    t[(sd == 0) & (mean == 0)] = 0.0
    return t


def sign_flip_p(differences: np.ndarray) -> tuple[float, float]:
    """Exact two-sided sign-flip p-value of the mean of paired differences.

    Parameters
    ----------
    differences : numpy.ndarray
        One difference per pair (k <= ``EXACT_SIGN_FLIP_MAX_K``).

    Returns
    -------
    p, min_p : float
        The p-value and the smallest p-value the test can give (``2 / 2**k``).

    Examples
    --------
    >>> sign_flip_p(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    (0.0625, 0.0625)
    """
    d = np.asarray(differences, dtype=np.float64)
    k = d.size
    if k > EXACT_SIGN_FLIP_MAX_K:
        raise ValueError(f"exact sign flips enumerate 2**k patterns; k = {k} is too many")
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=k)))
    null = np.abs(signs @ d)
    observed = abs(d.sum())
    p = float(np.mean(null >= observed - 1e-12 * max(1.0, observed)))
    return p, 2.0 / 2**k


def paired_test(differences: np.ndarray, needed_p: float) -> PairedResult:
    """Test one cell's paired differences: exact sign flips where they can reach ``needed_p``.

    Parameters
    ----------
    differences : numpy.ndarray
        Candidate - baseline run-level means, one per pair (NaN pairs are left out).
    needed_p : float
        The p-value the multiple-testing correction needs (e.g. ``q / n_cells``); the exact
        test is used when ``2 / 2**k <= needed_p``, the paired t-test otherwise.

    Examples
    --------
    >>> r = paired_test(np.array([3.1, 2.0, 4.2, 2.9, 3.5]), needed_p=0.05 / 14)
    >>> r.test, round(r.t, 1), r.p_value < 0.001
    ('paired-t', 8.7, True)
    """
    from scipy.stats import t as t_distribution

    d = np.asarray(differences, dtype=np.float64)
    d = d[np.isfinite(d)]  # a pair without data (no active neuron) is left out
    k = d.size
    mean = float(d.mean()) if k else math.nan
    sd = float(d.std(ddof=1)) if k > 1 else math.nan
    t = float(t_statistics(d[:, None])[0]) if k > 1 else math.nan
    if k < 2:
        return PairedResult(mean, sd, t, math.nan, "none")
    if k <= EXACT_SIGN_FLIP_MAX_K and 2.0 / 2**k <= needed_p:
        return PairedResult(mean, sd, t, sign_flip_p(d)[0], "sign-flip")
    if not math.isfinite(t):
        p = 0.0 if mean != 0 else 1.0
    else:
        p = float(2 * t_distribution.sf(abs(t), df=k - 1))
    return PairedResult(mean, sd, t, p, "paired-t")


@dataclass(frozen=True)
class MaxTResult:
    """The max-|t| test across cells.

    Attributes
    ----------
    p_value : float
        Global p-value: probability under the null of a max |t| at least the observed one.
    adjusted : numpy.ndarray
        Per-cell single-step adjusted p-values (family-wise error controlled), NaN where a
        cell was left out (no data or no variance).
    max_t : float
        The observed max |t|.
    method : str
        How the null was drawn.
    """

    p_value: float
    adjusted: np.ndarray
    max_t: float
    method: str


def max_t_test(differences: np.ndarray, n_draws: int = 4999, seed: int = 20261203,
               exact_min_k: int = 10) -> MaxTResult:
    """Single-step max-|t| test over the cells of a ``(k, m)`` paired-difference matrix.

    The null keeps the rows (pairs) whole, so the correlation between cells is respected:
    with ``k >= exact_min_k`` every sign pattern of the rows is enumerated (a permutation
    test, exact under symmetric differences; up to ``EXACT_SIGN_FLIP_MAX_K``, sampled
    beyond), otherwise (with ``k = 5`` the 32 sign patterns cannot give a p-value below
    1/16) a parametric null: ``k`` normal rows with the correlation estimated from the
    standardised pairs, each draw studentised with its own sd, so every cell's null is
    exactly Student's t with ``k - 1`` degrees of freedom and the cells keep their
    correlation. (Gaussian multipliers on the centred pairs, the wild bootstrap, were tried
    first: at k = 5 they rejected 28 % of noise-only comparisons at a nominal 5 %.)

    Parameters
    ----------
    differences : numpy.ndarray
        ``(k, m)``: pairs x cells. Columns with NaN or zero variance are left out.
    n_draws : int
        Multiplier draws (or sampled sign patterns) when not enumerating.
    seed : int
        Seed of the draws.
    exact_min_k : int
        Smallest k for which sign flips are used.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> d = rng.normal(size=(10, 4)); d[:, 2] += 3.0
    >>> r = max_t_test(d)
    >>> r.p_value < 0.01, int(np.nanargmin(r.adjusted)), r.method
    (True, 2, 'sign flips of pairs (exact, 1024 patterns)')
    """
    d = np.asarray(differences, dtype=np.float64)
    k, m = d.shape
    adjusted = np.full(m, np.nan)
    sd = d.std(axis=0, ddof=1) if k > 1 else np.zeros(m)
    usable = np.all(np.isfinite(d), axis=0) & (sd > 0)
    if k < 2 or not usable.any():
        return MaxTResult(math.nan, adjusted, math.nan, "not enough pairs")
    x = d[:, usable]
    observed = np.abs(t_statistics(x))
    rng = np.random.default_rng(seed)
    if k >= exact_min_k:
        if k <= EXACT_SIGN_FLIP_MAX_K:
            signs = np.array(list(itertools.product((1.0, -1.0), repeat=k)))
            method = f"sign flips of pairs (exact, {signs.shape[0]} patterns)"
        else:
            signs = rng.choice((1.0, -1.0), size=(n_draws, k))
            method = f"sign flips of pairs ({n_draws} random patterns)"
        samples = signs[:, :, None] * x[None, :, :]
    else:
        centred = x - x.mean(axis=0)
        standard = centred / centred.std(axis=0, ddof=1)
        weights = rng.standard_normal((n_draws, k, k)) / math.sqrt(k - 1)
        samples = weights @ standard  # rows ~ N(0, correlation of the cells), k per draw
        method = (f"normal samples with the cells' estimated correlation ({n_draws} draws; "
                  f"k = {k} too few for sign flips)")
    mean = samples.mean(axis=1)
    spread = samples.std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        null_t = np.abs(mean / (spread / math.sqrt(k)))
    null_max = np.nanmax(np.nan_to_num(null_t, nan=0.0), axis=1)
    exceed = (null_max[:, None] >= observed[None, :] - 1e-12).mean(axis=0)
    adjusted[usable] = exceed
    max_t = float(observed.max())
    return MaxTResult(float(exceed.min()), adjusted, max_t, method)


def noise_only_sd(noise_differences: np.ndarray) -> np.ndarray:
    """Per-cell sd of noise-only differences (same connectivity, other noise seed).

    Parameters
    ----------
    noise_differences : numpy.ndarray
        ``(n, m)``: noise-only pairs x cells.

    Examples
    --------
    >>> noise_only_sd(np.array([[1.0], [-1.0], [1.0], [-1.0]])).round(3).tolist()
    [1.155]
    """
    e = np.asarray(noise_differences, dtype=np.float64)
    if e.shape[0] < 2:
        return np.full(e.shape[1], np.nan)
    return np.nanstd(e, axis=0, ddof=1)
