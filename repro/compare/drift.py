"""Environment drift: did a change of environment (packages, container, release, site,
thread layout) change the results of the same model?

Runs of one model hash are grouped by execution environment. A group with repeated seeds is
checked strictly (identical environment + seed + thread layout must give identical spike
files); every later environment is compared with the earliest one, by the environment
manifests (package by package) and by the seed-aware verdict of :mod:`repro.compare`.
Classes: ``consistent``, ``benign-drift``, ``drift-with-effect``, ``nondeterminism``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from repro.compare.outcomes import DriftClass, Verdict
from repro.compare.profiles import Profile
from repro.compare.spikes import RunSpikes

CONSISTENT, BENIGN = DriftClass.CONSISTENT, DriftClass.BENIGN
EFFECT, NONDETERMINISM = DriftClass.EFFECT, DriftClass.NONDETERMINISM
#: Facts that decide whether two runs with one seed must be bitwise identical.
NUMERICS_FACTS = ("simulator", "threads", "mpi_processes", "resolution_ms")
#: The thread layout. NEST's results depend on the number of virtual processes (threads x MPI
#: processes), not on their split, so NEST runs with equal products must agree bitwise.
LAYOUT_FACTS = ("threads", "mpi_processes")


@dataclass(frozen=True)
class Environment:
    """Execution environment of a run (or the common part of several runs).

    Attributes
    ----------
    packages : dict
        ``{distribution: version}``.
    facts : dict
        Site, ESD release, container digest, thread layout, simulator and resolution.
    """

    packages: dict[str, str]
    facts: dict[str, str]

    @property
    def key(self) -> str:
        """sha256 of the canonical environment (equal keys = identical environments)."""
        text = json.dumps({"packages": self.packages, "facts": self.facts}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def run_environment(run: RunSpikes) -> Environment:
    """The environment a run recorded (from its ``environment.json``)."""
    manifest = run.facts.get("environment", {})
    simulator = manifest.get("simulator", {})
    facts = {
        "site": str(manifest.get("site") or run.facts.get("site", "")),
        "esd_release": str(manifest.get("esd_release") or ""),
        "container_digest": str((manifest.get("container") or {}).get("digest", "")),
        "threads": str(simulator.get("threads", run.facts.get("threads", ""))),
        "mpi_processes": str(simulator.get("mpi_processes", run.facts.get("mpi_processes", ""))),
        "simulator": f"{simulator.get('name', '')} {simulator.get('version', '')}".strip(),
        "resolution_ms": str(simulator.get("resolution_ms", run.facts.get("timestep_ms", ""))),
    }
    return Environment(dict(manifest.get("packages", {})), facts)


def environment_of(runs: Sequence[RunSpikes]) -> Environment:
    """Common environment of several runs; values that differ read ``a | b``."""
    envs = [run_environment(r) for r in runs]

    def merge(maps: list[dict[str, str]]) -> dict[str, str]:
        keys = sorted(set().union(*maps)) if maps else []
        merged = {}
        for key in keys:
            values = sorted({m.get(key, "(absent)") for m in maps})
            merged[key] = values[0] if len(values) == 1 else " | ".join(values)
        return merged

    return Environment(merge([e.packages for e in envs]), merge([e.facts for e in envs]))


@dataclass(frozen=True)
class EnvironmentDiff:
    """What changed between two environments: ``{name: (old, new)}``."""

    packages: dict[str, tuple[str, str]]
    facts: dict[str, tuple[str, str]]

    @property
    def empty(self) -> bool:
        """True when nothing changed."""
        return not self.packages and not self.facts

    def lines(self) -> list[str]:
        """``name: old -> new`` lines, facts first."""
        return ([f"{k}: {a or '(none)'} -> {b or '(none)'}" for k, (a, b) in self.facts.items()]
                + [f"package {k}: {a} -> {b}" for k, (a, b) in self.packages.items()])

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"facts": {k: list(v) for k, v in self.facts.items()},
                "packages": {k: list(v) for k, v in self.packages.items()}}


def environment_diff(old: Environment, new: Environment) -> EnvironmentDiff:
    """Package-by-package and fact-by-fact difference (absent packages read ``(absent)``)."""
    def diff(a: dict[str, str], b: dict[str, str]) -> dict[str, tuple[str, str]]:
        return {k: (a.get(k, "(absent)"), b.get(k, "(absent)"))
                for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}

    return EnvironmentDiff(diff(old.packages, new.packages), diff(old.facts, new.facts))


@dataclass
class EnvironmentGroup:
    """Runs of one model in one environment."""

    environment: Environment
    runs: list[RunSpikes]

    @property
    def label(self) -> str:
        """Short description: targets, thread layout, key prefix."""
        targets = ",".join(sorted({r.target for r in self.runs}))
        facts = self.environment.facts
        return (f"env {self.environment.key[:10]} ({targets}; {facts['simulator']}, "
                f"{facts['threads']} thread(s), dt {facts['resolution_ms']} ms)")

    def one_per_seed(self) -> list[RunSpikes]:
        """The first run of every seed (repeats would fake a zero seed-to-seed distance)."""
        seen: dict[int, RunSpikes] = {}
        for run in self.runs:
            seen.setdefault(run.seed, run)
        return list(seen.values())


@dataclass
class Finding:
    """One classified observation."""

    model_hash: str
    classification: DriftClass
    subject: str
    details: list[str] = field(default_factory=list)
    changes: EnvironmentDiff | None = None
    moved: list[dict[str, Any]] = field(default_factory=list)
    verdict: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"model_hash": self.model_hash, "classification": self.classification,
                "subject": self.subject, "details": self.details, "verdict": self.verdict,
                "changes": self.changes.as_dict() if self.changes else None,
                "moved": self.moved}


@dataclass
class DriftReport:
    """All findings for a set of runs."""

    findings: list[Finding]

    @property
    def alarming(self) -> bool:
        """True when any finding is drift with effect or nondeterminism."""
        return any(f.classification in (EFFECT, NONDETERMINISM) for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"format": "repro.drift/1", "alarming": self.alarming,
                "findings": [f.as_dict() for f in self.findings]}

    def lines(self) -> list[str]:
        """Human-readable report."""
        out = []
        for f in self.findings:
            out.append(f"[{f.classification}] model {f.model_hash[:12]}: {f.subject}")
            out.extend(f"    {line}" for line in f.details)
            if f.changes is not None and not f.changes.empty:
                changes = f.changes.lines()
                out.append("    environment changes: " + "; ".join(changes[:10])
                           + (f"; ... {len(changes) - 10} more" if len(changes) > 10 else ""))
            for cell in f.moved:
                out.append(f"    moved: {cell['population']}/{cell['statistic']} "
                           f"{cell['verdict']} (R {_num(cell['r'])}, mean "
                           f"{_num(cell['baseline_mean'])} -> {_num(cell['candidate_mean'])})")
        return out or ["no runs"]


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def group_by_environment(runs: Sequence[RunSpikes]) -> list[EnvironmentGroup]:
    """Groups of identical environments, ordered by the earliest capture time in each."""
    groups: dict[str, EnvironmentGroup] = {}
    for run in runs:
        env = run_environment(run)
        groups.setdefault(env.key, EnvironmentGroup(env, [])).runs.append(run)
    return sorted(groups.values(), key=lambda g: min(
        str(r.facts.get("environment", {}).get("captured_at", "")) for r in g.runs))


def strict_self_check(group: EnvironmentGroup, model: str) -> Finding | None:
    """Repeated seeds in one environment must give identical spike files (None: no repeats)."""
    by_seed: dict[int, set[str]] = {}
    for run in group.runs:
        by_seed.setdefault(run.seed, set()).add(run.facts.get("spikes_sha256", ""))
    repeated = {s: h for s, h in by_seed.items()
                if sum(1 for r in group.runs if r.seed == s) > 1}
    if not repeated:
        return None
    differing = sorted(s for s, hashes in repeated.items() if len(hashes) > 1)
    if differing:
        return Finding(model, NONDETERMINISM, f"identical environment {group.label}", [
            f"seeds {', '.join(map(str, differing))}: repeated runs with identical environment, "
            "seed and thread layout produced different spike files"])
    return Finding(model, CONSISTENT, f"identical environment {group.label}", [
        f"seeds {', '.join(map(str, sorted(repeated)))}: repeated runs produced bitwise "
        "identical spike files"])


def numerics_key(facts: dict[str, str]) -> tuple[str, ...]:
    """What decides bitwise identity: simulator, resolution and thread layout (for NEST, the
    number of virtual processes)."""
    layout: tuple[str, ...] = tuple(facts[k] for k in LAYOUT_FACTS)
    if facts["simulator"].startswith("NEST"):
        with contextlib.suppress(ValueError):
            layout = (f"{int(facts['threads'] or 1) * int(facts['mpi_processes'] or 1)} VP",)
    return (facts["simulator"], facts["resolution_ms"], *layout)


def _strict_pairs(old: EnvironmentGroup, new: EnvironmentGroup) -> list[bool]:
    """Per shared seed: identical spike files (empty when the numerics differ)."""
    if numerics_key(old.environment.facts) != numerics_key(new.environment.facts):
        return []
    old_hashes = {r.seed: r.facts.get("spikes_sha256") for r in old.runs}
    return [old_hashes[r.seed] == r.facts.get("spikes_sha256")
            for r in new.one_per_seed() if r.seed in old_hashes]


def strict_cross_check(old: EnvironmentGroup, new: EnvironmentGroup) -> list[str]:
    """Same seed and same numerics facts across environments: are spike files identical?"""
    pairs = _strict_pairs(old, new)
    if not pairs:
        return []
    return [f"strict check: {sum(pairs)} of {len(pairs)} same-seed runs (same simulator and "
            f"virtual processes) have identical spike files"]


def compare_groups(old: EnvironmentGroup, new: EnvironmentGroup, model: str,
                   profile: Profile) -> Finding:
    """Classify the drift from ``old`` to ``new`` (different environments of one model)."""
    from repro.compare.runs import compare_runs

    changes = environment_diff(old.environment, new.environment)
    details = strict_cross_check(old, new)
    pairs = _strict_pairs(old, new)
    if (pairs and all(pairs) and not changes.packages
            and set(changes.facts) <= set(LAYOUT_FACTS)):
        layout = ", ".join(f"{k} {a} -> {b}" for k, (a, b) in changes.facts.items())
        return Finding(model, CONSISTENT, f"{old.label} -> {new.label}", details + [
            f"only the thread layout changed ({layout}) at the same number of virtual "
            "processes, and every same-seed spike file is identical"], changes)
    result = compare_runs(old.one_per_seed(), new.one_per_seed(), profile)
    moved = [c for c in result.moved() if c["verdict"] == Verdict.FAIL] \
        if result.overall == Verdict.FAIL else []
    classification = EFFECT if result.overall == Verdict.FAIL else BENIGN
    details.append(f"statistics: {result.overall} ({len(old.one_per_seed())} vs "
                   f"{len(new.one_per_seed())} seeds"
                   + (", low confidence" if result.verdicts.attrs["low_confidence"] else "")
                   + ")")
    if result.overall == Verdict.WARN:
        watch = [f"{c['population']}/{c['statistic']}" for c in result.moved()]
        details.append("not significant, but watch: " + ", ".join(watch))
    return Finding(model, classification, f"{old.label} -> {new.label}", details, changes,
                   moved, result.overall)


def drift_report(runs: Sequence[RunSpikes], profile: Profile) -> DriftReport:
    """Classify drift in ``runs`` for every model hash among them.

    Raises
    ------
    SelectionError
        If ``runs`` is empty or runs of one model are not comparable.
    """
    from repro.errors import SelectionError

    if not runs:
        raise SelectionError("no runs selected")
    findings = []
    models: dict[str, list[RunSpikes]] = {}
    for run in runs:
        models.setdefault(run.model_hash, []).append(run)
    for model, model_runs in models.items():
        groups = group_by_environment(model_runs)
        for group in groups:
            finding = strict_self_check(group, model)
            if finding is not None:
                findings.append(finding)
        for group in groups[1:]:
            findings.append(compare_groups(groups[0], group, model, profile))
        if len(groups) == 1 and not any(f.model_hash == model for f in findings):
            findings.append(Finding(model, CONSISTENT, f"one environment {groups[0].label}", [
                "no environment change and no repeated seed: nothing to compare"]))
    return DriftReport(findings)
