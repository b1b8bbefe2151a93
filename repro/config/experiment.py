"""Parse and validate ``experiment.toml`` into a typed :class:`Experiment`.

Every problem is reported once, as an :class:`~repro.errors.ExperimentError` naming the file,
the line (where it can be found) and the dotted field, before anything is run or written.

File format::

    [experiment]
    name = "balanced_random"         # default: the directory name
    description = "..."
    script = "network.py"            # required; relative to the experiment directory
    mode = "build"                   # "build" (default) or "script" (classic PyNN script)
    duration = 1000.0                # ms; required in build mode
    record = ["exc", "inh"]          # build mode: populations to record
    seeds = [1, 2, 3]                # default [1]; connectivity seeds given to build()
    noise_seeds = 2                  # default 1: runs per connectivity seed, each with its
                                     # own simulator noise seed (the first is the seed itself)
    targets = ["local"]              # default ["local"]
    tolerance = "default"            # tolerance profile name or path
    nestml = ["models/x.nestml"]     # NESTML sources (part of the model hash)

    [params]                         # free-form model parameters given to build()

    [targets.<name>]                 # extra targets: kind = "...", plus options

    [compare]                        # comparison options (see repro.compare)
    [publish]                        # publication metadata (see repro publish)
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.errors import ExperimentError

EXPERIMENT_FILE = "experiment.toml"
TOP_LEVEL_TABLES = ("experiment", "params", "targets", "compare", "publish")
EXPERIMENT_KEYS = ("name", "description", "script", "mode", "duration", "record", "seeds",
                   "noise_seeds", "targets", "tolerance", "nestml")
RUN_MODES = ("build", "script")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class Experiment:
    """A validated experiment.

    Attributes
    ----------
    name : str
        Experiment name (letters, digits, ``_.-``).
    path : Path
        The experiment file (or the script, for an ad-hoc classic script run).
    directory : Path
        Directory holding the script and its sibling files.
    script : Path
        Absolute path of the network script.
    mode : str
        ``"build"`` or ``"script"``.
    duration_ms : float or None
        Simulated time (None in script mode: the script decides).
    record : list of str
        Populations to record (build mode).
    seeds : list of int
        Connectivity seeds to run (each also the simulator's seed of its first run).
    noise_seeds : int
        Runs per connectivity seed: replicate 0 uses the seed for the simulator's noise too,
        replicate ``r > 0`` the noise seed :func:`noise_seed` ``(seed, r)``.
    targets : list of str
        Names of the targets to run on by default.
    params : dict
        Model parameters.
    target_tables : dict
        ``[targets.<name>]`` tables of this file.
    tolerance : str
        Tolerance profile name or path.
    nestml : list of Path
        NESTML source files.
    compare : dict
        ``[compare]`` options.
    publish : dict
        ``[publish]`` metadata.
    script_args : list of str
        Command-line arguments of a classic script (``script`` mode).
    """

    name: str
    path: Path
    directory: Path
    script: Path
    mode: str = "build"
    duration_ms: float | None = None
    record: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=lambda: [1])
    noise_seeds: int = 1
    targets: list[str] = field(default_factory=lambda: ["local"])
    params: dict[str, Any] = field(default_factory=dict)
    target_tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    tolerance: str = "default"
    nestml: list[Path] = field(default_factory=list)
    compare: dict[str, Any] = field(default_factory=dict)
    publish: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    script_args: list[str] = field(default_factory=list)


def _line_of(text: str, table: str, key: str | None) -> int | None:
    """Line (1-based) where ``key`` is set inside ``[table]``, or where the table starts."""
    current = ""
    table_line = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        header = re.match(r"^\[+\s*([^\]]+?)\s*\]+", line)
        if header:
            current = header.group(1).replace('"', "").replace(" ", "")
            if current == table and table_line is None:
                table_line = number
            continue
        if key is not None and current == table and re.match(
                rf'^"?{re.escape(key)}"?\s*=', line):
            return number
    return table_line


class _Checker:
    """Type checks that raise ExperimentError with file, line and field."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text

    def fail(self, table: str, key: str | None, message: str) -> ExperimentError:
        dotted = f"{table}.{key}" if key else table
        return ExperimentError(message, path=self.path, field=dotted,
                               line=_line_of(self.text, table, key))

    def get(self, data: dict, table: str, key: str, kind: type | tuple, *,
            default: Any = None, required: bool = False) -> Any:
        if key not in data:
            if required:
                raise self.fail(table, None, f"required field '{key}' is missing")
            return default
        value = data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.fail(table, key, f"expected {_names(kinds)}, got a boolean")
        if not isinstance(value, kinds):
            raise self.fail(table, key, f"expected {_names(kinds)}, got "
                                        f"{type(value).__name__} {value!r}")
        return value

    def string_list(self, data: dict, table: str, key: str, default: list[str]) -> list[str]:
        value = self.get(data, table, key, list, default=default)
        if not all(isinstance(v, str) and v for v in value):
            raise self.fail(table, key, "expected a list of non-empty strings")
        if len(set(value)) != len(value):
            raise self.fail(table, key, "contains duplicates")
        return list(value)


def _names(kinds: tuple) -> str:
    words = {int: "an integer", float: "a number", str: "a string", list: "a list",
             dict: "a table", bool: "true/false"}
    return " or ".join(words.get(k, k.__name__) for k in kinds)


def _check_finite(checker: _Checker, value: Any, table: str, key: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise checker.fail(table, key, f"{value} is not a finite number")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(checker, v, table, f"{key}.{k}")
    if isinstance(value, list):
        for v in value:
            _check_finite(checker, v, table, key)


def load_experiment(path: str | Path) -> Experiment:
    """Load and validate an experiment.

    Parameters
    ----------
    path : str or Path
        An ``experiment.toml`` file or a directory containing one.

    Returns
    -------
    Experiment

    Raises
    ------
    ExperimentError
        On any problem, naming file, line and field.
    """
    path = Path(path)
    if path.is_dir():
        path = path / EXPERIMENT_FILE
    if not path.is_file():
        raise ExperimentError("experiment file not found", path=path)
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise ExperimentError(f"not valid TOML: {exc}", path=path,
                              line=int(match.group(1)) if match else None) from None
    check = _Checker(path, text)
    for table in data:
        if table not in TOP_LEVEL_TABLES:
            raise check.fail(table, None, f"unknown table or key '{table}' (known: "
                                          f"{', '.join(TOP_LEVEL_TABLES)})")
        if not isinstance(data[table], dict):
            raise check.fail(table, None, "must be a table ([...] section)")
    meta = data.get("experiment")
    if meta is None:
        raise ExperimentError("required table [experiment] is missing", path=path,
                              field="experiment")
    for key in meta:
        if key not in EXPERIMENT_KEYS:
            raise check.fail("experiment", key, f"unknown key '{key}' (known: "
                                                f"{', '.join(EXPERIMENT_KEYS)})")
    directory = path.parent.resolve()
    name = check.get(meta, "experiment", "name", str, default=directory.name)
    if not _NAME.match(name):
        raise check.fail("experiment", "name", "use letters, digits, '_', '.' and '-' only")
    mode = check.get(meta, "experiment", "mode", str, default="build")
    if mode not in RUN_MODES:
        raise check.fail("experiment", "mode", f"must be one of {', '.join(RUN_MODES)}")
    script_name = check.get(meta, "experiment", "script", str, required=True)
    script = (directory / script_name).resolve()
    if not script.is_file():
        raise check.fail("experiment", "script", f"network script {script_name} not found "
                                                 f"in {directory}")
    if directory not in script.parents:
        raise check.fail("experiment", "script", "must lie inside the experiment directory")
    duration = check.get(meta, "experiment", "duration", (int, float),
                         required=(mode == "build"))
    if duration is not None and not (math.isfinite(duration) and duration > 0):
        raise check.fail("experiment", "duration", f"must be a positive number of ms, "
                                                   f"got {duration}")
    record = check.string_list(meta, "experiment", "record", [])
    if mode == "build" and not record:
        raise check.fail("experiment", "record", "list at least one population to record")
    seeds = check.get(meta, "experiment", "seeds", list, default=[1])
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**31
                            for s in seeds):
        raise check.fail("experiment", "seeds", "expected a non-empty list of integers in "
                                                "[0, 2**31)")
    if len(set(seeds)) != len(seeds):
        raise check.fail("experiment", "seeds", "contains duplicates")
    noise_seeds = check.get(meta, "experiment", "noise_seeds", int, default=1)
    if not 1 <= noise_seeds <= 100:
        raise check.fail("experiment", "noise_seeds", "expected an integer from 1 to 100 "
                                                      "(runs per connectivity seed)")
    targets = check.string_list(meta, "experiment", "targets", ["local"])
    if not targets:
        raise check.fail("experiment", "targets", "list at least one target")
    nestml = []
    for source in check.string_list(meta, "experiment", "nestml", []):
        nestml_path = (directory / source).resolve()
        if not nestml_path.is_file():
            raise check.fail("experiment", "nestml", f"NESTML file {source} not found")
        nestml.append(nestml_path)
    params = data.get("params", {})
    _check_finite(check, params, "params", "")
    target_tables = data.get("targets", {})
    for target_name, table in target_tables.items():
        if not isinstance(table, dict):
            raise check.fail("targets", target_name, "must be a table [targets.<name>]")
    return Experiment(
        name=name, path=path.resolve(), directory=directory, script=script, mode=mode,
        duration_ms=float(duration) if duration is not None else None, record=record,
        seeds=list(seeds), noise_seeds=noise_seeds, targets=targets, params=params,
        target_tables=target_tables,
        tolerance=check.get(meta, "experiment", "tolerance", str, default="default"),
        nestml=nestml, compare=data.get("compare", {}), publish=data.get("publish", {}),
        description=check.get(meta, "experiment", "description", str, default=""),
    )


def noise_seed(seed: int, replicate: int) -> int | None:
    """Simulator noise seed of noise replicate ``replicate`` of connectivity seed ``seed``.

    Replicate 0 returns None: the run uses ``seed`` for everything, as runs always did (and
    shares their cache). Replicate ``r > 0`` derives a seed in ``[0, 2**31)`` from
    sha256 of ``"repro-noise/<seed>/<r>"``.

    Examples
    --------
    >>> noise_seed(7, 0) is None
    True
    >>> noise_seed(7, 1) == noise_seed(7, 1) != noise_seed(8, 1)
    True
    """
    if replicate == 0:
        return None
    digest = hashlib.sha256(f"repro-noise/{seed}/{replicate}".encode()).digest()
    return int.from_bytes(digest[:4], "little") % 2**31


def script_experiment(script: str | Path, seeds: list[int] | None = None,
                      args: list[str] | None = None) -> Experiment:
    """Wrap an unmodified classic PyNN script as an ad-hoc experiment (``mode = "script"``).

    ``args`` are the script's command-line arguments (``sys.argv[1:]``).

    Raises
    ------
    ExperimentError
        If the script does not exist.
    """
    script = Path(script).resolve()
    if not script.is_file() or script.suffix != ".py":
        raise ExperimentError("classic script not found (expected a .py file)", path=script)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", script.stem) or "script"
    return Experiment(name=name, path=script, directory=script.parent, script=script,
                      mode="script", seeds=seeds or [1], script_args=list(args or []))
