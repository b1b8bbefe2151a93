"""Figures of the validation report: matplotlib, Okabe-Ito colours, units on every axis.

Every function returns a :class:`matplotlib.figure.Figure`; :func:`png_data_uri` turns one
into a base64 ``data:`` URI so the report embeds it and needs no network to be viewed.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from repro.compare.dataset import statistic_samples

#: Okabe & Ito (2008) colour-blind-safe palette, in the order groups get their colours.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
             "#000000")
#: Axis labels (with units) of the statistics the report plots.
STAT_LABELS = {
    "rate": "firing rate (spikes/s)",
    "cv": "CV of inter-spike intervals (dimensionless)",
    "lv": "local variation LV (dimensionless)",
    "fano": "Fano factor of spike counts (dimensionless)",
    "corr": "pairwise correlation of counts (dimensionless)",
    "pop_rate": "population rate (spikes/s)",
    "excluded_fraction": "fraction of neurons excluded (dimensionless)",
}
#: Units of run-level means.
STAT_UNITS = {"rate": "spikes/s", "pop_rate": "spikes/s"}
#: Short names for panel titles and tables.
STAT_NAMES = {
    "rate": "firing rate", "cv": "CV ISI", "lv": "LV", "fano": "Fano factor",
    "corr": "correlation", "pop_rate": "population rate",
    "excluded_fraction": "excluded fraction",
}
#: What one value of a statistic describes (for the y axis of distribution panels).
STAT_UNITS_OF_COUNT = {"corr": "pairs", "pop_rate": "time bins"}
DISTRIBUTION_STATISTICS = ("rate", "cv", "lv", "fano", "corr")
_DPI = 100


def group_colours(labels: Sequence[str]) -> dict[str, str]:
    """Colour of each group label, in order, from the Okabe-Ito palette."""
    return {label: OKABE_ITO[i % len(OKABE_ITO)] for i, label in enumerate(labels)}


def png_data_uri(figure: Figure) -> str:
    """Render ``figure`` to PNG and return it as a ``data:image/png;base64,...`` URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight",
                   metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _shared_edges(samples: Sequence[np.ndarray], n_max: int = 40) -> np.ndarray | None:
    pooled = np.concatenate([s for s in samples if s.size]) if any(s.size for s in samples) \
        else np.zeros(0)
    if pooled.size == 0:
        return None
    low, high = np.percentile(pooled, [0.5, 99.5])
    if not math.isfinite(low) or not math.isfinite(high):
        return None
    if high <= low:
        low, high = low - 0.5, high + 0.5
    n_bins = int(min(n_max, max(10, math.sqrt(pooled.size / max(len(samples), 1)))))
    return np.linspace(low, high, n_bins + 1)


