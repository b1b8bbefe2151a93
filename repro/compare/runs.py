"""Compare two sets of loaded runs end to end: validity gates, statistics, verdicts, summary."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from repro.compare.comparison import cell_inputs, compare_statistics
from repro.compare.dataset import statistics_dataset
from repro.compare.frozen_design import FrozenResult, compare_frozen, frozen_pairs
from repro.compare.numerics import numerics_notes
from repro.compare.outcomes import Verdict
from repro.compare.paired_verdict import judge_paired
from repro.compare.pairing import PAIRED, Pairing, pair_runs
from repro.compare.profiles import Profile
from repro.compare.spikes import RunSpikes, check_comparable
from repro.errors import SelectionError

SUMMARY_FORMAT = "repro.comparison/1"
#: Hardware provenance counters that must be zero for a clean run (substring match).
PROVENANCE_COUNTERS = ("dropped", "overrun", "saturat", "lost")


@dataclass
class ComparisonResult:
    """Statistics, verdicts and a JSON-ready summary of one comparison."""

    baseline: list[RunSpikes]
    candidate: list[RunSpikes]
    statistics: xr.Dataset
    verdicts: xr.Dataset
    notes: list[str] = field(default_factory=list)
    pairing: Pairing | None = None
    frozen: FrozenResult | None = None

    @property
    def overall(self) -> Verdict:
        """``pass``, ``warn`` or ``fail``."""
        return Verdict(self.verdicts.attrs["overall"])

    def moved(self) -> list[dict[str, Any]]:
        """Cells whose verdict is not pass, worst first."""
        cells = [c for c in cell_rows(self.verdicts) if c["verdict"] != Verdict.PASS]
        return sorted(cells, key=lambda c: (-Verdict(c["verdict"]).severity, c["population"]))

    def summary(self) -> dict[str, Any]:
        """JSON summary: overall verdict, caveats, every cell, the runs and the profile."""
        attrs = self.verdicts.attrs
        return {
            "format": SUMMARY_FORMAT,
            "overall": self.overall,
            "low_confidence": bool(attrs["low_confidence"]),
            "k_baseline": int(attrs["k_baseline"]),
            "k_candidate": int(attrs["k_candidate"]),
            "profile": {"name": attrs["profile_name"], "version": attrs["profile_version"],
                        "sha256": attrs["profile_sha256"]},
            "notes": [*self.notes, *[n for n in str(attrs.get("notes", "")).split("\n") if n]],
            "design": str(attrs.get("design", "unpaired")),
            "pairing": self.pairing.summary() if self.pairing else None,
            "global_test": ({"p_value": _plain(attrs["global_p"]),
                             "max_t": _plain(attrs["global_max_t"]),
                             "cell": attrs["global_cell"], "null": attrs["global_method"]}
                            if "global_p" in attrs else None),
            "power": attrs.get("power_note"),
            "frozen": self.frozen.summary() if self.frozen else None,
            "cells": cell_rows(self.verdicts),
            "baseline": [run_identity(r) for r in self.baseline],
            "candidate": [run_identity(r) for r in self.candidate],
        }


def run_identity(run: RunSpikes) -> dict[str, Any]:
    """Run id, target, seed, hashes and crate path of a run."""
    return {"run_id": run.run_id, "target": run.target, "seed": run.seed,
            "model_hash": run.model_hash, "env_digest": run.env_digest,
            "crate": str(run.crate) if run.crate else None}


def cell_rows(verdicts: xr.Dataset) -> list[dict[str, Any]]:
    """One JSON-ready dict per (population, statistic) cell (NaN becomes None)."""
    rows = []
    names = ("verdict", "r", "r_threshold", "r_ks", "p_value", "p_adjusted", "significant",
             "test", "baseline_mean", "candidate_mean", "difference", "standard_error",
             "margin", "margin_ok", "median_between", "median_within", "t_paired", "p_bh",
             "p_max_t", "noise_sd", "effect_noise_sd")
    for population in verdicts["population"].values.tolist():
        for statistic in verdicts["statistic"].values.tolist():
            cell = verdicts.sel(population=population, statistic=statistic)
            row: dict[str, Any] = {"population": population, "statistic": statistic}
            for name in names:
                if name in cell:
                    row[name] = _plain(cell[name].values.item())
            rows.append(row)
    return rows


def _plain(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    return value


def single_model(runs: Sequence[RunSpikes], side: str) -> str:
    """The one model hash of a side.

    Raises
    ------
    SelectionError
        If the side mixes runs of different models.
    """
    models: dict[str, int] = {}
    for run in runs:
        models[run.model_hash] = models.get(run.model_hash, 0) + 1
    if len(models) > 1:
        listing = ", ".join(f"{m[:12]} ({n} runs)" for m, n in models.items())
        raise SelectionError(f"the {side} selection holds runs of {len(models)} different "
                             f"models: {listing}; narrow it, e.g. with model=<hash prefix>")
    return next(iter(models))


def parameter_changes(baseline: RunSpikes, candidate: RunSpikes) -> list[str]:
    """``name: old -> new`` for model parameters that differ between two runs."""
    old = _flatten(baseline.facts.get("params", {}))
    new = _flatten(candidate.facts.get("params", {}))
    return [f"{k}: {old.get(k, '(unset)')} -> {new.get(k, '(unset)')}"
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def _flatten(params: dict[str, Any] | list[Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts and lists as ``{"a.b.0": value}``; list items with a label use it."""
    flat: dict[str, Any] = {}
    if isinstance(params, dict):
        items = list(params.items())
    else:
        items = [(v.get("label", i) if isinstance(v, dict) else i, v)
                 for i, v in enumerate(params)]
    for key, value in items:
        if isinstance(value, dict | list):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def validity_notes(runs: Sequence[RunSpikes]) -> list[str]:
    """Gates that do not stop a comparison but must be reported.

    Time steps that differ, hardware provenance counters (dropped packets, timer overruns,
    weight saturation) that are not zero, and portability adaptations that change numerics
    (a difference they cause is not a simulator difference).
    """
    notes = []
    steps = sorted({r.facts.get("timestep_ms") for r in runs
                    if isinstance(r.facts.get("timestep_ms"), float)
                    and math.isfinite(r.facts["timestep_ms"])})
    if len(steps) > 1:
        notes.append(f"runs use different time steps ({', '.join(f'{s:g}' for s in steps)} ms)")
    for run in runs:
        for key, value in _flatten(run.facts.get("provenance", {})).items():
            if (any(word in key.lower() for word in PROVENANCE_COUNTERS)
                    and isinstance(value, int | float) and value > 0):
                notes.append(f"run {run.run_id} reports hardware provenance {key} = {value}")
    notes.extend(portability_notes(runs))
    return notes


