"""``repro crates ls|show|reindex`` and ``repro verify``: look into the run store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from repro.cli.common import (
    STORE_OPTION,
    ExperimentOption,
    JsonOption,
    TargetsOption,
    console,
    deprecated,
    experiment_name,
    open_store,
    parse_list,
    print_json,
)
from repro.errors import InputError, IntegrityError
from repro.records.run_crate import read_metadata, verify_crate
from repro.site.files import RESULT, read_json

crates_app = typer.Typer(help="List and inspect the runs in the store.", no_args_is_help=True)


@crates_app.command("ls")
def list_runs(
    experiment: ExperimentOption = None,
    targets: TargetsOption = None,
    target: Annotated[str | None, typer.Option(
        "--target", hidden=True, help="Deprecated: use --targets/-t.")] = None,
    status: str | None = typer.Option(None, "--status", help="completed or failed."),
    as_json: JsonOption = False,
    store: Path | None = STORE_OPTION,
) -> None:
    """List runs (newest last) with target, seed, status and hashes.

    -e/--experiment (a name or an experiment file) and -t/--targets (comma-separated) keep
    only those runs.
    """
    if target is not None:
        deprecated("--target", "--targets/-t")
    names = parse_list(targets) or parse_list(target)
    records = [r for r in open_store(store).select(experiment=experiment_name(experiment),
                                                    status=status)
               if not names or r.target in names]
    if as_json:
        print_json([r.to_dict() for r in records])
        return
    table = Table(title=f"{len(records)} runs")
    for column in ("run id", "experiment", "target", "seed", "status", "model", "env"):
        table.add_column(column, overflow="fold")
    for r in records:
        style = "green" if r.status == "completed" else "red"
        table.add_row(r.run_id, r.experiment, r.target, str(r.seed), f"[{style}]{r.status}[/]",
                      r.model_hash[:12], r.env_digest[:12])
    console.print(table)


@crates_app.command("show")
def show(
    run: str = typer.Argument(..., help="Run id (or unique prefix) or crate directory."),
    as_json: JsonOption = False,
    store: Path | None = STORE_OPTION,
) -> None:
    """Show one run: identity, hashes, timings, environment and files."""
    run_store = open_store(store)
    try:
        crate_dir = run_store.find_crate(run)
    except FileNotFoundError as exc:
        raise InputError(str(exc), field="RUN") from None
    graph = read_metadata(crate_dir)
    action = next((e for e in graph.values() if e.get("@type") == "CreateAction"), {})
    values = {e["name"]: e.get("value") for e in graph.values()
              if e.get("@type") == "PropertyValue" and "name" in e}
    files = {k: {"sha256": e.get("sha256"), "size": e.get("contentSize")}
             for k, e in graph.items() if e.get("@type") == "File"}
    result = read_json(crate_dir / RESULT) or {}
    summary = {
        "crate": str(crate_dir), "name": graph.get("./", {}).get("name"),
        "status": action.get("actionStatus", "").rsplit("/", 1)[-1],
        "error": action.get("error"), "startTime": action.get("startTime"),
        "endTime": action.get("endTime"), "values": values,
        "populations": result.get("populations", []), "timings": result.get("timings", {}),
        "notes": result.get("notes", []), "files": files,
    }
    if as_json:
        print_json(summary)
        return
    console.print(f"[bold]{summary['name']}[/]\n{crate_dir}")
    console.print(f"status: {summary['status']}" + (f" — {summary['error']}"
                                                     if summary["error"] else ""))
    table = Table(show_header=False)
    for key, value in sorted(values.items()):
        table.add_row(key, str(value))
    console.print(table)
    for pop in summary["populations"]:
        rate = pop["n_spikes"] / max(pop["size"], 1) / max(
            (pop["t_stop"] - pop["t_start"]) / 1000.0, 1e-9)
        console.print(f"population {pop['name']}: {pop['size']} × {pop['celltype']}, "
                      f"{pop['n_spikes']} spikes, {rate:.2f} spikes/s")
    for note in summary["notes"]:
        console.print(f"note: {note}")


@crates_app.command("reindex")
def reindex(store: Path | None = STORE_OPTION) -> None:
    """Rebuild the store index from the crates on disk."""
    count = open_store(store).reindex()
    console.print(f"indexed {count} runs")


def verify(
    crate: str = typer.Argument(..., help="Crate directory or run id."),
    store: Path | None = STORE_OPTION,
) -> None:
    """Recompute the sha256 of every file a crate records; name each file that differs.

    Exit code 0 when the crate is intact, 1 when any file differs or is missing.
    """
    try:
        crate_dir = open_store(store).find_crate(crate)
    except FileNotFoundError as exc:
        raise InputError(str(exc), field="CRATE") from None
    problems = verify_crate(crate_dir)
    if problems:
        raise IntegrityError(f"{crate_dir}: {len(problems)} file(s) differ from the record:\n  "
                             + "\n  ".join(problems))
    count = sum(1 for e in read_metadata(crate_dir).values() if "sha256" in e)
    console.print(f"[green]ok[/]: {crate_dir}: {count} files match their recorded sha256")


def register(app: typer.Typer) -> None:
    """Add ``repro crates`` and ``repro verify``."""
    app.add_typer(crates_app, name="crates")
    app.command()(verify)
