"""The whole embedded workflow in one call: run every target, compare, report.

``run_campaign`` is what ``repro campaign`` and the notebooks use: it dispatches an
experiment to its targets for its seeds, compares every other target against the first
(the baseline) with the tolerance profile, records each comparison as a campaign crate and
writes its HTML report into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from repro.compare.outcomes import Verdict
from repro.config.experiment import Experiment
from repro.errors import RunFailedError
from repro.execution.dispatch import Progress, RunOutcome, run_experiment
from repro.records.store import Store
from repro.site.clock import utc_now
from repro.targets.base import Target


@dataclass
class TargetComparison:
    """One baseline-vs-candidate comparison of a campaign."""

    baseline: str
    candidate: str
    overall: Verdict
    campaign_dir: Path
    report: Path
    moved: list[dict] = field(default_factory=list)


@dataclass
class CampaignOutcome:
    """Runs and comparisons of one ``run_campaign`` call."""

    runs: list[RunOutcome]
    comparisons: list[TargetComparison]


def record_comparison(store: Store, kind: str, title: str, result, profile, started: str,
                      extra: dict[str, tuple[str, bytes]] | None = None,
                      summary: dict | None = None) -> Path:
    """Write a comparison result as a campaign crate in ``store``; return its directory."""
    from repro.records.campaign_crate import Campaign, new_campaign_id, write_campaign_crate

    campaign = Campaign(kind=kind, title=title,
                        inputs={"baseline": result.baseline, "candidate": result.candidate},
                        profile=profile, statistics=result.statistics,
                        verdicts=result.verdicts, summary=summary or result.summary(),
                        extra_outputs=extra or {}, started=started, ended=utc_now())
    return write_campaign_crate(store.campaigns_dir / new_campaign_id(kind), campaign,
                                store.root)


def run_campaign(experiment: Experiment, targets: list[Target], seeds: list[int],
                 store: Store, *, profile: str = "default", force: bool = False,
                 progress: Progress | None = None) -> CampaignOutcome:
    """Run, compare each target with the first, and write one report per comparison.

    Raises
    ------
    RunFailedError
        If any run failed (its failed crate is in the store; nothing is compared).
    """
    from repro.compare.profiles import load_profile
    from repro.compare.runs import compare_runs
    from repro.compare.spikes import load_runs
    from repro.report import write_report

    outcomes = run_experiment(experiment, targets, seeds, store, force=force,
                              progress=progress)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        first = failed[0]
        raise RunFailedError(
            f"{len(failed)} of {len(outcomes)} runs failed, nothing compared; first: "
            f"{first.target} seed {first.seed}: {first.record.extra.get('error') or ''} "
            f"(crate: {store.crate_dir(first.record)})")
    crates = {t.name: [store.crate_dir(o.record) for o in outcomes if o.target == t.name]
              for t in targets}
    chosen = load_profile(experiment.tolerance if profile == "default" else profile)
    comparisons = []
    baseline = targets[0].name
    for candidate in (t.name for t in targets[1:]):
        started = utc_now()
        result = compare_runs(load_runs(crates[baseline]), load_runs(crates[candidate]),
                              chosen)
        campaign_dir = record_comparison(
            store, "comparison", f"{experiment.name}: {baseline} vs {candidate}", result,
            chosen, started)
        comparisons.append(TargetComparison(baseline, candidate, result.overall, campaign_dir,
                                            write_report(campaign_dir, store),
                                            result.moved()))
    return CampaignOutcome(outcomes, comparisons)
