"""What the report says in words: which cells moved, and what kind of drift the campaign is."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from repro.compare.drift import EnvironmentDiff, environment_diff, environment_of
from repro.compare.outcomes import DriftClass, Verdict

#: Units of run-level means, for sentences.
MEAN_UNITS = {"rate": " spikes/s", "pop_rate": " spikes/s"}
NOT_A_DRIFT_PAIR = "not a drift pair"


def severity(cell: Mapping[str, Any]) -> float:
    """How far a cell is outside tolerance: the larger of R / R* and |difference| / margin."""
    ratios = []
    r, threshold = cell.get("r"), cell.get("r_threshold")
    if _finite(r) and _finite(threshold) and threshold > 0:
        ratios.append(r / threshold)
    diff, margin = cell.get("difference"), cell.get("margin")
    if _finite(diff) and _finite(margin) and margin > 0:
        ratios.append(abs(diff) / margin)
    return max(ratios, default=0.0)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def moved_cells(cells: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Cells that did not pass: fails first, then warnings, each by decreasing severity."""
    return sorted((c for c in cells if c.get("verdict") != Verdict.PASS),
                  key=lambda c: (-_severity_of(c.get("verdict")), -severity(c)))


def _severity_of(verdict: Any) -> int:
    """A verdict's severity; -1 for a value that is no verdict (sorts last)."""
    known = Verdict.of(verdict)
    return -1 if known is None else known.severity


def number(value: Any, digits: int = 3) -> str:
    """A number for people: ``-`` for missing, significant digits otherwise."""
    if not _finite(value):
        return "–"
    if value == 0:
        return "0"
    return f"{value:.{digits}g}"


def reasons(cell: Mapping[str, Any]) -> list[str]:
    """Why a cell did not pass, as short phrases."""
    out = []
    statistic = str(cell.get("statistic"))
    unit = MEAN_UNITS.get(statistic, "")
    base, cand = cell.get("baseline_mean"), cell.get("candidate_mean")
    if _finite(base) and _finite(cand):
        change = f"mean {number(base)} → {number(cand)}{unit}"
        if _finite(base) and base != 0:
            change += f" ({(cand - base) / abs(base) * 100:+.0f} %)"
        if cell.get("margin_ok") is False:
            change += f", outside the margin ±{number(cell.get('margin'))}{unit}"
        out.append(change)
    r, threshold = cell.get("r"), cell.get("r_threshold")
    if _finite(r) and _finite(threshold):
        relation = ">" if r > threshold else "≤"
        out.append(f"R {number(r)} {relation} R* {number(threshold)}")
    if _finite(cell.get("p_adjusted")):
        out.append(f"p (BH) {number(cell['p_adjusted'])}"
                   + (" significant" if cell.get("significant") else " not significant"))
    return out


@dataclass
class DriftAssessment:
    """Drift class of a campaign and the environment difference behind it.

    Attributes
    ----------
    classification : str
        One of repro.compare.drift's classes, or ``not a drift pair`` when the sides run different
        models.
    explanation : str
        One sentence for people.
    diff : EnvironmentDiff or None
        Baseline -> candidate environment difference (None if no runs could be read).
    model_changes : list of str
        Model parameters that differ when the sides run different models.
    """

    classification: str
    explanation: str
    diff: EnvironmentDiff | None = None
    model_changes: list[str] = field(default_factory=list)


def drift_assessment(loaded: Mapping[str, Sequence[Any]], overall: str) -> DriftAssessment:
    """Classify a campaign's two sides with repro.compare.drift's classes.

    Parameters
    ----------
    loaded : mapping
        ``{"baseline": [RunSpikes], "candidate": [RunSpikes]}``.
    overall : str
        The campaign's overall verdict.
    """
    from repro.compare.runs import parameter_changes

    base, cand = list(loaded.get("baseline", [])), list(loaded.get("candidate", []))
    if not base or not cand:
        return DriftAssessment("unknown", "run crates of one side could not be read")
    diff = environment_diff(environment_of(base), environment_of(cand))
    models = {r.model_hash for r in base} | {r.model_hash for r in cand}
    if len(models) > 1:
        return DriftAssessment(
            NOT_A_DRIFT_PAIR, "the two sides run different models, so differences are "
            "expected from the model change, not from the environment", diff,
            parameter_changes(base[0], cand[0]))
    if diff.empty:
        if overall == Verdict.FAIL:
            return DriftAssessment(DriftClass.NONDETERMINISM, "identical environments gave "
                                   "different results", diff)
        return DriftAssessment(DriftClass.CONSISTENT, "identical environments; the results "
                               "agree", diff)
    if overall == Verdict.FAIL:
        return DriftAssessment(DriftClass.EFFECT, "the environment changed and statistics moved "
                               "beyond tolerance", diff)
    caveat = " (some cells warn)" if overall == Verdict.WARN else ""
    return DriftAssessment(DriftClass.BENIGN, "the environment changed; the statistics did "
                           f"not move beyond tolerance{caveat}", diff)
