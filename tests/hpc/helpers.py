"""Helpers for the HPC tests: tiny experiments, run bundles, waiting for a job's end."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from repro.config.experiment import load_experiment
from repro.config.hashes import model_hash
from repro.execution.bundle import build_bundle
from repro.execution.dispatch import make_spec, new_run_id
from repro.targets.base import JobHandle, JobState, JobStatus, RunBundle, Target

SLEEPY = Path(__file__).parent / "data" / "sleepy"


def sleepy_experiment(dest: Path, **params: Any) -> Path:
    """Copy the tiny test experiment into ``dest`` with ``params`` overridden."""
    shutil.copytree(SLEEPY, dest)
    toml = dest / "experiment.toml"
    lines = []
    for line in toml.read_text().splitlines():
        key = line.split("=", 1)[0].strip()
        if key in params:
            value = params[key]
            line = f"{key} = {str(value).lower() if isinstance(value, bool) else value!r}"
        lines.append(line)
    toml.write_text("\n".join(lines) + "\n")
    return dest


def bundles_for(experiment_dir: Path, target: Target, seeds: list[int],
                scratch: Path) -> list[RunBundle]:
    """Real run bundles of ``experiment_dir`` for ``target``, one per seed."""
    experiment = load_experiment(experiment_dir)
    model = model_hash(experiment)
    bundles = []
    for seed in seeds:
        run_id = new_run_id(target.name, seed)
        spec = make_spec(experiment, target, seed, model)
        bundles.append(build_bundle(scratch / run_id, spec, experiment.directory, run_id))
    return bundles


def wait_for(target: Target, handle: JobHandle, states: tuple[JobState, ...],
             timeout: float) -> JobStatus:
    """Poll ``target`` until the job is in one of ``states``; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    status = target.status(handle)
    while status.state not in states:
        if status.state.terminal:
            raise AssertionError(f"job {handle.job_id} ended as {status} while waiting for "
                                 f"{[s.value for s in states]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"job {handle.job_id} still {status} after {timeout} s")
        time.sleep(0.25)
        status = target.status(handle)
    return status


def wait_terminal(target: Target, handle: JobHandle, timeout: float = 120) -> JobStatus:
    """Poll until the job has ended; return its final status."""
    return wait_for(target, handle, (JobState.DONE, JobState.FAILED, JobState.CANCELLED),
                    timeout)
