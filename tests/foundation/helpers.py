"""Helpers for foundation tests: run the real CLI in a subprocess, make small experiments."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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
