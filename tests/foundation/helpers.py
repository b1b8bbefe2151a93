"""Helpers for foundation tests: run the real CLI in a subprocess, make small experiments."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

Ready = TypeVar("Ready")

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "experiments" / "balanced_random"


def repro(*args: str, store: Path | None = None, cwd: Path | None = None,
          env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``repro ARGS`` as a user would (a fresh process) and capture its output."""
    full_env = {**os.environ, **(env or {})}
    if store is not None:
        full_env["REPRO_STORE"] = str(store)
    return subprocess.run([sys.executable, "-m", "repro.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=full_env, timeout=timeout, check=False)


def small_experiment(dest: Path, *, n_neurons: int = 100, duration: float = 300.0,
                     seeds: str = "[1]", extra: str = "") -> Path:
    """Copy the reference experiment into ``dest`` with a smaller network and duration."""
    shutil.copytree(REFERENCE, dest)
    toml = dest / "experiment.toml"
    text = toml.read_text()
    text = text.replace("n_neurons = 500", f"n_neurons = {n_neurons}")
    text = text.replace("duration = 1000.0", f"duration = {duration}")
    text = text.replace("seeds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", f"seeds = {seeds}")
    text = text.replace('targets = ["local", "spinnaker_emulator"]', 'targets = ["local"]')
    toml.write_text(text + extra)
    return dest


def run_dirs(store: Path) -> list[Path]:
    """Every crate directory under a store (complete ones only)."""
    return sorted(p for p in (store / "runs").glob("*/*") if p.is_dir()) if (
        store / "runs").is_dir() else []


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def wait_while_alive(process: subprocess.Popen, check: Callable[[], object], what: str,
                     timeout_s: float = 120.0) -> None:
    """Poll ``check`` until it is true; fail if ``process`` exits or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, f"{what} never started"
        time.sleep(0.1)


def signal_repro_run(args: list[str], env: dict[str, str], signum: int,
                     ready: Callable[[subprocess.Popen], Ready], cwd: Path | None = None,
                     ) -> tuple[int, float, str, Ready]:
    """Start ``repro ARGS`` as a background job of a script would be (SIGINT ignored), wait
    until ``ready(process)`` returns, send ``signum``; return (exit code, seconds from the
    signal to the exit, stderr, what ``ready`` returned)."""
    process = subprocess.Popen([sys.executable, "-m", "repro.cli", *args], cwd=cwd, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_ignore_sigint)
    try:
        found = ready(process)
        sent = time.monotonic()
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
        elapsed = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, elapsed, stderr, found
