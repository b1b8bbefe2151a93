"""The stdlib statistics the ring-buffer planning uses equal scipy's (what sPyNNaker calls)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from repro.spinnaker import distributions as dist


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=5000), st.floats(min_value=0.001, max_value=0.999),
       st.floats(min_value=0.5, max_value=1.0 - 1e-9))
def test_binomial_ppf_equals_scipy(n, p, q):
    expected = stats.binom.ppf(q, n, p)
    ours = dist.binomial_ppf(q, n, p)
    # At an exact tie (CDF(k) == q up to rounding) either neighbour is a correct answer.
    tie = abs(stats.binom.cdf(min(ours, expected), n, p) - q) < 1e-9
    assert abs(ours - expected) <= (1 if tie else 0)


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=-10, max_value=10), st.floats(min_value=0.05, max_value=3),
       st.floats(min_value=-3, max_value=0), st.floats(min_value=0.1, max_value=4),
       st.floats(min_value=0.001, max_value=0.999))
def test_truncated_normal_equals_scipy(mu, sigma, a, width, q):
    low, high = mu + a * sigma, mu + (a + width) * sigma
    ours = dist.distribution_stats("normal_clipped",
                                   {"mu": mu, "sigma": sigma, "low": low, "high": high})
    ref = stats.truncnorm((low - mu) / sigma, (high - mu) / sigma, loc=mu, scale=sigma)
    assert ours.mean == pytest.approx(ref.mean(), abs=1e-9 * (1 + abs(mu)))
    assert ours.variance == pytest.approx(ref.var(), rel=1e-6, abs=1e-12)
    assert ours.ppf(q) == pytest.approx(ref.ppf(q), rel=1e-7, abs=1e-9)


def test_exponential_keeps_spynnakers_loc_convention():
    ours = dist.distribution_stats("exponential", {"beta": 2.0})
    ref = stats.expon(2.0)
    assert (ours.mean, ours.variance) == pytest.approx((ref.mean(), ref.var()))
    assert ours.ppf(0.99) == pytest.approx(ref.ppf(0.99))


def test_unsupported_distribution_is_named():
    with pytest.raises(ValueError, match="gamma"):
        dist.distribution_stats("gamma", {"k": 2.0, "theta": 1.0})
