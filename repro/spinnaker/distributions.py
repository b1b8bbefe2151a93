"""Statistics of PyNN random distributions and binomial quantiles, as sPyNNaker 7.4.1 uses them.

sPyNNaker plans ring-buffer shifts and row lengths from distribution *statistics*
(mean, variance, quantiles, bounds) computed with scipy. The emulator runs at sites that
have only numpy and pyNN, so the same quantities are computed here with the standard
library. Distribution names and parameter conventions follow
``spynnaker/pyNN/utilities/random_stats`` (including its choice of scipy's
``expon(loc=beta)`` for ``exponential``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

_STANDARD_NORMAL = NormalDist()


@dataclass(frozen=True)
class DistributionStats:
    """What sPyNNaker needs to know about one distribution.

    Attributes
    ----------
    name : str
        PyNN distribution name.
    mean, variance : float
        Moments as sPyNNaker's stats classes report them.
    low, high : float or None
        Hard bounds (clipped distributions, uniform), None when unbounded.
    """

    name: str
    mean: float
    variance: float
    low: float | None
    high: float | None
    _ppf: object

    def ppf(self, q: float) -> float:
        """Quantile function."""
        return float(self._ppf(q))  # type: ignore[operator]


def _phi(x: float) -> float:
    return 0.0 if math.isinf(x) else math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _inv_cdf(q: float) -> float:
    if q <= 0.0:
        return -math.inf
    if q >= 1.0:
        return math.inf
    return _STANDARD_NORMAL.inv_cdf(q)


def _truncated_normal(name: str, mu: float, sigma: float, low: float,
                      high: float) -> DistributionStats:
    a = (low - mu) / sigma
    b = (high - mu) / sigma
    cdf_a = _STANDARD_NORMAL.cdf(a) if not math.isinf(a) else (0.0 if a < 0 else 1.0)
    cdf_b = _STANDARD_NORMAL.cdf(b) if not math.isinf(b) else (0.0 if b < 0 else 1.0)
    mass = cdf_b - cdf_a
    pdf_a, pdf_b = _phi(a), _phi(b)
    a_pdf_a = 0.0 if math.isinf(a) else a * pdf_a
    b_pdf_b = 0.0 if math.isinf(b) else b * pdf_b
    shift = (pdf_a - pdf_b) / mass
    mean = mu + sigma * shift
    variance = sigma * sigma * (1.0 + (a_pdf_a - b_pdf_b) / mass - shift * shift)
    return DistributionStats(name, mean, variance, low, high,
                             lambda q: mu + sigma * _inv_cdf(cdf_a + q * mass))


def distribution_stats(name: str, parameters: dict[str, float]) -> DistributionStats:
    """Statistics of a PyNN ``RandomDistribution`` as sPyNNaker computes them.

    Parameters
    ----------
    name : str
        PyNN distribution name.
    parameters : dict
        The distribution's named parameters (``RandomDistribution.parameters``).

    Raises
    ------
    ValueError
        For distributions sPyNNaker has no statistics for in the supported set.
    """
    p = parameters
    if name == "uniform":
        low, high = float(p["low"]), float(p["high"])
        width = high - low
        return DistributionStats(name, low + width / 2.0, width * width / 12.0, low, high,
                                 lambda q: low + q * width)
    if name == "normal":
        mu, sigma = float(p["mu"]), float(p["sigma"])
        return DistributionStats(name, mu, sigma * sigma, None, None,
                                 lambda q: mu + sigma * _inv_cdf(q))
    if name in ("normal_clipped", "normal_clipped_to_boundary"):
        # sPyNNaker uses the truncated normal for both (the boundary variant really piles
        # mass on the bounds; 7.4.1 ignores that).
        return _truncated_normal(name, float(p["mu"]), float(p["sigma"]), float(p["low"]),
                                 float(p["high"]))
    if name == "exponential":
        # scipy.stats.expon(*[beta]) puts beta in ``loc`` with unit scale: mean beta + 1.
        beta = float(p["beta"])
        return DistributionStats(name, beta + 1.0, 1.0, None, None,
                                 lambda q: beta - math.log1p(-q))
    supported = "uniform, normal, normal_clipped, normal_clipped_to_boundary, exponential"
    raise ValueError(f"RandomDistribution {name!r} is not supported by the SpiNNaker "
                     f"emulator (supported: {supported})")


def binomial_ppf(q: float, n: int, p: float) -> int:
    """Smallest k with P(X <= k) >= q for X ~ Binomial(n, p) (scipy's ``binom.ppf``).

    The sum starts 12 standard deviations below the mean; the mass left out there is
    far below double precision.
    """
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    mean = n * p
    sd = math.sqrt(n * p * (1.0 - p))
    lo = max(0, int(mean - 12.0 * sd) - 10)
    hi = min(n, int(mean + 12.0 * sd) + 10)
    log_p, log_q = math.log(p), math.log1p(-p)
    log_pmf = (math.lgamma(n + 1) - math.lgamma(lo + 1) - math.lgamma(n - lo + 1)
               + lo * log_p + (n - lo) * log_q)
    total = 0.0
    ratio = log_p - log_q
    for k in range(lo, hi + 1):
        total += math.exp(log_pmf)
        if total >= q * (1.0 - 1e-12):
            return k
        log_pmf += math.log(n - k) - math.log(k + 1) + ratio
    return hi


def probable_maximum_selected(n_total_trials: int, n_trials: int, selection_prob: float,
                              chance: float = 1.0 / 100.0) -> int:
    """sPyNNaker's ``get_probable_maximum_selected``: binom.ppf(1 - chance/n_total, n, p)."""
    return binomial_ppf(1.0 - chance / float(n_total_trials), n_trials, selection_prob)


def maximum_probable_value(stats: DistributionStats, n_items: int,
                           chance: float = 1.0 / 100.0) -> float:
    """sPyNNaker's ``get_maximum_probable_value``: ppf(1 - chance/n_items)."""
    return stats.ppf(1.0 - chance / float(n_items))


def minimum_probable_value(stats: DistributionStats, n_items: int,
                           chance: float = 1.0 / 100.0) -> float:
    """sPyNNaker's ``get_minimum_probable_value``: ppf(chance/n_items)."""
    return stats.ppf(chance / float(n_items))
