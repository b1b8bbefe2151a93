"""``repro campaign``: the main job — run on every target, compare, write the report."""

from __future__ import annotations

from pathlib import Path

import typer

from repro.cli.common import (
    STORE_OPTION,
    ExperimentArgument,
    ProfileOption,
    SeedsOption,
    TargetsOption,
    console,
    open_store,
    parse_list,
    parse_seeds,
)
from repro.cli.run import print_runs, run_with_progress
from repro.config.experiment import load_experiment
from repro.execution.campaign import run_campaign
from repro.targets.tables import resolve_targets


def campaign(
    experiment: ExperimentArgument,
    targets: TargetsOption = None,
    seeds: SeedsOption = None,
    profile: ProfileOption = "default",
    force: bool = typer.Option(False, "--force", help="Rerun even when cached runs exist."),
    store: Path | None = STORE_OPTION,
) -> None:
    """Run an experiment on all its targets, compare each target with the first, report.

    Each comparison is recorded as a campaign crate (Provenance Run Crate) holding the
    statistics, the verdicts and a self-contained HTML validation report. The command ends by
    printing where the reports and crates are. Its exit code says whether the runs worked
    (0) or not (1); the verdict itself is in the report — use `repro regress` to gate CI on it.

    Example:

      repro campaign experiments/balanced_random

    The first of -t/--targets is the baseline; -p/--profile "default" means the experiment's
    tolerance profile.
    """
    exp = load_experiment(experiment)
    chosen = resolve_targets(parse_list(targets) or exp.targets, exp)
    run_seeds = parse_seeds(seeds) or exp.seeds
    run_store = open_store(store)
    outcome = run_with_progress(exp.name, lambda progress: run_campaign(
        exp, chosen, run_seeds, run_store, profile=profile, force=force, progress=progress))
    print_runs(outcome.runs, run_store.root)
    if not outcome.comparisons:
        console.print(f"only one target ({chosen[0].name}): nothing to compare; give two "
                      "targets, e.g. --targets local,spinnaker_emulator")
    for comparison in outcome.comparisons:
        style = comparison.overall.style
        console.print(f"{comparison.baseline} vs {comparison.candidate}: "
                      f"[{style}]{comparison.overall.upper()}[/]", highlight=False)
        for cell in comparison.moved[:8]:
            console.print(f"  {cell['verdict']}: {cell['population']}/{cell['statistic']}",
                          highlight=False)
        console.print(f"  report:   {comparison.report}", highlight=False)
        console.print(f"  campaign: {comparison.campaign_dir}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``repro campaign``."""
    app.command()(campaign)
