"""Spike-by-spike comparison of runs that received identical input (frozen-input replay).

With connectivity and every input spike train frozen, two simulators (or two versions of a
model) can be compared spike by spike: the fraction of spikes matched within +-1 time step,
the first time each neuron and each population diverge, and the van Rossum and
Victor-Purpura distances of Elephant's ``spike_train_dissimilarity``. The unit of the verdict
is still the run pair: a pair *matches* when at least ``min_matched`` of its spikes match.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from repro.site.spikefile import PopulationSpikes


def match_counts(a_ms: np.ndarray, b_ms: np.ndarray, tolerance_ms: float
                 ) -> tuple[int, float]:
    """One-to-one greedy matching of two sorted spike trains within ``tolerance_ms``.

    Returns
    -------
    matched : int
        Spikes of ``a_ms`` paired with a distinct spike of ``b_ms`` at most
        ``tolerance_ms`` away (in time order).
    first_divergence_ms : float
        Time of the earliest spike in either train left without a partner (``inf`` if none).

    Examples
    --------
    >>> match_counts(np.array([1.0, 5.0, 9.0]), np.array([1.05, 5.5, 9.0]), 0.1)
    (2, 5.0)
    """
    i = j = matched = 0
    first = math.inf
    while i < a_ms.size and j < b_ms.size:
        gap = a_ms[i] - b_ms[j]
        if abs(gap) <= tolerance_ms + 1e-9:
            matched += 1
            i += 1
            j += 1
        elif gap < 0:
            first = min(first, float(a_ms[i]))
            i += 1
        else:
            first = min(first, float(b_ms[j]))
            j += 1
    if i < a_ms.size:
        first = min(first, float(a_ms[i]))
    if j < b_ms.size:
        first = min(first, float(b_ms[j]))
    return matched, first


@dataclass(frozen=True)
class PopulationMatch:
    """Spike-by-spike comparison of one population in one run pair.

    Attributes
    ----------
    population : str
        Population name.
    n_a, n_b, matched : int
        Spikes on each side and spikes matched within the tolerance.
    matched_fraction : float
        ``2 * matched / (n_a + n_b)`` (1 for two silent populations).
    first_divergence_ms : numpy.ndarray
        Per neuron, the first unmatched spike time (``inf``: never diverged).
    van_rossum, victor_purpura : float
        Mean over the sampled neurons of Elephant's distances.
    """

    population: str
    n_a: int
    n_b: int
    matched: int
    matched_fraction: float
    first_divergence_ms: np.ndarray
    van_rossum: float
    victor_purpura: float

    @property
    def population_divergence_ms(self) -> float:
        """First time any neuron of the population diverged (``inf``: never)."""
        return float(self.first_divergence_ms.min()) if self.first_divergence_ms.size else \
            math.inf

    @property
    def diverged_fraction(self) -> float:
        """Share of neurons that diverged at some point."""
        d = self.first_divergence_ms
        return float(np.isfinite(d).mean()) if d.size else 0.0


def compare_population(a: PopulationSpikes, b: PopulationSpikes, timestep_ms: float,
                       tau_ms: float = 5.0, vp_cost_per_ms: float = 1.0,
                       max_neurons: int = 50, seed: int = 12345) -> PopulationMatch:
    """Compare one population of two runs spike by spike (tolerance: one time step).

    Elephant's van Rossum (time constant ``tau_ms``) and Victor-Purpura (cost factor
    ``vp_cost_per_ms``) distances are averaged over a seeded sample of ``max_neurons``.

    Examples
    --------
    >>> pa = PopulationSpikes.from_trains("e", [np.array([1.0, 2.0])], celltype="x",
    ...                                   t_start=0.0, t_stop=10.0)
    >>> compare_population(pa, pa, 0.1).matched_fraction
    1.0
    """
    import quantities as pq
    from elephant.spike_train_dissimilarity import van_rossum_distance, victor_purpura_distance
    from neo import SpikeTrain

    if a.size != b.size:
        raise ValueError(f"population {a.name}: {a.size} vs {b.size} neurons")
    first = np.full(a.size, math.inf)
    matched = 0
    for n in range(a.size):
        ta = a.times[a.indptr[n]:a.indptr[n + 1]]
        tb = b.times[b.indptr[n]:b.indptr[n + 1]]
        count, first[n] = match_counts(ta, tb, timestep_ms)
        matched += count
    n_a, n_b = int(a.times.size), int(b.times.size)
    fraction = 2.0 * matched / (n_a + n_b) if n_a + n_b else 1.0
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(a.size, min(max_neurons, a.size), replace=False))
    t_stop = max(a.t_stop, b.t_stop) * pq.ms
    vr, vp = [], []
    for n in sample:
        trains = [SpikeTrain(p.times[p.indptr[n]:p.indptr[n + 1]] * pq.ms, t_stop=t_stop,
                             t_start=min(a.t_start, b.t_start) * pq.ms) for p in (a, b)]
        vr.append(van_rossum_distance(trains, time_constant=tau_ms * pq.ms)[0, 1])
        vp.append(victor_purpura_distance(trains, cost_factor=vp_cost_per_ms / pq.ms)[0, 1])
    return PopulationMatch(a.name, n_a, n_b, matched, fraction, first,
                           float(np.mean(vr)) if vr else 0.0, float(np.mean(vp)) if vp else 0.0)


def compare_pair(a: Sequence[PopulationSpikes], b: Sequence[PopulationSpikes],
                 timestep_ms: float) -> list[PopulationMatch]:
    """Every population of two runs, spike by spike."""
    return [compare_population(pa, pb, timestep_ms) for pa, pb in zip(a, b, strict=True)]


def pair_matches(matches: Sequence[PopulationMatch], min_matched: float) -> bool:
    """A run pair matches when every population has at least ``min_matched`` spikes matched.

    Examples
    --------
    >>> m = PopulationMatch("e", 10, 10, 10, 1.0, np.full(2, np.inf), 0.0, 0.0)
    >>> pair_matches([m], 0.99)
    True
    """
    return all(m.matched_fraction >= min_matched for m in matches)
