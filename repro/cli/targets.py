"""``repro targets ls`` and ``repro targets check``: what targets exist, and are they ready."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from repro.cli.common import (
    JsonOption,
    OptionalExperimentArgument,
    TargetsOption,
    console,
    parse_list,
    print_json,
)
from repro.config.experiment import Experiment, load_experiment, script_experiment
from repro.errors import InputError, ReproError, TargetError
from repro.targets import options_markdown, target_class
from repro.targets.base import Target
from repro.targets.options import Options
from repro.targets.tables import available_targets, resolve_targets

targets_app = typer.Typer(help="List execution targets and run their pre-flight checks.",
                          no_args_is_help=True)


@dataclass
class CheckResult:
    """Outcome of one target's pre-flight."""

    target: str
    kind: str
    ok: bool
    summary: str
    #: The virtual-board mapping report of a target that maps networks (status, error,
    #: script line, resources, warnings), for --json.
    mapping: dict[str, Any] = field(default_factory=dict)


def register(app: typer.Typer) -> None:
    """Add the ``targets`` command group."""
    app.add_typer(targets_app, name="targets")


def _experiment(path: Path | None) -> Experiment | None:
    return load_experiment(path) if path is not None else None


def _script_or_experiment(ctx: typer.Context, experiment: Path | None,
                          script: Path | None) -> Experiment | None:
    """The experiment, or the classic ``script`` wrapped as one (with its arguments)."""
    if script is None:
        if ctx.args:
            raise InputError(f"unexpected arguments {ctx.args}: only a --script takes "
                             "arguments (after --)", field="EXPERIMENT")
        return _experiment(experiment)
    # the script's first argument lands in the EXPERIMENT slot
    args = [str(experiment)] * (experiment is not None) + list(ctx.args)
    return script_experiment(script, None, args)


def _target_names(experiment: Experiment | None) -> list[str]:
    if experiment is None:
        return sorted(available_targets(None))
    names = list(experiment.targets) + list(experiment.target_tables)
    return list(dict.fromkeys(names))


def run_check(target: Target, experiment: Experiment | None) -> CheckResult:
    """Run ``target.check(experiment)``; never raises."""
    try:
        result = CheckResult(target.name, target.kind, True, target.check(experiment))
    except ReproError as exc:
        result = CheckResult(target.name, target.kind, False, str(exc))
    except Exception as exc:  # noqa: BLE001 - a broken check is a failed row, not a crash
        return CheckResult(target.name, target.kind, False, f"{type(exc).__name__}: {exc}")
    mapping = getattr(target, "mapping", None)  # spinnaker_virtual; cached, not mapped again
    if experiment is not None and mapping is not None:
        result.mapping = asdict(mapping(experiment))
    return result


# Script arguments follow `--`; an unknown option before it stays a usage error.
@targets_app.command("check", context_settings={"allow_extra_args": True})
def check(
    ctx: typer.Context,
    experiment: OptionalExperimentArgument = None,
    targets: TargetsOption = None,
    as_json: JsonOption = False,
    script: Path | None = typer.Option(
        None, "--script", help="Check an unmodified classic PyNN script instead of an "
                               "experiment (its own arguments follow \"--\").",
        show_default=False),
) -> None:
    """Pre-flight every target: credentials, services, and for SpiNNaker targets the
    resources the network needs on SpiNN-5 boards (sPyNNaker virtual board).

    Exit code 1 when any check fails.

    Examples:

      repro targets check experiments/balanced_random

      repro targets check experiments/balanced_random --targets spinnaker-virtual

      repro targets check --script synfire.py --targets spinnaker-virtual
    """
    exp = _script_or_experiment(ctx, experiment, script)
    names = parse_list(targets) or _target_names(exp)
    results = []
    for target in resolve_targets(names, exp):
        results.append(run_check(target, exp))
    if as_json:
        print_json([{k: v for k, v in vars(r).items() if v or k != "mapping"} for r in results])
    else:
        table = Table(title="target checks" + (f" for {exp.name}" if exp else ""))
        for column in ("target", "kind", "status", "details"):
            table.add_column(column, overflow="fold")
        for r in results:
            table.add_row(r.target, r.kind, "[green]ok[/]" if r.ok else "[red]FAILED[/]",
                          r.summary)
        console.print(table)
    failed = [r.target for r in results if not r.ok]
    if failed:
        raise TargetError(f"{len(failed)} of {len(results)} target checks failed: "
                          f"{', '.join(failed)}")


@targets_app.command("ls")
def ls(
    experiment: OptionalExperimentArgument = None,
    as_json: JsonOption = False,
) -> None:
    """List the targets known here: built-ins, ./targets.toml and the experiment's tables."""
    exp = _experiment(experiment)
    rows = []
    for name, (table, source) in sorted(available_targets(exp).items()):
        kind = str(table.get("kind", ""))
        rows.append({"target": name, "kind": kind, "source": str(source or "built-in"),
                     "options": _public_options(kind, table)})
    if as_json:
        print_json(rows)
        return
    out = Table(title="targets (every kind's options: repro targets docs)")
    for column in ("target", "kind", "defined in", "options"):
        out.add_column(column, overflow="fold")
    for row in rows:
        declared = _declared(row["kind"])
        options = ", ".join(declared.text(k, v) if declared else f"{k}={v!r}"
                            for k, v in row["options"].items())
        out.add_row(row["target"], row["kind"], row["source"], options)
    console.print(out)


@targets_app.command("docs")
def docs(
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the Markdown here (docs/targets.md) instead of "
                                     "printing it."),
) -> None:
    """Every target kind with its options (type, default, unit, identity, old names), as
    Markdown generated from the option declarations.

    Example:

      repro targets docs --output docs/targets.md
    """
    text = options_markdown()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")


def _declared(kind: str) -> Options | None:
    try:
        return target_class(kind).declared
    except (KeyError, ImportError):
        return None


def _public_options(kind: str, table: dict[str, Any]) -> dict[str, Any]:
    """Options of a target table under current names, without secret options.

    For a kind that does not exist only the option names are shown (its secrets are unknown).
    """
    options = {k: v for k, v in table.items() if k != "kind"}
    declared = _declared(kind)
    return declared.public(options) if declared else {k: "?" for k in options}
