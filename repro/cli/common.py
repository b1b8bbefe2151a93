"""Shared pieces of the CLI: consoles, the options every command spells the same, parsing.

The options and arguments several commands take are declared once here (``typer``
``Annotated`` aliases) so that ``-t`` is ``--targets``, ``-s`` is ``--seeds``, ``-p`` is
``--profile``, ``-e`` is ``--experiment`` and ``--json`` prints JSON in every command. A
command that needs an experiment *file* takes it as its first argument (a directory or an
``experiment.toml``); a command that selects *runs* takes ``-e/--experiment`` with a name or
a path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from repro.errors import InputError, ReproError
from repro.records.store import Store

# emoji off: rich would print "script.py:100:" as "script.py" and a 100-points emoji
console = Console(soft_wrap=True, emoji=False)
err_console = Console(stderr=True, soft_wrap=True, emoji=False)

STORE_OPTION = typer.Option(
    None, "--store", envvar="REPRO_STORE",
    help="Run store directory (default: ./crates).", show_default=False)


ExperimentArgument = Annotated[Path, typer.Argument(
    help="Experiment directory or experiment.toml.", show_default=False)]
OptionalExperimentArgument = Annotated[Path | None, typer.Argument(
    help="Experiment directory or experiment.toml.", show_default=False)]
ExperimentOption = Annotated[str | None, typer.Option(
    "--experiment", "-e", help="Experiment: its name, or its directory or experiment.toml.",
    show_default=False)]
TargetsOption = Annotated[str | None, typer.Option(
    "--targets", "-t",
    help="Comma-separated target names (default: the experiment's targets). Targets come "
         "from the experiment's [targets.*] tables, ./targets.toml, or the built-ins 'local' "
         "and 'spinnaker_emulator'.", show_default=False)]
SeedsOption = Annotated[str | None, typer.Option(
    "--seeds", "-s", help="Seeds, e.g. 1,2,3 or 1-5 (default: the experiment's).",
    show_default=False)]
ProfileOption = Annotated[str, typer.Option(
    "--profile", "-p",
    help="Tolerance profile: a name (./profiles/NAME.toml or shipped) or a .toml path.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def experiment_name(text: str | None) -> str | None:
    """The experiment ``-e`` names: a name as given, or the name inside the file it points to.

    Raises
    ------
    InputError
        If ``text`` is a path to an unreadable experiment file.
    """
    if text is None or not (Path(text).is_dir() or text.endswith(".toml")):
        return text
    from repro.config.experiment import load_experiment

    return load_experiment(Path(text)).name


def experiment_file(text: str) -> Path:
    """The experiment file ``-e`` names: a path as given, a name as ./experiments/NAME."""
    path = Path(text)
    return path if path.exists() or text.endswith(".toml") else Path("experiments") / text


def deprecated(old: str, new: str) -> None:
    """Tell the user on stderr that option ``old`` is going away in favour of ``new``."""
    err_console.print(f"[yellow]note:[/] {old} is deprecated; use {new}", highlight=False)


def open_store(path: Path | None) -> Store:
    """The store at ``path`` (or $REPRO_STORE, or ./crates)."""
    return Store.from_env(path)


def report_error(exc: ReproError) -> None:
    """Print one clear error line to stderr."""
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False,
                      soft_wrap=True)


def parse_seeds(text: str | None) -> list[int] | None:
    """Parse ``"1,2,5-8"`` into ``[1, 2, 5, 6, 7, 8]``.

    Raises
    ------
    InputError
        For anything that is not a comma list of integers and ranges.
    """
    if text is None:
        return None
    seeds: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                low, high = (int(x) for x in part.split("-", 1))
                if high < low:
                    raise ValueError
                seeds.extend(range(low, high + 1))
            elif part:
                seeds.append(int(part))
    except ValueError:
        raise InputError(f"cannot read seeds {text!r}: use e.g. 1,2,3 or 1-5",
                         field="--seeds") from None
    if not seeds or any(s < 0 or s >= 2**31 for s in seeds) or len(set(seeds)) != len(seeds):
        raise InputError(f"seeds {text!r} must be distinct integers in [0, 2**31)",
                         field="--seeds")
    return seeds


def parse_list(text: str | None) -> list[str] | None:
    """Parse ``"a,b"`` into ``["a", "b"]`` (None stays None)."""
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def print_json(data: Any) -> None:
    """Print machine-readable JSON to stdout."""
    typer.echo(json.dumps(data, indent=1, sort_keys=True, default=str))
