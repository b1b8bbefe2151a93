"""``repro run``: dispatch an experiment (or a classic PyNN script) to its targets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer

from repro.cli.common import (
    STORE_OPTION,
    JsonOption,
    OptionalExperimentArgument,
    SeedsOption,
    TargetsOption,
    console,
    err_console,
    open_store,
    parse_list,
    parse_seeds,
    print_json,
)
from repro.config.experiment import load_experiment, script_experiment
from repro.errors import InputError, RunFailedError
from repro.execution.dispatch import Progress, RunOutcome, run_experiment
from repro.execution.preflight import check_script
from repro.execution.script_models import with_dialect_models
from repro.site.files import NO_SPIKES
from repro.targets.tables import resolve_targets

T = TypeVar("T")


def run(
    ctx: typer.Context,
    experiment: OptionalExperimentArgument = None,
    targets: TargetsOption = None,
    seeds: SeedsOption = None,
    script: Path | None = typer.Option(
        None, "--script", help="Run an unmodified classic PyNN script instead of an experiment "
                               "(import pyNN.<backend> as sim ... sim.run ... sim.end())."),
    force: bool = typer.Option(False, "--force", help="Rerun even when a cached run exists."),
    export_frozen: bool = typer.Option(
        False, "--export-frozen", help="Export every run's input spike trains and connectivity "
                                       "(frozen_input.npz in its crate) for replay."),
    frozen_from: str | None = typer.Option(
        None, "--frozen-from",
        help="Replay the frozen input exported by these runs (a run selection SEL or crate "
             "path): each connectivity seed replays the exporting run of that seed."),
    as_json: JsonOption = False,
    store: Path | None = STORE_OPTION,
) -> None:
    """Run an experiment on every target for every seed and record one crate per run.

    A run whose run key (model hash + target + seed + environment) is already in the store is
    reused and reported as "cached"; --force reruns it. Every run, failed ones included, is
    recorded as a Process Run Crate under crates/runs/<experiment>/<run-id>/.

    Examples:

      repro run experiments/balanced_random

      repro run experiments/balanced_random --targets local,spinnaker_emulator --seeds 1-5

      repro run --script my_spinnaker_example.py --targets local

      repro run --script brunel.py --targets spinnaker_emulator -- --plot-figure

      repro run experiments/balanced_random --targets local --export-frozen

      repro run experiments/balanced_random --targets local,spinnaker_emulator
      --frozen-from experiment=balanced_random,target=local

    With --script, arguments after "--" are the script's own command line; a script that
    reads its simulator from it (PyNN's get_simulator) is given the target's backend.
    A script that records no spikes (it studies connectivity, or writes its own files)
    completes; its run says "no spikes recorded" and comparisons of it stop with an error:
    there is nothing to compare.
    """
    script_args = list(ctx.args)
    if script is not None and experiment is not None:
        script_args.insert(0, str(experiment))
        experiment = None
    if (experiment is None) == (script is None):
        raise InputError("give either an EXPERIMENT or --script FILE.py (not both)",
                         field="EXPERIMENT")
    if script_args and script is None:
        raise InputError(f"unexpected arguments {script_args}: only a --script takes "
                         "arguments (after --)", field="EXPERIMENT")
    seed_list = parse_seeds(seeds)
    exp = (load_experiment(experiment) if experiment is not None
           else script_experiment(script, seed_list, script_args))
    chosen = resolve_targets(parse_list(targets) or exp.targets, exp)
    check_script(exp, chosen)
    exp = with_dialect_models(exp, chosen)
    run_seeds = seed_list or exp.seeds
    run_store = open_store(store)
    frozen = frozen_inputs(run_store, frozen_from) if frozen_from else None
    if frozen is not None and not seed_list:
        run_seeds = [s for s in run_seeds if s in frozen] or sorted(frozen)
    outcomes = run_with_progress(exp.name, lambda progress: run_experiment(
        exp, chosen, run_seeds, run_store, force=force, progress=progress,
        export_frozen=export_frozen, frozen_inputs=frozen))
    if as_json:
        print_json([{**o.record.to_dict(), "cached": o.cached, "notes": o.notes}
                    for o in outcomes])
    else:
        print_runs(outcomes, run_store.root)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        first = failed[0]
        reason = first.record.extra.get("error") or "see its harness.log"
        raise RunFailedError(f"{len(failed)} of {len(outcomes)} runs failed; first: {first.target} "
                        f"seed {first.seed}: {reason} (crate: "
                        f"{run_store.root / first.record.crate_path})")


def run_with_progress(name: str, call: Callable[[Progress], T]) -> T:
    """Call ``call(progress)`` under a progress bar (plain lines when not on a terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as ProgressBar

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("{task.fields[last]}"))
    with ProgressBar(*columns, console=err_console, transient=False,
                  disable=not err_console.is_terminal) as bar:
        task = bar.add_task(f"{name}", total=None, last="")

        def progress(event: str, **info) -> None:
            if event == "nestml":  # NESTML module built or reused (repro.execution.dispatch)
                state = (f"build cache hit ({info['seconds'] * 1000:.0f} ms)"
                         if info["cache_hit"] else f"built in {info['build_seconds']:.1f} s")
                err_console.print(f"NESTML module {info['module']}: {state}; SpiNNaker "
                                  f"target: {info['spinnaker']}", highlight=False)
            if event == "planned":
                bar.update(task, total=info["total"])
            elif event == "submitted":
                bar.update(task, last=f"running {info['target']} seed {info['seed']}")
            elif event in ("cached", "finished"):
                word = "cached" if event == "cached" else info.get("status", "")
                bar.update(task, advance=1, last=f"{info['target']} seed {info['seed']}: {word}")
            if not err_console.is_terminal and event in ("cached", "finished"):
                word = "cached" if event == "cached" else info.get("status", "")
                err_console.print(f"{info['target']} seed {info['seed']}: {word}",
                                  highlight=False)

        return call(progress)


def frozen_inputs(store, text: str) -> dict[int, Path]:
    """Connectivity seed -> frozen-input file of the runs a selection names.

    Raises
    ------
    InputError
        If a selected run exported no frozen input, or two selected runs of one seed did.
    """
    import json

    from repro.compare.selection import parse_selection, resolve_selection

    found: dict[int, Path] = {}
    for crate in resolve_selection(store, parse_selection(text, "--frozen-from")):
        path = crate / "frozen_input.npz"
        if not path.is_file():
            raise InputError(f"run {crate.name} exported no frozen input (run it with "
                             "--export-frozen)", field="--frozen-from")
        seed = int(json.loads((crate / "run_spec.json").read_text())["seed"])
        if seed in found:
            raise InputError(f"two selected runs export frozen input for seed {seed} "
                             f"({found[seed].parent.name}, {crate.name}); narrow the selection",
                             field="--frozen-from")
        found[seed] = path
    return found


def print_runs(outcomes: list[RunOutcome], root: Path) -> None:
    """Table of run outcomes; crates live under ``root/runs/<experiment>/<run id>``."""
    from rich.table import Table

    table = Table(title="runs", show_lines=False)
    for column in ("target", "seed", "status", "run id"):
        table.add_column(column, overflow="fold")
    silent = [o for o in outcomes if o.ok and o.record.extra.get("spikes_recorded") is False]
    for outcome in outcomes:
        status = "cached" if outcome.cached else outcome.record.status
        style = {"failed": "red", "cached": "cyan"}.get(status, "green")
        if any(outcome is o for o in silent):
            status, style = f"{status}, no spikes recorded", "yellow"
        table.add_row(outcome.target, str(outcome.seed), f"[{style}]{status}[/]",
                      outcome.record.run_id)
    console.print(table)
    experiments = sorted({o.record.experiment for o in outcomes})
    for name in experiments:
        console.print(f"crates: {root / 'runs' / name}/<run id>", highlight=False)
    for outcome in outcomes:
        for note in outcome.notes:
            console.print(f"note: {note}")
    for outcome in silent:
        console.print(f"note: run {outcome.record.run_id} ({outcome.target} seed "
                      f"{outcome.seed}): the script {NO_SPIKES}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``repro run``."""
    # Script arguments follow `--`; an unknown option before it stays a usage error.
    app.command(context_settings={"allow_extra_args": True})(run)
