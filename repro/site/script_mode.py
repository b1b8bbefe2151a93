"""Run an unmodified classic PyNN script under the dialect shim, with its command line.

The script runs as ``__main__`` with ``sys.argv = [script, *args]``. Scripts that pick their
backend from the command line (``pyNN.utility.get_simulator``: ``python brunel.py nest``) get
the run's backend name filled in. A script that exits through ``SystemExit`` with a non-zero
status (argparse's usage error) fails with what it printed, not with the number. NEST fixes
``max_delay`` before the first connection, so a script whose delays exceed it is started
again, once per larger delay found, with ``max_delay`` set from the start.

Site-side: standard library, numpy and pyNN only.
"""

from __future__ import annotations

import importlib.util
import io
import re
import sys
import types
from pathlib import Path
from typing import Any

from repro.site.dialect import ScriptDialect
from repro.site.dialect_connections import MaxDelayTooSmall
from repro.site.dialect_inputs import OnGridNeeded
from repro.site.portability import NoteBook

#: Backend name a script's ``get_simulator`` receives, per run-spec backend.
SIMULATOR_ARGUMENT = {"nest": "nest", "spinnaker_emulator": "spiNNaker", "spinnaker": "spiNNaker"}
#: Names PyNN scripts accept as their simulator argument.
KNOWN_SIMULATORS = ("nest", "neuron", "brian", "brian2", "spiNNaker", "spinnaker", "nemo",
                    "mock")
#: Source patterns of scripts that read their backend from the command line.
_CHOOSES_BACKEND = re.compile(r"\bget_simulator\s*\(|\bget_script_args\s*\(|"
                              r"import_module\(\s*[\"']pyNN\.[\"']\s*\+|"
                              r"[\"']pyNN\.%s[\"']")
#: Restarts allowed for a growing max_delay.
MAX_RESTARTS = 6


class ScriptExit(RuntimeError):  # noqa: N818 - it is the script's own exit
    """The script called ``sys.exit`` with a failure status; carries what it printed."""


def script_argv(script: Path, args: list[str], backend: str, book: NoteBook) -> list[str]:
    """``sys.argv`` for the script: its arguments, with the backend argument filled in."""
    args = list(args)
    wanted = SIMULATOR_ARGUMENT.get(backend)
    chooses = bool(_CHOOSES_BACKEND.search(script.read_text(errors="replace")))
    if wanted and args and args[0] in KNOWN_SIMULATORS:
        if args[0] != wanted:
            book.add(f"simulator argument {args[0]!r}", "translated",
                     f"the run's backend is {backend}; the script is given {wanted!r}",
                     numerical_effect=False, line="")
            args[0] = wanted
    elif wanted and chooses:
        book.add("simulator argument", "translated",
                 f"the script reads its backend from the command line; given {wanted!r} "
                 f"for the run's backend {backend}", numerical_effect=False, line="")
        args.insert(0, wanted)
    return [str(script), *args]


class _Tee(io.TextIOBase):
    """Write to a stream and keep the last characters written."""

    def __init__(self, stream: Any, keep: int = 4000) -> None:
        self.stream = stream
        self.keep = keep
        self.text = ""

    def write(self, text: str) -> int:
        self.text = (self.text + text)[-self.keep:]
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


def _load_script(path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("__main__", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load network script {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["__main__"] = module
    spec.loader.exec_module(module)
    return module


def _execute(dialect: ScriptDialect, script: Path, argv: list[str]) -> None:
    """Run the script once; a failing ``sys.exit`` becomes :class:`ScriptExit`."""
    sys.argv = list(argv)
    main_module = sys.modules.get("__main__")
    stderr, stdout = _Tee(sys.stderr), _Tee(sys.stdout)
    sys.stderr, sys.stdout = stderr, stdout
    try:
        _load_script(script)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            printed = (stderr.text.strip() or stdout.text.strip())
            message = printed.splitlines()[-12:] if printed else [f"exit status {exc.code}"]
            raise ScriptExit(f"{script.name} exited with status {exc.code}: "
                             + "\n".join(message)) from None
    finally:
        sys.stderr, sys.stdout = stderr.stream, stdout.stream
        if main_module is not None:
            sys.modules["__main__"] = main_module
    if not dialect.ended:
        dialect.harvest()


def _restart_marker(restart: int, reason: str) -> None:
    """The one log line between a discarded attempt's output and the next attempt's."""
    sys.stdout.flush()
    print(f"repro: restart {restart} of at most {MAX_RESTARTS}: {reason}. The output above "
          "is from the discarded attempt; the script runs again from its start.",
          file=sys.stderr, flush=True)


def run_script(backend: types.ModuleType, script: Path, args: list[str], backend_name: str,
               seed: int, threads: int, backend_options: dict[str, Any],
               book: NoteBook) -> ScriptDialect:
    """Run ``script`` to its end under the dialect; return the dialect holding its spikes.

    Raises
    ------
    ScriptExit
        When the script exits with a failure status.
    FeatureRefused
        When it uses a feature this backend cannot run.
    """
    max_delay_ms: float | None = None
    on_grid: frozenset[str] = frozenset()
    for attempt in range(MAX_RESTARTS + 1):
        attempt_book = NoteBook(script=script)
        argv = script_argv(script, args, backend_name, attempt_book)
        dialect = ScriptDialect(backend, seed, threads, backend_options, attempt_book,
                                max_delay_ms=max_delay_ms, on_grid=on_grid)
        dialect.install()
        try:
            _execute(dialect, script, argv)
        except MaxDelayTooSmall as exc:
            max_delay_ms = max(max_delay_ms or 0.0, exc.needed_ms)
            _restart_marker(attempt + 1, f"{exc}; max_delay = {max_delay_ms:g} ms from the start")
            continue
        except OnGridNeeded as exc:
            on_grid = on_grid | {exc.key}
            _restart_marker(attempt + 1, str(exc))
            continue
        finally:
            book.notes[:] = attempt_book.notes
        return dialect
    raise RuntimeError(f"{script.name}: still needs another max_delay or on-grid model after "
                       f"{MAX_RESTARTS} restarts")
