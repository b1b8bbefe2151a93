"""Seed-aware verdicts: is a candidate run set the same as a baseline within tolerance?

For every (population, statistic) cell the runs' distance matrix gives the ratio
``R = median(between) / median(within)``; a permutation test over the run labels (the seed is
the unit of replication) gives a p-value, Benjamini-Hochberg-corrected across cells; an
equivalence margin bounds the difference of run-level means. The rule
(``docs/comparison-method.md``):

* **pass** if ``R <= R*(k)`` and the margin holds;
* **fail** if significant and (``R > R*(k)`` or the margin is exceeded);
* **warn** otherwise.

With one run on a side no seed baseline exists: margins alone decide and the verdict is
marked low confidence. Where an exact permutation test cannot reach ``q`` (k = 3 per side),
Welch's t-test on run-level means replaces it and the verdict says so.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from repro.compare.distances import combined_distance, robust_scale
from repro.compare.outcomes import Verdict
from repro.compare.profiles import Margin, VerdictSettings


@dataclass(frozen=True)
class CellResult:
    """Everything measured for one (population, statistic) cell before BH correction."""

    r: float
    r_threshold: float
    r_ks: float
    median_between: float
    median_within: float
    p_value: float
    test: str
    min_p: float
    baseline_mean: float
    candidate_mean: float
    difference: float
    standard_error: float
    margin: float
    margin_ok: bool
    scale: float
    has_data: bool
    low_confidence: bool


def split_sums(distance: np.ndarray, members: np.ndarray) -> np.ndarray:
    """``mean(between) - mean(within)`` for each row of a boolean membership matrix.

    Parameters
    ----------
    distance : numpy.ndarray
        Symmetric ``(n, n)`` distance matrix with zero diagonal.
    members : numpy.ndarray
        ``(P, n)`` boolean; True marks runs labelled "baseline" in that split.
    """
    m = members.astype(np.float64)
    k_a = m.sum(axis=1)
    k_b = distance.shape[0] - k_a
    md = m @ distance
    s_aa = np.einsum("pi,pi->p", md, m)          # ordered pairs inside A
    s_ab = np.einsum("pi,pi->p", md, 1.0 - m)    # pairs A x B
    s_bb = distance.sum() - 2.0 * s_ab - s_aa
    n_within = k_a * (k_a - 1) / 2 + k_b * (k_b - 1) / 2
    within = (s_aa + s_bb) / 2.0 / n_within
    between = s_ab / (k_a * k_b)
    return between - within


def permutation_p(distance: np.ndarray, n_baseline: int, settings: VerdictSettings
                  ) -> tuple[float, float]:
    """Permutation p-value of ``mean(between) - mean(within)`` over run labels.

    The first ``n_baseline`` rows of ``distance`` are the baseline runs. Label splits are
    enumerated exactly when there are at most ``settings.exact_permutations_max`` of them,
    otherwise ``settings.random_permutations`` are drawn with ``settings.permutation_seed``.

    Returns
    -------
    p, min_p : float
        The p-value and the smallest p-value the test could produce.
    """
    n = distance.shape[0]
    n_splits = math.comb(n, n_baseline)
    observed = np.zeros((1, n), dtype=bool)
    observed[0, :n_baseline] = True
    t_obs = split_sums(distance, observed)[0]
    if n_splits <= settings.exact_permutations_max:
        members = np.zeros((n_splits, n), dtype=bool)
        for row, chosen in enumerate(itertools.combinations(range(n), n_baseline)):
            members[row, list(chosen)] = True
        stats = split_sums(distance, members)
        symmetric = 2 if 2 * n_baseline == n else 1
        p = float(np.mean(stats >= t_obs - 1e-12 * max(1.0, abs(t_obs))))
        return p, symmetric / n_splits
    rng = np.random.default_rng(settings.permutation_seed)
    chosen = np.argsort(rng.random((settings.random_permutations, n)), axis=1)[:, :n_baseline]
    members = np.zeros((settings.random_permutations, n), dtype=bool)
    np.put_along_axis(members, chosen, True, axis=1)
    stats = split_sums(distance, members)
    exceed = int(np.sum(stats >= t_obs - 1e-12 * max(1.0, abs(t_obs))))
    return (1 + exceed) / (1 + settings.random_permutations), 1 / (1 + settings.random_permutations)


def welch_p(baseline: np.ndarray, candidate: np.ndarray) -> float:
    """Two-sided Welch t-test p-value on run-level means (NaN if undefined)."""
    from scipy.stats import ttest_ind

    if baseline.size < 2 or candidate.size < 2:
        return float("nan")
    if np.var(baseline) == 0 and np.var(candidate) == 0:
        return 0.0 if baseline.mean() != candidate.mean() else 1.0
    return float(ttest_ind(baseline, candidate, equal_var=False).pvalue)


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN stays NaN and does not count as a test)."""
    p = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    if finite.size == 0:
        return adjusted
    order = finite[np.argsort(p[finite], kind="mergesort")]
    m = order.size
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return adjusted


