"""Ring-buffer left shifts per post-population and synapse type, as sPyNNaker 7.4.1 plans them.

A port of the arithmetic of ``PopulationVertex.get_ring_buffer_shifts`` and its ``_Stats``
helper: running weight statistics weighted by each projection's maximum fan-in, the
"total" worst case, the largest single weight, and the Poisson-style statistical upper
bound used when delays vary. Two 7.4.1 behaviours are kept on purpose: ``total`` omits the
global weight scale (so conductance populations get coarse shifts), and every
pre-population counts as firing at the default ``spikes_per_second`` (the Poisson and
array sources' own maximum rates are never consulted, because their application vertices
do not implement ``AbstractMaxSpikes``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Upper summation limit of the Poisson-weighted variance, in standard deviations.
POISSON_SIGMA_SUMMATION_LIMIT = 3.0
#: sPyNNaker defaults (``spynnaker.cfg`` [Simulation]).
DEFAULT_SPIKES_PER_SECOND = 30.0
DEFAULT_RING_BUFFER_SIGMA = 5.0


@dataclass(frozen=True)
class ProjectionEstimate:
    """What sPyNNaker's connector reports about one incoming projection.

    Attributes
    ----------
    synapse_type : int
        0 excitatory, 1 inhibitory.
    n_connections : int
        Maximum number of connections to one post-neuron (statistical bound).
    weight_mean, weight_variance, weight_max : float
        Weight statistics of magnitudes, in nA or uS (before the global weight scale).
    delay_variance : float
        Variance of the delays (0 for constant delays).
    """

    synapse_type: int
    n_connections: int
    weight_mean: float
    weight_variance: float
    weight_max: float
    delay_variance: float


class _RunningStats:
    """Mean and variance of items added in groups by their statistics (sPyNNaker's form)."""

    def __init__(self) -> None:
        self.n_items = 0
        self.mean = 0.0
        self._mean_2 = 0.0

    def add_items(self, mean: float, variance: float, n_items: int) -> None:
        if n_items <= 0:
            return
        new_n = self.n_items + n_items
        delta = mean - self.mean
        self._mean_2 = (self._mean_2 + variance * (n_items - 1.0)
                        + delta * delta * self.n_items * n_items / new_n)
        self.mean = (self.n_items * self.mean + n_items * mean) / new_n
        self.n_items = new_n

    @property
    def variance(self) -> float:
        return 0.0 if self.n_items <= 1 else self._mean_2 / (self.n_items - 1.0)


def _poisson_weight_variance(lam: float, upper_bound: int, weight_sd: float) -> float:
    """The closed form sPyNNaker evaluates with gammaln/gammaincc (integer order here)."""
    if weight_sd <= 0 or lam <= 0:
        return 0.0
    big_ratio = math.log(lam) * upper_bound - math.lgamma(1 + upper_bound)
    if not (-701.0 < big_ratio < 701.0) or big_ratio == 0.0:
        return 0.0
    # exp(lam) * gammaincc(ub + 1, lam) == sum_{k=0}^{ub} lam**k / k!
    partial_sum = math.fsum(math.exp(k * math.log(lam) - math.lgamma(k + 1))
                            for k in range(upper_bound + 1))
    difference = partial_sum - math.exp(big_ratio)
    if difference <= 0.0:
        return 0.0
    return math.exp(-lam + math.log(lam) + 2.0 * math.log(weight_sd) + math.log(difference))


def expected_upper_bound(weight_mean: float, weight_sd: float, spikes_per_second: float,
                         n_synapses_in: int, sigma: float, steps_per_second: float) -> float:
    """sPyNNaker's ``_ring_buffer_expected_upper_bound`` (mean + sigma standard deviations)."""
    lam = n_synapses_in * spikes_per_second / steps_per_second
    poisson_variance = lam * weight_mean ** 2
    upper = int(round(lam + POISSON_SIGMA_SUMMATION_LIMIT * math.sqrt(lam)))
    weight_variance = _poisson_weight_variance(lam, upper, weight_sd)
    return lam * weight_mean + sigma * math.sqrt(poisson_variance + weight_variance)


def max_summed_weights(estimates: Sequence[ProjectionEstimate], weight_scale: float,
                       timestep_ms: float, n_synapse_types: int = 2,
                       spikes_per_second: float = DEFAULT_SPIKES_PER_SECOND,
                       ring_buffer_sigma: float = DEFAULT_RING_BUFFER_SIGMA) -> list[float]:
    """Expected maximum summed weight per synapse type (``_Stats.get_max_weight``)."""
    steps_per_second = 1000.0 / timestep_ms
    spikes_per_tick = max(1.0, spikes_per_second / steps_per_second)
    weights = [_RunningStats() for _ in range(n_synapse_types)]
    delays = [_RunningStats() for _ in range(n_synapse_types)]
    rates = [_RunningStats() for _ in range(n_synapse_types)]
    total = [0.0] * n_synapse_types
    biggest = [0.0] * n_synapse_types
    for est in estimates:
        s = est.synapse_type
        weights[s].add_items(est.weight_mean * weight_scale,
                             est.weight_variance * weight_scale ** 2, est.n_connections)
        biggest[s] = max(biggest[s], est.weight_max * weight_scale)
        delays[s].add_items(0.0, est.delay_variance, est.n_connections)
        rates[s].add_items(spikes_per_second, 0.0, est.n_connections)
        total[s] += spikes_per_tick * (est.weight_max * est.n_connections)
    result = []
    for s in range(n_synapse_types):
        if delays[s].variance == 0.0:
            result.append(max(total[s], biggest[s]))
            continue
        bound = expected_upper_bound(weights[s].mean, math.sqrt(weights[s].variance),
                                     rates[s].mean, weights[s].n_items, ring_buffer_sigma,
                                     steps_per_second)
        result.append(max(min(bound, total[s]), biggest[s]))
    return result


def left_shift(max_weight: float) -> int:
    """Shift L with 2**L strictly above ``max_weight`` (``get_ring_buffer_shifts``)."""
    power = 0 if max_weight <= 0 else int(math.ceil(max(0.0, math.log2(max_weight))))
    return power + 1 if 2 ** power <= max_weight else power


def weight_scale(shift: int, global_scale: float) -> float:
    """Host weight scale 2**(15 - L) * g that turns a weight into its ring-buffer integer."""
    return 2.0 ** (16 - (shift + 1)) * global_scale
