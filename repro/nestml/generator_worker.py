"""Run NESTML's code generator once, in a process of its own, and report what it said as JSON.

Usage: ``python generator_worker.py REQUEST.json`` (run by file path, so that it also works
under an interpreter that has a different NESTML but no repro, such as the NESTML 8.2
environment used for SpiNNaker). Standard library and ``pynestml`` only.

The request names the target platform, the source files, the output directory, the module
name, the model-name suffix and the code generator options. Only code generation runs:
NESTML's own builder is replaced by a no-op for this process, because repro compiles the
generated code itself (with a corrected ``nest-config``, or the SpiNNaker toolchain) so it can
control flags and report compiler errors. The result file lists every warning and error
with the source file, line and column NESTML gave for it.
"""

from __future__ import annotations

import json
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Any

RESULT_FORMAT = "repro.nestml-generation/1"
_PROCESSING_FILE = re.compile(r'Start processing "(?P<path>.+)"')


def _no_builder(target_name: str, options: Any = None) -> tuple[None, dict[str, Any]]:
    """Stand-in for NESTML's builder factory: generate code, build nothing."""
    return None, dict(options or {})


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return ""


def collect_messages(log: dict[int, tuple], sources: list[str]) -> list[dict[str, Any]]:
    """Warnings and errors from NESTML's logger, each with the file and position it named.

    NESTML logs the model's file name (without directory) for semantic errors, and nothing
    but a preceding "Start processing" message for syntax errors; both are mapped back to the
    full source path.
    """
    by_name = {Path(path).name: path for path in sources}
    current = ""
    out = []
    for key in sorted(log):
        artifact, _node, level, code, position, message = log[key]
        code_name = getattr(code, "name", "")
        if code_name == "START_PROCESSING_FILE":
            match = _PROCESSING_FILE.search(str(message))
            current = match.group("path") if match else current
            continue
        severity = getattr(level, "name", str(level))
        if severity not in ("WARNING", "ERROR"):
            continue
        out.append({
            "severity": severity,
            "file": by_name.get(artifact, artifact) if artifact else current,
            "line": position.get_start_line() if position is not None else None,
            "column": position.get_start_column() if position is not None else None,
            "code": code_name,
            "message": str(message),
        })
    return out


def generate(request: dict[str, Any]) -> dict[str, Any]:
    """Run the generator for ``request``; return the result document."""
    start = time.perf_counter()
    result: dict[str, Any] = {
        "format": RESULT_FORMAT, "ok": False, "messages": [], "exception": None,
        "nestml_version": _version("nestml"), "odetoolbox_version": _version("odetoolbox"),
        "target": request["target"]}
    try:
        from pynestml.frontend import pynestml_frontend as frontend
        from pynestml.utils.logger import Logger
    except ImportError as exc:
        result["exception"] = f"NESTML cannot be imported: {exc}"
        return result
    frontend.builder_from_target_name = _no_builder
    try:
        failed = frontend.generate_target(
            request["sources"], request["target"], target_path=request["target_path"],
            logging_level="WARNING", module_name=request.get("module_name"),
            suffix=request.get("suffix", ""), codegen_opts=request.get("codegen_opts") or {})
        result["ok"] = not failed
    except SystemExit as exc:
        result["exception"] = f"NESTML exited with status {exc.code}"
    except Exception as exc:  # noqa: BLE001 - reported to the caller with its traceback
        result["exception"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
    result["messages"] = collect_messages(Logger.get_log(), list(request["sources"]))
    if any(m["severity"] == "ERROR" for m in result["messages"]):
        result["ok"] = False
    result["seconds"] = time.perf_counter() - start
    return result


def main(argv: list[str]) -> int:
    """Read the request, generate, write the result; exit 0 when code was generated."""
    if len(argv) != 2:
        print("usage: generator_worker.py REQUEST.json", file=sys.stderr)
        return 2
    request = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    sys.setrecursionlimit(10000)
    result = generate(request)
    Path(request["result"]).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
