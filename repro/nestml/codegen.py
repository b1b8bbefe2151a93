"""Run NESTML's code generator in a separate interpreter and turn its complaints into errors.

NESTML keeps global state (logger, symbol tables, predefined units) and may call
``sys.exit``; running it in a process of its own keeps repro's process clean and lets a
different NESTML (in another environment) generate the SpiNNaker target.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.errors import InputError, ReproError
from repro.nestml.sources import NestmlSource
from repro.site.files import read_json

WORKER = Path(__file__).with_name("generator_worker.py")
#: Errors listed after the first one in an error message.
MAX_LISTED_ERRORS = 5


@dataclass
class Generation:
    """The outcome of one successful code generation.

    Attributes
    ----------
    directory : Path
        Where the generated files are.
    nestml_version, odetoolbox_version : str
        Versions of the generator that ran.
    warnings : list of dict
        NESTML's warnings (``severity, file, line, column, code, message``).
    seconds : float
        Wall time of the generator process.
    log_path : Path
        Everything the generator printed.
    """

    directory: Path
    nestml_version: str
    odetoolbox_version: str
    warnings: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    log_path: Path | None = None


def generate_code(sources: Sequence[NestmlSource], target: str, out_dir: Path, *,
                  module_name: str, suffix: str, codegen_opts: dict[str, Any] | None = None,
                  python: str | Path | None = None, timeout_s: float = 900.0) -> Generation:
    """Generate code for ``target`` ("NEST" or "SPINNAKER") from ``sources`` into ``out_dir``.

    Parameters
    ----------
    sources : sequence of NestmlSource
        The model files.
    target : str
        NESTML target platform name.
    out_dir : Path
        Output directory (created); its parent receives ``generator.log`` and NESTML's
        ``report/`` directory.
    module_name : str
        Extension module name (must end in ``module``).
    suffix : str
        Appended to every model name (``"_nestml"``).
    codegen_opts : dict, optional
        NESTML code generator options.
    python : str or Path, optional
        Interpreter that has the NESTML to use (default: this one).
    timeout_s : float
        Upper bound for the generator process.

    Raises
    ------
    InputError
        When NESTML reports an error in a model: names the file and line of the first error
        and lists the others.
    ReproError
        When the generator cannot run at all (NESTML missing, crash, time-out).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    work = out_dir.parent
    request_path = work / "generator-request.json"
    result_path = work / "generator-result.json"
    log_path = work / "generator.log"
    request = {"target": target, "sources": [str(s.path) for s in sources],
               "target_path": str(out_dir), "module_name": module_name, "suffix": suffix,
               "codegen_opts": codegen_opts or {}, "result": str(result_path)}
    request_path.write_text(json.dumps(request, indent=1), encoding="utf-8")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg")
    interpreter = str(python or sys.executable)
    try:
        with log_path.open("wb") as log:
            subprocess.run([interpreter, str(WORKER), str(request_path)], cwd=work, env=env,
                           stdout=log, stderr=subprocess.STDOUT, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise ReproError(f"NESTML code generation for {target} did not finish within "
                         f"{timeout_s:.0f} s (log: {log_path})") from None
    except OSError as exc:
        raise ReproError(f"cannot start the NESTML generator with {interpreter}: {exc}") from None
    result = read_json(result_path)
    if result is None:
        raise ReproError(f"the NESTML generator for {target} stopped without a result; last "
                         f"output:\n{_tail(log_path)}")
    messages = result.get("messages", [])
    errors = [m for m in messages if m["severity"] == "ERROR"]
    if errors:
        raise model_error(errors, sources)
    if not result.get("ok"):
        detail = result.get("exception") or "it reported failure without an error message"
        raise ReproError(f"NESTML code generation for {target} failed: {detail}; last output:\n"
                         f"{_tail(log_path)}")
    return Generation(directory=out_dir, nestml_version=result.get("nestml_version", ""),
                      odetoolbox_version=result.get("odetoolbox_version", ""),
                      warnings=[m for m in messages if m["severity"] == "WARNING"],
                      seconds=float(result.get("seconds", 0.0)), log_path=log_path)


def model_error(errors: Sequence[dict[str, Any]], sources: Sequence[NestmlSource]) -> InputError:
    """One InputError for NESTML's errors: file and line of the first, the others listed."""
    first = errors[0]
    path = first.get("file") or (str(sources[0].path) if len(sources) == 1 else None)
    message = f"NESTML: {first['message']}"
    if first.get("column") is not None and first.get("line"):
        message += f" (column {first['column']})"
    others = [f"{Path(e['file']).name if e.get('file') else '?'}:{e.get('line') or '?'}: "
              f"{e['message']}" for e in errors[1:1 + MAX_LISTED_ERRORS]]
    if others:
        message += "; also: " + "; ".join(others)
    if len(errors) > 1 + MAX_LISTED_ERRORS:
        message += f"; and {len(errors) - 1 - MAX_LISTED_ERRORS} more"
    return InputError(message, path=path, line=first.get("line") or None)


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no output)"