def standard_error(baseline: np.ndarray, candidate: np.ndarray) -> float:
    """SE of the difference of the two sides' means of run-level values.

    A side with a single run borrows the other side's seed-to-seed variance; with one run
    on each side the SE is NaN.
    """
    var_a = np.var(baseline, ddof=1) if baseline.size > 1 else np.nan
    var_b = np.var(candidate, ddof=1) if candidate.size > 1 else np.nan
    if np.isnan(var_a):
        var_a = var_b
    if np.isnan(var_b):
        var_b = var_a
    return float(np.sqrt(var_a / baseline.size + var_b / candidate.size))


def ratio(between: np.ndarray, within: np.ndarray) -> tuple[float, float, float]:
    """``(R, median between, median within)``; R is 1 when both medians are 0."""
    mb, mw = float(np.median(between)), float(np.median(within))
    if mw == 0:
        return (1.0 if mb == 0 else math.inf), mb, mw
    return mb / mw, mb, mw


def pair_masks(n: int, n_baseline: int) -> tuple[np.ndarray, np.ndarray]:
    """Upper-triangle masks of between-side and within-side run pairs (baseline first)."""
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    side = np.arange(n) < n_baseline
    return upper & (side[:, None] != side[None, :]), upper & (side[:, None] == side[None, :])


def null_ratio(w: np.ndarray, ks: np.ndarray, reference: np.ndarray, n_baseline: int,
               settings: VerdictSettings, scalar: bool) -> float:
    """R of one cell exactly as :func:`evaluate_cell` computes it (for calibration)."""
    distance = combined_distance(w, ks, robust_scale(reference),
                                 settings.add_ks and not scalar)
    cross, inside = pair_masks(w.shape[0], n_baseline)
    return ratio(distance[cross], distance[inside])[0]


def evaluate_cell(w: np.ndarray, ks: np.ndarray, run_means: np.ndarray, reference: np.ndarray,
                  n_baseline: int, margin: Margin, settings: VerdictSettings,
                  scalar: bool, n_cells: int = 1) -> CellResult:
    """Measure one cell: R, p-value, margin.

    Parameters
    ----------
    w, ks : numpy.ndarray
        Unscaled Wasserstein and KS matrices over all runs, baseline runs first.
    run_means : numpy.ndarray
        Run-level mean of the statistic, same run order.
    reference : numpy.ndarray
        Pooled baseline values the Wasserstein scale is taken from.
    n_baseline : int
        Number of baseline runs (the first rows).
    margin : Margin
        Equivalence margin of this statistic.
    settings : VerdictSettings
        Thresholds.
    scalar : bool
        The statistic has one value per run: no KS term in the distance, and the R threshold
        for scalar statistics applies.
    n_cells : int
        Number of cells corrected together (Benjamini-Hochberg). With
        ``settings.welch_below_bh_resolution`` Welch's test replaces a permutation test whose
        smallest p-value exceeds ``q / n_cells``, not only ``q``.
    """
    n = w.shape[0]
    k_a, k_b = n_baseline, n - n_baseline
    base, cand = run_means[:n_baseline], run_means[n_baseline:]
    has_data = bool(np.all(np.isfinite(w)) and np.all(np.isfinite(run_means)))
    scale = robust_scale(reference)
    se = standard_error(base, cand)
    diff = float(np.mean(cand) - np.mean(base))
    width = margin.width(float(np.mean(base)), se)
    nan = float("nan")
    result = dict(r=nan, r_threshold=nan, r_ks=nan, median_between=nan, median_within=nan,
                  p_value=nan, test="none", min_p=nan, baseline_mean=float(np.mean(base)),
                  candidate_mean=float(np.mean(cand)), difference=diff, standard_error=se,
                  margin=width, margin_ok=bool(abs(diff) <= width), scale=scale,
                  has_data=has_data, low_confidence=min(k_a, k_b) < 2)
    if not has_data or min(k_a, k_b) < 2:
        return CellResult(**result)
    distance = combined_distance(w, ks, scale, settings.add_ks and not scalar)
    cross, inside = pair_masks(n, n_baseline)
    result["r"], result["median_between"], result["median_within"] = ratio(
        distance[cross], distance[inside])
    result["r_ks"] = nan if scalar else ratio(ks[cross], ks[inside])[0]
    result["r_threshold"] = settings.r_threshold(min(k_a, k_b), scalar=scalar)
    p, min_p = permutation_p(distance, n_baseline, settings)
    floor = settings.fdr_q / n_cells if settings.welch_below_bh_resolution else settings.fdr_q
    if min_p > floor:
        result["p_value"], result["test"], result["min_p"] = welch_p(base, cand), "welch", nan
    else:
        result["p_value"], result["test"], result["min_p"] = p, "permutation", min_p
    return CellResult(**result)


def cell_verdict(cell: CellResult, significant: bool) -> Verdict:
    """Apply the verdict rule to one measured cell."""
    if not cell.has_data:
        return Verdict.WARN
    if cell.low_confidence:  # one run on a side: margins alone
        return Verdict.PASS if cell.margin_ok else Verdict.FAIL
    r_ok = cell.r <= cell.r_threshold
    if r_ok and cell.margin_ok:
        return Verdict.PASS
    if significant and (not r_ok or not cell.margin_ok):
        return Verdict.FAIL
    return Verdict.WARN


def overall_verdict(verdicts: Sequence[str]) -> Verdict:
    """The worst cell verdict (warn when there is none)."""
    return Verdict.worst(verdicts)
