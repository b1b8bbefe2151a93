"""Prove from the record which runs are paired: equal topology fingerprints, same connectivity.

Two runs are paired when the ``topology`` hashes of their connectivity records
(``connectivity.json``, see :mod:`repro.site.fingerprints`) are equal: every projection
connects the same (pre, post) pairs. Weights, delays or initial values may differ: they are
what is under test, and :func:`pair_runs` names which ones differ and in which projections.
Runs of one side with the same topology are noise replicates (same connectivity, another
simulator noise seed): averaged into one value per connectivity for the paired test, and
their differences are the noise-only pairs the test is calibrated against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from repro.compare.spikes import RunSpikes

PAIRED, UNPAIRED = "paired", "unpaired"
#: Human names of the fingerprint parts that may differ between paired runs.
PART_NAMES = {"weight": "weights", "delay": "delays", "initial_values": "initial values"}


@dataclass
class Pairing:
    """How the runs of two sides relate.

    Attributes
    ----------
    design : str
        ``"paired"`` or ``"unpaired"``.
    reason : str
        Why (for unpaired: why pairing was refused).
    groups : list of tuple
        Per shared topology: (topology hash, baseline run ids, candidate run ids).
    differs : dict
        Part (``weight``, ``delay``, ``initial_values``) -> labels of the projections (or
        ``population.variable``) whose hash differs between the sides.
    noise_pairs : list of tuple
        ``(side, run id a, run id b)``: runs of one side on the same connectivity.
    """

    design: str
    reason: str
    groups: list[tuple[str, list[str], list[str]]] = field(default_factory=list)
    differs: dict[str, list[str]] = field(default_factory=dict)
    noise_pairs: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def k(self) -> int:
        """Number of pairs (shared connectivities)."""
        return len(self.groups)

    def describe(self) -> str:
        """One sentence for the report and the summary."""
        if self.design == UNPAIRED:
            return f"unpaired design: {self.reason}"
        parts = [f"{PART_NAMES[p]} ({', '.join(where)})" for p, where in self.differs.items()]
        changed = ("; the sides differ in " + "; ".join(parts)) if parts else (
            "; weights, delays and initial values are identical too")
        noise = (f"; {len(self.noise_pairs)} noise-only pair(s) available for calibration"
                 if self.noise_pairs else "")
        return (f"paired design: {self.k} pairs of runs on identical connectivity (topology "
                f"fingerprints match){changed}{noise}")

    def summary(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {"design": self.design, "reason": self.reason, "pairs": self.k,
                "groups": [{"topology": t, "baseline": b, "candidate": c}
                           for t, b, c in self.groups],
                "differs": self.differs,
                "noise_pairs": [list(p) for p in self.noise_pairs]}


def topology(run: RunSpikes) -> str | None:
    """The combined topology hash of a run, or None when the crate has no fingerprints."""
    connectivity = run.facts.get("connectivity") or {}
    return (connectivity.get("combined") or {}).get("topology")


def _by_topology(runs: Sequence[RunSpikes]) -> dict[str, list[RunSpikes]]:
    out: dict[str, list[RunSpikes]] = {}
    for run in runs:
        out.setdefault(topology(run) or "", []).append(run)
    return out


def _differences(a: RunSpikes, b: RunSpikes) -> dict[str, list[str]]:
    """Fingerprint parts that differ between two runs of equal topology, with where."""
    ca, cb = a.facts["connectivity"], b.facts["connectivity"]
    differs: dict[str, list[str]] = {}
    for pa, pb in zip(ca.get("projections", []), cb.get("projections", []), strict=False):
        for part in ("weight", "delay"):
            if pa.get(part) != pb.get(part):
                differs.setdefault(part, []).append(pa.get("label", "?"))
    va = {(i["population"], i["variable"]): i["sha256"] for i in ca.get("initial_values", [])}
    vb = {(i["population"], i["variable"]): i["sha256"] for i in cb.get("initial_values", [])}
    for key in sorted(set(va) | set(vb)):
        if va.get(key) != vb.get(key):
            differs.setdefault("initial_values", []).append(".".join(key))
    return differs


def pair_runs(baseline: Sequence[RunSpikes], candidate: Sequence[RunSpikes],
              min_pairs: int = 2) -> Pairing:
    """Pair the runs of two sides by their topology fingerprints, or say why not.

    Pairing is used only when every run on both sides has fingerprints and every topology
    occurs on both sides, with at least ``min_pairs`` distinct topologies.

    Examples
    --------
    >>> def run(name, topo, weight="w"):
    ...     facts = {"connectivity": {"combined": {"topology": topo}, "projections": [
    ...         {"label": "0:exc->exc", "weight": weight, "delay": "d"}]}}
    ...     return RunSpikes(name, "local", 1, (), facts=facts)
    >>> pair_runs([run("a1", "T1"), run("a2", "T2")],
    ...           [run("b1", "T1", "W"), run("b2", "T2", "W")]).describe()[:60]
    'paired design: 2 pairs of runs on identical connectivity (to'
    >>> pair_runs([run("a1", "T1"), run("a2", "T2")], [run("b1", "T3"), run("b2", "T2")]).reason
    'baseline run a1 has a connectivity (topology fingerprint T1) that no candidate run has'
    """
    for side, runs in (("baseline", baseline), ("candidate", candidate)):
        missing = [r.run_id for r in runs if not topology(r)]
        if missing:
            return Pairing(UNPAIRED, f"{side} run {missing[0]} records no connectivity "
                                     "fingerprints (crate older than connectivity.json)")
    base, cand = _by_topology(baseline), _by_topology(candidate)
    for side, mine, other, name in (("baseline", base, cand, "candidate"),
                                    ("candidate", cand, base, "baseline")):
        for topo, runs in mine.items():
            if topo not in other:
                return Pairing(UNPAIRED, f"{side} run {runs[0].run_id} has a connectivity "
                                         f"(topology fingerprint {topo[:12]}) that no {name} "
                                         "run has")
    if len(base) < min_pairs:
        return Pairing(UNPAIRED, f"only {len(base)} shared connectivity; at least {min_pairs} "
                                 "pairs are needed")
    groups = [(topo, [r.run_id for r in base[topo]], [r.run_id for r in cand[topo]])
              for topo in base]
    differs: dict[str, list[str]] = {}
    for topo in base:
        for part, where in _differences(base[topo][0], cand[topo][0]).items():
            differs.setdefault(part, [])
            differs[part].extend(w for w in where if w not in differs[part])
    noise = [(side, runs[0].run_id, other.run_id)
             for side, by in (("baseline", base), ("candidate", cand))
             for runs in by.values() for other in runs[1:]]
    return Pairing(PAIRED, "topology fingerprints match", groups, differs, noise)