def distribution_figure(stats: xr.Dataset, population: str,
                        groups: Mapping[str, Sequence[str]],
                        statistics: Sequence[str] = DISTRIBUTION_STATISTICS,
                        verdicts: Mapping[str, str] | None = None) -> Figure:
    """Overlaid per-group distributions of each statistic of one population.

    Each group's values are pooled over its runs (seeds) and drawn as a step histogram
    normalised to the fraction of values per bin; thin lines show every single run, so the
    seed-to-seed spread is visible next to the difference between groups.

    Parameters
    ----------
    stats : xarray.Dataset
        Statistics Dataset (see :func:`repro.compare.dataset.statistics_dataset`).
    population : str
        Population to plot.
    groups : mapping
        ``{label: [run ids]}`` in legend order (one group per target or side).
    statistics : sequence of str
        Statistics to draw, one panel each.
    verdicts : mapping, optional
        ``{statistic: verdict}`` shown in the panel titles.
    """
    present = [s for s in statistics if s in stats.data_vars]
    colours = group_colours(list(groups))
    n = len(present)
    ncols = min(n, 3)
    nrows = max(1, math.ceil(n / ncols))
    figure = Figure(figsize=(4.2 * ncols, 3.1 * nrows), layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    for axis in axes[n:]:
        axis.set_visible(False)
    counted = {s: STAT_UNITS_OF_COUNT.get(s, "neurons") for s in present}
    for axis, statistic in zip(axes, present, strict=False):
        per_group = {label: statistic_samples(stats, statistic, population, runs)
                     for label, runs in groups.items()}
        edges = _shared_edges([s for samples in per_group.values() for s in samples])
        for label, samples in per_group.items():
            pooled = np.concatenate(samples) if samples else np.zeros(0)
            if edges is None or pooled.size == 0:
                continue
            for sample in samples:
                if sample.size:
                    weights = np.full(sample.size, 1.0 / sample.size)
                    axis.hist(np.clip(sample, edges[0], edges[-1]), bins=edges,
                              weights=weights, histtype="step", color=colours[label],
                              linewidth=0.6, alpha=0.35)
            weights = np.full(pooled.size, 1.0 / pooled.size)
            axis.hist(np.clip(pooled, edges[0], edges[-1]), bins=edges, weights=weights,
                      histtype="step", color=colours[label], linewidth=2.0,
                      label=f"{label} ({len(samples)} runs, {pooled.size} values)")
        if edges is None:
            axis.text(0.5, 0.5, "no data", transform=axis.transAxes, ha="center",
                      va="center", color="0.4")
        title = STAT_NAMES.get(statistic, statistic)
        if verdicts and statistic in verdicts:
            title += f" — {verdicts[statistic].upper()}"
        axis.set_title(title, fontsize=10)
        axis.set_xlabel(STAT_LABELS.get(statistic, statistic), fontsize=9)
        axis.set_ylabel(f"fraction of {counted[statistic]} per bin (1)", fontsize=9)
        axis.tick_params(labelsize=8)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        figure.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 3),
                      fontsize=8, frameon=False)
    figure.suptitle(f"population {population}: distributions per neuron (pair) — thick: "
                    "pooled over seeds, thin: single runs", fontsize=10)
    return figure


def run_means_figure(stats: xr.Dataset, population: str, groups: Mapping[str, Sequence[str]],
                     statistics: Sequence[str], verdicts: Mapping[str, str] | None = None,
                     ticks: Sequence[str] | None = None) -> Figure:
    """Run-level mean of each statistic, one dot per run (seed), one column per group.

    ``ticks`` names the groups on the x axis (default ``group 1``, ``group 2``, ...); the
    legend maps them to the full group labels.

    The seed is the unit of replication: the verdict compares the spread of these dots
    within a group with the distance between groups.
    """
    present = [s for s in statistics if s in stats.data_vars]
    colours = group_colours(list(groups))
    labels = list(groups)
    ticks = list(ticks or [f"group {i + 1}" for i in range(len(labels))])
    figure = Figure(figsize=(max(6.0, 1.8 * len(present)), 3.2), layout="constrained")
    axes = figure.subplots(1, len(present), squeeze=False).ravel()
    rng = np.random.default_rng(0)  # horizontal jitter only; no data depends on it
    for axis, statistic in zip(axes, present, strict=True):
        for index, label in enumerate(labels):
            samples = statistic_samples(stats, statistic, population, groups[label])
            means = np.array([s.mean() if s.size else np.nan for s in samples])
            means = means[np.isfinite(means)]
            if means.size == 0:
                continue
            jitter = rng.uniform(-0.12, 0.12, means.size)
            axis.scatter(index + jitter, means, s=22, color=colours[label], zorder=3,
                         edgecolors="white", linewidths=0.5,
                         label=f"{ticks[index]}: {label}" if statistic == present[0] else None)
            axis.hlines(means.mean(), index - 0.3, index + 0.3, color=colours[label],
                        linewidth=2)
        axis.set_xticks(range(len(labels)))
        axis.set_xticklabels(ticks, fontsize=7)
        axis.set_xlabel("run set", fontsize=8)
        axis.set_xlim(-0.6, len(labels) - 0.4)
        title = STAT_NAMES.get(statistic, statistic)
        if verdicts and statistic in verdicts:
            title += f" — {verdicts[statistic].upper()}"
        axis.set_title(title, fontsize=8.5)
        axis.set_ylabel(f"run mean ({STAT_UNITS.get(statistic, 'dimensionless')})", fontsize=8)
        axis.tick_params(labelsize=7)
    figure.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center",
                  ncols=len(labels), fontsize=8, frameon=False)
    figure.suptitle(f"population {population}: run-level means — one dot per run (seed), "
                    "bar = mean over seeds", fontsize=10)
    return figure


