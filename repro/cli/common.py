"""Shared pieces of the CLI: consoles, the store option, error reporting, parsing helpers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from repro.errors import InputError, ReproError
from repro.records.store import Store

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

STORE_OPTION = typer.Option(
    None, "--store", envvar="REPRO_STORE",
    help="Run store directory (default: ./crates).", show_default=False)


def open_store(path: Path | None) -> Store:
    """The store at ``path`` (or $REPRO_STORE, or ./crates)."""
    return Store.from_env(path)


def report_error(exc: ReproError) -> None:
    """Print one clear error line to stderr."""
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)


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