def portability_notes(runs: Sequence[RunSpikes]) -> list[str]:
    """One line per target and adaptation: what the script asked, what the target did.

    Adaptations that change numerics come first; those without a numerical effect are
    summarised in one line per target.
    """
    by_target: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    for run in runs:
        for note in run.facts.get("portability", []):
            key = (str(note.get("feature", "")), str(note.get("action", "")))
            by_target.setdefault(run.target, {}).setdefault(key, note)
    lines = []
    for target, notes in sorted(by_target.items()):
        for note in notes.values():
            if note.get("numerical_effect"):
                where = f" ({note['script_line']})" if note.get("script_line") else ""
                lines.append(f"{target}: the script's {note['feature']}{where} was "
                             f"{note['action']}: {note['detail']}; this changes numerics, so "
                             "a difference it causes is not a simulator difference")
        quiet = [f"{n['feature']} ({n['action']})" for n in notes.values()
                 if not n.get("numerical_effect")]
        if quiet:
            lines.append(f"{target}: portability adaptations without numerical effect: "
                         + "; ".join(quiet))
    return lines


def distinct_results(runs: Sequence[RunSpikes]) -> tuple[list[RunSpikes], list[RunSpikes]]:
    """Runs with distinct spike files, and the reruns dropped as exact copies.

    Bitwise-identical reruns are one observation, not several: counting them twice would
    put zero distances into the seed-to-seed baseline.
    """
    kept, dropped, seen = [], [], set()
    for run in runs:
        digest = run.facts.get("spikes_sha256")
        if digest and digest in seen:
            dropped.append(run)
            continue
        seen.add(digest)
        kept.append(run)
    return kept, dropped


def compare_runs(baseline: Sequence[RunSpikes], candidate: Sequence[RunSpikes],
                 profile: Profile) -> ComparisonResult:
    """Gate, compute statistics and judge a candidate run set against a baseline.

    Raises
    ------
    SelectionError
        If a side is empty, mixes models, a run is on both sides, or the runs record
        different populations or durations.
    """
    for side, runs in (("baseline", baseline), ("candidate", candidate)):
        if not runs:
            raise SelectionError(f"the {side} selection matched no runs")
    base_model = single_model(baseline, "baseline")
    cand_model = single_model(candidate, "candidate")
    baseline, dropped_a = distinct_results(baseline)
    candidate, dropped_b = distinct_results(candidate)
    runs = [*baseline, *candidate]
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):
        both = sorted({i for i in ids if ids.count(i) > 1})
        raise SelectionError(f"runs selected on both sides: {', '.join(both)}")
    check_comparable(runs)
    notes = validity_notes(runs)
    if dropped_a + dropped_b:
        notes.append(f"{len(dropped_a) + len(dropped_b)} rerun(s) with spike files identical to "
                     "another run on the same side counted once: "
                     + ", ".join(r.run_id for r in [*dropped_a, *dropped_b]))
    if base_model != cand_model:
        changes = parameter_changes(baseline[0], candidate[0])
        notes.insert(0, f"the sides run different models ({base_model[:12]} vs "
                        f"{cand_model[:12]})" + (f": {'; '.join(changes)}" if changes else ""))
    stats = statistics_dataset(runs, profile.statistics)
    base_ids, cand_ids = [r.run_id for r in baseline], [r.run_id for r in candidate]
    pairing = pair_runs(baseline, candidate)
    frozen = None
    if pairing.design == PAIRED:
        cells = cell_inputs(stats, [*base_ids, *cand_ids], profile.compare)
        verdicts = judge_paired(cells, len(base_ids), profile, base_ids, cand_ids, pairing)
        replayed = frozen_pairs(baseline, candidate, pairing)
        if replayed is not None:
            frozen = compare_frozen(replayed)
            verdicts.attrs.update(design="frozen", overall=str(frozen.verdict))
            verdicts.attrs["notes"] = frozen.note() + "\n" + verdicts.attrs["notes"]
    else:
        verdicts = compare_statistics(stats, base_ids, cand_ids, profile)
        verdicts.attrs.update(design="unpaired", pairing=pairing.describe())
        verdicts.attrs["notes"] = "\n".join(
            n for n in (pairing.describe(), verdicts.attrs.get("notes", "")) if n)
    notes.extend(numerics_notes(runs))
    return ComparisonResult(list(baseline), list(candidate), stats, verdicts, notes, pairing,
                            frozen)