@dataclass
class RasterExcerpt:
    """Spikes of one run in a time window, for :func:`raster_figure`.

    Attributes
    ----------
    title : str
        Panel title (target and seed).
    t0, t1 : float
        Time window in ms.
    populations : list of tuple
        ``(name, neuron_ids, times, n_shown)`` per population; ids are 0-based within the
        shown subset.
    population_rate : tuple of numpy.ndarray
        ``(bin centres in ms, rate in spikes/s)`` over all recorded neurons.
    """

    title: str
    t0: float
    t1: float
    populations: list[tuple[str, np.ndarray, np.ndarray, int]]
    population_rate: tuple[np.ndarray, np.ndarray]


def raster_figure(excerpts: Sequence[RasterExcerpt]) -> Figure:
    """Raster excerpts, one column per target, with the population rate underneath.

    Parameters
    ----------
    excerpts : sequence of RasterExcerpt
        One excerpt per target (a single run each).
    """
    ncols = max(1, len(excerpts))
    figure = Figure(figsize=(max(4.6 * ncols, 6.0), 5.0), layout="constrained")
    grid = figure.add_gridspec(2, ncols, height_ratios=(3.2, 1.0))
    palette = OKABE_ITO
    for column, excerpt in enumerate(excerpts):
        raster = figure.add_subplot(grid[0, column])
        rate_axis = figure.add_subplot(grid[1, column], sharex=raster)
        offset = 0
        for index, (name, ids, times, shown) in enumerate(excerpt.populations):
            colour = palette[index % len(palette)]
            raster.scatter(times, ids + offset, s=1.2, marker="|", color=colour,
                           linewidths=0.6, label=name, rasterized=True)
            offset += shown
            if index < len(excerpt.populations) - 1:
                raster.axhline(offset - 0.5, color="0.6", linewidth=0.5)
        raster.set_xlim(excerpt.t0, excerpt.t1)
        raster.set_ylim(-0.5, max(offset, 1) - 0.5)
        raster.set_ylabel("neuron index (shown subset)", fontsize=8)
        raster.set_title(excerpt.title, fontsize=9)
        raster.set_xlabel("time (ms)", fontsize=8)
        raster.tick_params(labelsize=7)
        if excerpt.populations:
            raster.legend(loc="upper right", fontsize=7, markerscale=6, framealpha=0.8)
        centres, rates = excerpt.population_rate
        rate_axis.plot(centres, rates, color="0.2", linewidth=0.9)
        rate_axis.set_xlabel("time (ms)", fontsize=8)
        rate_axis.set_ylabel("rate (spikes/s)", fontsize=8)
        rate_axis.tick_params(labelsize=7)
    figure.suptitle("raster excerpts (one seed per target) and population rate of all recorded "
                    "neurons", fontsize=10)
    return figure


def raster_excerpt(run, title: str, t0: float, t1: float, max_neurons: int = 120,
                   bin_ms: float = 5.0) -> RasterExcerpt:
    """Cut a raster excerpt out of a :class:`repro.compare.spikes.RunSpikes`.

    The shown neurons are the first ones of every population, in proportion to the
    population sizes (at least 10 each, ``max_neurons`` in total).
    """
    total = sum(p.size for p in run.populations) or 1
    populations = []
    edges = np.arange(t0, t1 + bin_ms / 2, bin_ms)
    counts = np.zeros(max(edges.size - 1, 0))
    for pop in run.populations:
        shown = min(pop.size, max(10, round(max_neurons * pop.size / total)))
        end = int(pop.indptr[shown]) if pop.size else 0
        times = np.asarray(pop.times[:end], dtype=np.float64)
        ids = np.repeat(np.arange(shown), np.diff(pop.indptr[: shown + 1]))
        keep = (times >= t0) & (times < t1)
        populations.append((pop.name, ids[keep], times[keep], shown))
        all_times = np.asarray(pop.times, dtype=np.float64)
        counts += np.histogram(all_times, bins=edges)[0] if edges.size > 1 else 0
    rate = counts / (total * bin_ms / 1000.0)
    centres = (edges[:-1] + edges[1:]) / 2 if edges.size > 1 else np.zeros(0)
    return RasterExcerpt(title, t0, t1, populations, (centres, rate))
