"""Null distribution of R: a target compared with itself on disjoint seed sets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from repro.compare.comparison import CellData, cell_inputs
from repro.compare.dataset import statistics_dataset
from repro.compare.profiles import SCALAR_STATISTICS, Profile
from repro.compare.spikes import RunSpikes, check_comparable
from repro.compare.verdict import null_ratio


def disjoint_splits(n_runs: int, k: int, splits: int, rng: np.random.Generator
                    ) -> list[np.ndarray]:
    """``splits`` random index arrays of length 2k: first k baseline, last k candidate."""
    if 2 * k > n_runs:
        raise ValueError(f"k = {k} needs {2 * k} runs, have {n_runs}")
    return [rng.permutation(n_runs)[: 2 * k] for _ in range(splits)]


def null_ratios(cells: Mapping[tuple[str, str], CellData], k: int, splits: int,
                rng: np.random.Generator, profile: Profile) -> np.ndarray:
    """R of every cell on random disjoint k + k splits, shape ``(splits, cells)``."""
    n_runs = len(next(iter(cells.values())).samples)
    out = np.full((splits, len(cells)), np.nan)
    for row, index in enumerate(disjoint_splits(n_runs, k, splits, rng)):
        for col, ((_, statistic), data) in enumerate(cells.items()):
            part = data.subset(index)
            reference = np.concatenate(part.samples[:k])
            out[row, col] = null_ratio(part.w, part.ks, reference, k, profile.verdict,
                                       scalar=statistic in SCALAR_STATISTICS)
    return out


def percentiles(ratios: np.ndarray) -> dict[str, float | None]:
    """Median, 95th and 99th percentile of finite R values (None when there are none)."""
    values = ratios[np.isfinite(ratios)]
    if values.size == 0:
        return {"r50": None, "r95": None, "r99": None}
    r50, r95, r99 = np.percentile(values, [50, 95, 99])
    return {"r50": float(r50), "r95": float(r95), "r99": float(r99)}


def calibrate_runs(runs: Sequence[RunSpikes], profile: Profile, ks: Sequence[int],
                   splits: int, seed: int) -> list[dict]:
    """Null R percentiles for each k (rows with None where 2k exceeds the runs).

    Returns
    -------
    list of dict
        ``{"k", "splits", "r50", "r95", "r99", "scalar_r50", "scalar_r95", "scalar_r99"}``
        per k; R pooled over the per-neuron-distribution cells and, separately, over the
        cells of statistics with one value per run.
    """
    check_comparable(runs)
    stats = statistics_dataset(runs, profile.statistics)
    cells = cell_inputs(stats, [r.run_id for r in runs], profile.compare)
    scalar = np.array([statistic in SCALAR_STATISTICS for _, statistic in cells])
    rng = np.random.default_rng(seed)
    table = []
    for k in ks:
        row: dict = {"k": k, "splits": 0}
        if k < 2 or 2 * k > len(runs):
            row.update(percentiles(np.zeros(0)))
            row.update({f"scalar_{key}": None for key in ("r50", "r95", "r99")})
        else:
            ratios = null_ratios(cells, k, splits, rng, profile)
            row.update(splits=splits, **percentiles(ratios[:, ~scalar]))
            row.update({f"scalar_{key}": value
                        for key, value in percentiles(ratios[:, scalar]).items()})
        table.append(row)
    return table
