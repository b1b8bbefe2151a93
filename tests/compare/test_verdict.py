"""The verdict rule: R thresholds, permutation and Welch tests, BH, margins, cell verdicts."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import false_discovery_control

from repro.compare.outcomes import Verdict
from repro.compare.profiles import Margin, VerdictSettings
from repro.compare.verdict import (
    CellResult,
    benjamini_hochberg,
    cell_verdict,
    evaluate_cell,
    overall_verdict,
    permutation_p,
    standard_error,
)

SETTINGS = VerdictSettings()


def clustered_distances(k: int, gap: float, rng) -> np.ndarray:
    """Distances between 2k runs; the last k are shifted by ``gap``."""
    points = np.concatenate([rng.normal(0, 1, k), rng.normal(gap, 1, k)])
    return np.abs(points[:, None] - points[None, :])


def test_r_threshold_matches_the_table_and_falls_with_k():
    assert SETTINGS.r_threshold(3) == pytest.approx(2.3)
    assert SETTINGS.r_threshold(5) == pytest.approx(1.75)
    assert SETTINGS.r_threshold(10) == pytest.approx(1.35)
    values = [SETTINGS.r_threshold(k) for k in range(2, 30)]
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))
    assert SETTINGS.r_threshold(2) > 2.3          # extrapolated below the table
    assert SETTINGS.r_threshold(40) == pytest.approx(1.35)  # clamped above it
    assert 1.35 < SETTINGS.r_threshold(7) < 1.75


def test_r_threshold_needs_two_seeds():
    with pytest.raises(ValueError, match="k >= 2"):
        SETTINGS.r_threshold(1)


def test_exact_permutation_p_of_a_perfect_separation_is_the_smallest_possible():
    distance = clustered_distances(5, 50.0, np.random.default_rng(0))
    p, min_p = permutation_p(distance, 5, SETTINGS)
    assert min_p == pytest.approx(2 / math.comb(10, 5))
    assert p == pytest.approx(min_p)


def test_permutation_p_is_large_without_a_difference():
    distance = clustered_distances(5, 0.0, np.random.default_rng(3))
    p, _ = permutation_p(distance, 5, SETTINGS)
    assert p > 0.1


def test_sampled_permutations_when_there_are_too_many_splits():
    settings = replace(SETTINGS, exact_permutations_max=10, random_permutations=999)
    distance = clustered_distances(6, 50.0, np.random.default_rng(0))
    p, min_p = permutation_p(distance, 6, settings)
    assert min_p == pytest.approx(1 / 1000)
    assert p < 0.01


def test_benjamini_hochberg_equals_scipy_and_skips_nan():
    rng = np.random.default_rng(4)
    p = rng.uniform(0, 0.2, 14)
    np.testing.assert_allclose(benjamini_hochberg(p), false_discovery_control(p, method="bh"))
    with_nan = np.concatenate([p, [np.nan]])
    adjusted = benjamini_hochberg(with_nan)
    assert np.isnan(adjusted[-1])
    np.testing.assert_allclose(adjusted[:-1], false_discovery_control(p, method="bh"))


def test_margin_is_the_largest_of_relative_absolute_and_standard_error():
    margin = Margin(relative=0.1, absolute=0.2, se_factor=2.5)
    assert margin.width(10.0, 0.1) == pytest.approx(1.0)
    assert margin.width(1.0, 0.01) == pytest.approx(0.2)
    assert margin.width(10.0, 1.0) == pytest.approx(2.5)
    assert margin.width(10.0, float("nan")) == pytest.approx(1.0)


def test_a_single_run_borrows_the_other_sides_variance():
    base = np.array([10.0, 12.0, 14.0])
    assert standard_error(base, np.array([11.0])) == pytest.approx(
        math.sqrt(4.0 / 3 + 4.0 / 1))
    assert math.isnan(standard_error(np.array([1.0]), np.array([2.0])))


def cell(**changes) -> CellResult:
    values = dict(r=1.0, r_threshold=1.75, r_ks=1.0, median_between=1.0, median_within=1.0,
                  p_value=0.5, test="permutation", min_p=0.008, baseline_mean=1.0,
                  candidate_mean=1.0, difference=0.0, standard_error=0.1, margin=0.2,
                  margin_ok=True, scale=1.0, has_data=True, low_confidence=False)
    return CellResult(**{**values, **changes})


@pytest.mark.parametrize("changes, significant, expected", [
    ({}, False, Verdict.PASS),
    ({}, True, Verdict.PASS),           # significant but tiny and within R*
    ({"r": 2.0}, False, Verdict.WARN),  # beyond R* but not significant
    ({"r": 2.0}, True, Verdict.FAIL),
    ({"margin_ok": False}, True, Verdict.FAIL),
    ({"margin_ok": False}, False, Verdict.WARN),
    ({"r": math.inf}, True, Verdict.FAIL),  # identical baseline runs, moved candidate
    ({"has_data": False}, False, Verdict.WARN),
    ({"low_confidence": True, "r": math.nan}, False, Verdict.PASS),
    ({"low_confidence": True, "r": math.nan, "margin_ok": False}, False, Verdict.FAIL),
])
def test_cell_verdict_rule(changes, significant, expected):
    assert cell_verdict(cell(**changes), significant) == expected


def test_overall_is_the_worst_cell():
    assert overall_verdict([Verdict.PASS, Verdict.WARN, Verdict.PASS]) == Verdict.WARN
    assert overall_verdict([Verdict.PASS, Verdict.FAIL, Verdict.WARN]) == Verdict.FAIL
    assert overall_verdict([Verdict.PASS]) == Verdict.PASS


def matrices_from_samples(samples):
    from repro.compare.distances import pairwise_matrices

    w, ks = pairwise_matrices(samples)
    return w, ks, np.array([s.mean() for s in samples])


def test_three_seeds_per_side_use_welch_and_say_so():
    rng = np.random.default_rng(5)
    samples = [rng.normal(0, 1, 300) for _ in range(3)] + [rng.normal(1, 1, 300)
                                                          for _ in range(3)]
    w, ks, means = matrices_from_samples(samples)
    result = evaluate_cell(w, ks, means, np.concatenate(samples[:3]), 3,
                           Margin(absolute=0.05), SETTINGS, scalar=False)
    assert result.test == "welch"
    assert result.p_value < 0.01
    assert result.r > 2.3


def test_one_run_per_side_gives_a_low_confidence_margin_only_cell():
    rng = np.random.default_rng(6)
    samples = [rng.normal(0, 1, 300), rng.normal(0, 1, 300)]
    w, ks, means = matrices_from_samples(samples)
    result = evaluate_cell(w, ks, means, samples[0], 1, Margin(absolute=0.5), SETTINGS,
                           scalar=False)
    assert result.low_confidence and result.test == "none" and math.isnan(result.r)
    assert cell_verdict(result, False) == Verdict.PASS
