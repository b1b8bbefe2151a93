"""Compare a baseline and a candidate run set: statistics Dataset in, verdict Dataset out."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
import xarray as xr

from repro.compare.dataset import statistic_samples
from repro.compare.distances import combined_distance, pairwise_matrices
from repro.compare.profiles import SCALAR_STATISTICS, Profile
from repro.compare.verdict import (
    CellResult,
    benjamini_hochberg,
    cell_verdict,
    evaluate_cell,
    overall_verdict,
)
from repro.errors import SelectionError


@dataclass(frozen=True)
class CellData:
    """The inputs of one (population, statistic) cell over a list of runs.

    Attributes
    ----------
    samples : list of numpy.ndarray
        Per-run values (NaN removed).
    run_means : numpy.ndarray
        Run-level mean of each sample.
    w, ks : numpy.ndarray
        Unscaled Wasserstein and KS distance matrices between the runs.
    """

    samples: list[np.ndarray]
    run_means: np.ndarray
    w: np.ndarray
    ks: np.ndarray

    @classmethod
    def from_samples(cls, samples: list[np.ndarray]) -> CellData:
        """Compute run means and distance matrices of per-run samples."""
        means = np.array([s.mean() if s.size else np.nan for s in samples])
        w, ks = pairwise_matrices(samples)
        return cls(samples, means, w, ks)

    def subset(self, index: Sequence[int]) -> CellData:
        """The same cell restricted to runs ``index`` (in that order)."""
        idx = np.asarray(index)
        return CellData([self.samples[i] for i in idx], self.run_means[idx],
                        self.w[np.ix_(idx, idx)], self.ks[np.ix_(idx, idx)])


def cell_inputs(stats: xr.Dataset, runs: Sequence[str],
                statistics: Sequence[str]) -> dict[tuple[str, str], CellData]:
    """:class:`CellData` of every (population, statistic) cell over ``runs``."""
    cells = {}
    for population in stats["population"].values.tolist():
        for statistic in statistics:
            samples = statistic_samples(stats, statistic, population, runs)
            cells[(population, statistic)] = CellData.from_samples(samples)
    return cells


def judge(cells: Mapping[tuple[str, str], CellData], n_baseline: int, profile: Profile,
          baseline: Sequence[str], candidate: Sequence[str]) -> xr.Dataset:
    """Verdicts of all cells (runs in each CellData: baseline first, then candidate).

    Returns
    -------
    xarray.Dataset
        Dimensions ``population`` x ``statistic`` with variables ``verdict``, ``r``,
        ``r_threshold``, ``r_ks``, ``median_between``, ``median_within``, ``p_value``,
        ``p_adjusted``, ``significant``, ``test``, ``baseline_mean``, ``candidate_mean``,
        ``difference``, ``standard_error``, ``margin``, ``margin_ok``, ``scale``; ``distance``
        (population, statistic, run_a, run_b); attributes ``overall``, ``low_confidence``,
        ``k_baseline``, ``k_candidate``, profile identity and ``notes``.
    """
    populations = list(dict.fromkeys(p for p, _ in cells))
    statistics = list(dict.fromkeys(s for _, s in cells))
    settings = profile.verdict
    measured: dict[tuple[str, str], CellResult] = {}
    for (population, statistic), data in cells.items():
        reference = np.concatenate(data.samples[:n_baseline]) if n_baseline else np.zeros(0)
        measured[(population, statistic)] = evaluate_cell(
            data.w, data.ks, data.run_means, reference, n_baseline, profile.margins[statistic],
            settings, scalar=statistic in SCALAR_STATISTICS, n_cells=len(cells))
    keys = list(measured)
    adjusted = dict(zip(keys, benjamini_hochberg(np.array([measured[k].p_value for k in keys])),
                        strict=True))
    shape = (len(populations), len(statistics))
    names = [f.name for f in fields(CellResult)]
    columns = {name: np.empty(shape, dtype=object) for name in names}
    verdict = np.empty(shape, dtype=object)
    p_adj = np.full(shape, np.nan)
    significant = np.zeros(shape, dtype=bool)
    n_runs = len(baseline) + len(candidate)
    distance = np.full((*shape, n_runs, n_runs), np.nan)
    for i, population in enumerate(populations):
        for j, statistic in enumerate(statistics):
            cell = measured[(population, statistic)]
            for name in names:
                columns[name][i, j] = getattr(cell, name)
            p_adj[i, j] = adjusted[(population, statistic)]
            significant[i, j] = bool(p_adj[i, j] <= settings.fdr_q)
            verdict[i, j] = cell_verdict(cell, significant[i, j])
            data = cells[(population, statistic)]
            distance[i, j] = combined_distance(
                data.w, data.ks, cell.scale,
                settings.add_ks and statistic not in SCALAR_STATISTICS)
    dims = ("population", "statistic")
    variables = {}
    for name in names:
        values = columns[name]
        if name == "test":
            variables[name] = (dims, values.astype(str))
        elif name in ("margin_ok", "has_data", "low_confidence"):
            variables[name] = (dims, values.astype(bool))
        else:
            variables[name] = (dims, values.astype(np.float64))
    variables.update(verdict=(dims, verdict.astype(str)), p_adjusted=(dims, p_adj),
                     significant=(dims, significant),
                     distance=((*dims, "run_a", "run_b"), distance))
    runs = [*baseline, *candidate]
    k_a, k_b = len(baseline), len(candidate)
    overall = overall_verdict(verdict.ravel().tolist())
    result = xr.Dataset(
        variables,
        coords={"population": populations, "statistic": statistics, "run_a": runs,
                "run_b": runs,
                "side": ("run_a", ["baseline"] * k_a + ["candidate"] * k_b)},
        attrs={"overall": overall, "low_confidence": int(min(k_a, k_b) < 2),
               "k_baseline": k_a, "k_candidate": k_b, "fdr_q": settings.fdr_q,
               "profile_name": profile.name, "profile_version": profile.version,
               "profile_sha256": profile.sha256},
    )
    result.attrs["notes"] = "\n".join(verdict_notes(result, measured, profile))
    return result


def verdict_notes(result: xr.Dataset, measured: Mapping[tuple[str, str], CellResult],
                  profile: Profile) -> list[str]:
    """Plain-language caveats: low confidence, Welch fallback, too few seeds for the cells."""
    notes = []
    k_a, k_b = result.attrs["k_baseline"], result.attrs["k_candidate"]
    q = profile.verdict.fdr_q
    m = sum(1 for c in measured.values() if math.isfinite(c.p_value))
    if min(k_a, k_b) < 2:
        notes.append(f"low confidence: {min(k_a, k_b)} run(s) on one side, so no seed-to-seed "
                     "baseline exists; margins alone decided")
        return notes
    if any(c.test == "welch" for c in measured.values()):
        reach = (f"q/m = {q / m:.3g} ({m} cells)" if profile.verdict.welch_below_bh_resolution
                 and m else f"q = {q}")
        notes.append(f"k = {min(k_a, k_b)} seeds per side is too few for an exact permutation "
                     f"test to reach {reach}; Welch's t-test on run-level means was used")
    min_ps = [c.min_p for c in measured.values() if c.test == "permutation"]
    if min_ps and m and min(min_ps) > q / m:
        notes.append(f"with k = {min(k_a, k_b)} seeds per side the smallest permutation p "
                     f"({min(min_ps):.3g}) exceeds q/m = {q / m:.3g} for m = {m} cells: a change "
                     "that moves a single statistic cannot reach significance (fail) and shows "
                     "as warn; use more seeds or fewer statistics to resolve it")
    missing = [f"{p}/{s}" for (p, s), c in measured.items() if not c.has_data]
    if missing:
        notes.append("no data (no active neurons in some run) for: " + ", ".join(missing))
    return notes


def compare_statistics(stats: xr.Dataset, baseline: Sequence[str], candidate: Sequence[str],
                       profile: Profile) -> xr.Dataset:
    """Verdict Dataset comparing the ``candidate`` runs of ``stats`` with the ``baseline`` runs.

    Raises
    ------
    SelectionError
        If a side is empty or a run appears on both sides.
    """
    if not baseline or not candidate:
        raise SelectionError("the " + ("baseline" if not baseline else "candidate")
                             + " selection matched no runs")
    overlap = set(baseline) & set(candidate)
    if overlap:
        raise SelectionError(f"runs on both sides of the comparison: {sorted(overlap)}")
    runs = [*baseline, *candidate]
    cells = cell_inputs(stats, runs, profile.compare)
    return judge(cells, len(baseline), profile, baseline, candidate)
