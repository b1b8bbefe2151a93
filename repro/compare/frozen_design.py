"""The frozen-input design: replayed run pairs with the same frozen input, spike by spike.

Applies when both sides are replays (``repro run --frozen-from``) and every pair of runs on
the same connectivity replayed the same frozen-input file (same sha256, from the record).
Each pair is compared with :mod:`repro.compare.spike_match`; a pair *matches* when at least
``MIN_MATCHED`` of its spikes in every population are matched within +-1 time step. The
verdict is **pass** when every pair matches and **fail** otherwise: on one simulator a replay
is deterministic (NEST against itself gives identical spikes), so any unmatched spike is a
change in the model, the simulator or its numerics. Between simulators (NEST against the
SpiNNaker emulator) the report shows where and when they part.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from repro.compare.outcomes import Verdict
from repro.compare.pairing import Pairing
from repro.compare.spike_match import PopulationMatch, compare_pair, pair_matches
from repro.compare.spikes import RunSpikes

#: Share of spikes a replayed pair must match within one time step, in every population.
MIN_MATCHED = 0.99


def frozen_sha(run: RunSpikes) -> str | None:
    """sha256 of the frozen-input file a run replayed (None for a run that replayed none)."""
    return (run.facts.get("frozen_replay") or {}).get("sha256")


def frozen_pairs(baseline: Sequence[RunSpikes], candidate: Sequence[RunSpikes],
                 pairing: Pairing) -> list[tuple[RunSpikes, RunSpikes]] | None:
    """Run pairs that replayed the same frozen input, or None when the design does not apply."""
    if pairing.design != "paired":
        return None
    runs = {r.run_id: r for r in [*baseline, *candidate]}
    pairs = []
    for _, base_ids, cand_ids in pairing.groups:
        a, b = runs[base_ids[0]], runs[cand_ids[0]]
        if frozen_sha(a) is None or frozen_sha(a) != frozen_sha(b):
            return None
        pairs.append((a, b))
    return pairs


@dataclass
class FrozenResult:
    """Spike-by-spike comparison of every replayed pair."""

    pairs: list[tuple[str, str, list[PopulationMatch]]]
    timestep_ms: float
    min_matched: float = MIN_MATCHED

    @property
    def matched_pairs(self) -> int:
        """Pairs with at least ``min_matched`` of the spikes of every population matched."""
        return sum(pair_matches(m, self.min_matched) for _, _, m in self.pairs)

    @property
    def verdict(self) -> Verdict:
        """``pass`` when every pair matches, else ``fail``."""
        return Verdict.PASS if self.matched_pairs == len(self.pairs) else Verdict.FAIL

    def populations(self) -> dict[str, dict[str, Any]]:
        """Per population: matched fraction, first divergence, distances over the pairs."""
        out: dict[str, dict[str, Any]] = {}
        names = [m.population for m in self.pairs[0][2]] if self.pairs else []
        for index, name in enumerate(names):
            rows = [matches[index] for _, _, matches in self.pairs]
            divergence = [m.population_divergence_ms for m in rows]
            per_neuron = np.concatenate([m.first_divergence_ms for m in rows])
            finite = per_neuron[np.isfinite(per_neuron)]
            out[name] = {
                "matched_fraction": [round(m.matched_fraction, 6) for m in rows],
                "first_divergence_ms": [None if math.isinf(d) else round(d, 4)
                                        for d in divergence],
                "neurons_diverged": float(np.isfinite(per_neuron).mean()),
                "neuron_divergence_ms_median": float(np.median(finite)) if finite.size else None,
                "van_rossum": [round(m.van_rossum, 4) for m in rows],
                "victor_purpura": [round(m.victor_purpura, 4) for m in rows],
                "spikes": [[m.n_a, m.n_b] for m in rows]}
        return out

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {"verdict": str(self.verdict), "pairs": len(self.pairs),
                "matched_pairs": self.matched_pairs, "min_matched": self.min_matched,
                "tolerance_ms": self.timestep_ms,
                "run_pairs": [[a, b] for a, b, _ in self.pairs],
                "populations": self.populations()}

    def note(self) -> str:
        """One sentence for the verdict notes."""
        parts = []
        for name, row in self.populations().items():
            first = [d for d in row["first_divergence_ms"] if d is not None]
            when = (f"first divergence at {min(first):g}-{max(first):g} ms" if first
                    else "no divergence")
            parts.append(f"{name}: {100 * float(np.mean(row['matched_fraction'])):.1f} % of "
                         f"spikes matched within +-{self.timestep_ms:g} ms, {when}")
        return (f"frozen-input design: {self.matched_pairs} of {len(self.pairs)} replayed pairs "
                f"match spike by spike (>= {100 * self.min_matched:g} % of spikes within one "
                f"time step) -> {self.verdict}; " + "; ".join(parts))


def compare_frozen(pairs: Sequence[tuple[RunSpikes, RunSpikes]]) -> FrozenResult:
    """Compare replayed run pairs spike by spike (tolerance: the coarser time step)."""
    steps = [r.facts.get("timestep_ms", 0.1) for pair in pairs for r in pair]
    timestep = max((s for s in steps if isinstance(s, float) and math.isfinite(s)),
                   default=0.1)
    return FrozenResult([(a.run_id, b.run_id, compare_pair(a.populations, b.populations,
                                                            timestep)) for a, b in pairs],
                        timestep)
