"""Resolve target names into configured :class:`~repro.targets.base.Target` objects.

Targets are looked up, later sources overriding earlier ones, in

1. the built-in defaults (``local``; ``spinnaker_emulator`` where that kind exists),
2. ``targets.toml`` in the working directory (or the file named by ``$REPRO_TARGETS``),
3. the ``[targets.<name>]`` tables of the experiment file.

Each table has ``kind = "<kind>"`` and options checked against the kind's declared options
(:mod:`repro.targets.options`).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from repro.config.experiment import Experiment, _line_of
from repro.errors import InputError
from repro.targets import TARGET_KINDS, target_class
from repro.targets.base import Target

PROJECT_TARGETS_FILE = "targets.toml"
BUILTIN_TARGETS: dict[str, dict[str, Any]] = {
    "local": {"kind": "local"},
    "spinnaker_emulator": {"kind": "spinnaker_emulator"},
}


def _project_tables() -> tuple[Path | None, dict[str, dict[str, Any]]]:
    path = Path(os.environ.get("REPRO_TARGETS", PROJECT_TARGETS_FILE))
    if not path.is_file():
        return None, {}
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", path=path) from None
    tables = data.get("targets", data)
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise InputError("must be a table [targets.<name>]", path=path,
                             field=f"targets.{name}", line=_line_of(text, "targets", name))
    return path, tables


def available_targets(experiment: Experiment | None = None
                      ) -> dict[str, tuple[dict[str, Any], Path | None]]:
    """Every target name known here, with its table and the file it came from."""
    found: dict[str, tuple[dict[str, Any], Path | None]] = {
        name: (table, None) for name, table in BUILTIN_TARGETS.items()
        if table["kind"] in TARGET_KINDS}
    project_path, project = _project_tables()
    for name, table in project.items():
        found[name] = (table, project_path)
    if experiment is not None:
        for name, table in experiment.target_tables.items():
            found[name] = (table, experiment.path)
    return found


def make_target(name: str, table: dict[str, Any], source: Path | None) -> Target:
    """Validate one target table and build its Target.

    Raises
    ------
    InputError
        For a missing or unknown kind, an unknown option or an option of the wrong type.
    """
    where = {"path": source} if source else {}
    text = source.read_text(encoding="utf-8") if source else ""

    def fail(message: str, option: str | None = None) -> InputError:
        field = f"targets.{name}" + (f".{option}" if option else "")
        line = _line_of(text, f"targets.{name}", option) if source else None
        return InputError(message, field=field, line=line, **where)

    kind = table.get("kind")
    if not isinstance(kind, str):
        raise fail("every target needs kind = \"<kind>\"", "kind")
    if kind not in TARGET_KINDS:
        raise fail(f"unknown target kind {kind!r} (known: {', '.join(sorted(TARGET_KINDS))})",
                   "kind")
    cls = target_class(kind)
    options = {k: v for k, v in table.items() if k != "kind"}
    for option, message in cls.declared.problems(options):
        raise fail(message.replace("unknown option", f"unknown option for kind {kind!r}:"),
                   option)
    return cls(name, options)


def resolve_targets(names: list[str], experiment: Experiment | None = None) -> list[Target]:
    """Targets for ``names``.

    Raises
    ------
    InputError
        For a name no source defines, or an invalid table.
    """
    known = available_targets(experiment)
    targets = []
    for name in names:
        if name not in known:
            raise InputError(f"unknown target {name!r} (known: {', '.join(sorted(known))}); "
                             "define it in targets.toml or as [targets.<name>] in the "
                             "experiment", field="targets")
        table, source = known[name]
        targets.append(make_target(name, table, source))
    return targets
