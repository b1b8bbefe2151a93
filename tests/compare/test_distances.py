"""Distances between run distributions agree with scipy and are unit-free where promised."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp, wasserstein_distance

from repro.compare.distances import (
    combined_distance,
    ks_statistic,
    pairwise_matrices,
    robust_scale,
    wasserstein,
)

samples = st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=50)


@settings(max_examples=200, deadline=None)
@given(a=samples, b=samples)
def test_wasserstein_equals_scipy(a, b):
    assert wasserstein(np.array(a), np.array(b)) == pytest.approx(
        wasserstein_distance(a, b), rel=1e-9, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(a=samples, b=samples)
def test_ks_statistic_equals_scipy(a, b):
    assert ks_statistic(np.array(a), np.array(b)) == pytest.approx(ks_2samp(a, b).statistic)


def test_empty_sample_gives_nan_distance():
    assert np.isnan(wasserstein(np.zeros(0), np.ones(3)))
    assert np.isnan(ks_statistic(np.ones(3), np.zeros(0)))


def test_pairwise_matrices_are_symmetric_with_zero_diagonal():
    rng = np.random.default_rng(1)
    w, ks = pairwise_matrices([rng.normal(i, 1, 50) for i in range(4)])
    for matrix in (w, ks):
        np.testing.assert_array_equal(matrix, matrix.T)
        np.testing.assert_array_equal(np.diag(matrix), 0)
    assert w[0, 3] > w[0, 1]


def test_scaled_distance_does_not_depend_on_units():
    rng = np.random.default_rng(2)
    runs = [rng.gamma(3, 5, 200) for _ in range(3)]
    w, ks = pairwise_matrices(runs)
    w_ms, ks_ms = pairwise_matrices([r * 1000 for r in runs])
    d = combined_distance(w, ks, robust_scale(np.concatenate(runs)), add_ks=True)
    d_ms = combined_distance(w_ms, ks_ms, robust_scale(np.concatenate(runs) * 1000), add_ks=True)
    np.testing.assert_allclose(d, d_ms, rtol=1e-9)


@pytest.mark.parametrize("values, expected", [
    ([1.0, 2.0, 3.0, 4.0, 5.0], 2.0),   # interquartile range
    ([2.0] * 5 + [10.0], float(np.std([2.0] * 5 + [10.0]))),  # IQR 0 -> std
    ([4.0, 4.0], 4.0),                  # no spread -> |median|
    ([0.0], 1.0),                       # nothing -> 1
    ([], 1.0),
])
def test_robust_scale_falls_back_when_there_is_no_spread(values, expected):
    assert robust_scale(np.array(values)) == pytest.approx(expected)
