"""Test helpers shared by every target test: run bundles and waiting for a job's end.

One copy for tests/targets, tests/hpc, tests/unicore and tests/nmpi (they used to keep
three): bundles are built the way the dispatcher builds them (``make_spec`` +
``build_bundle``), and jobs are polled through the target's own ``status``, which keeps its
own polling schedule.
"""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from repro.config.experiment import Experiment, load_experiment
from repro.config.hashes import model_hash
from repro.execution.bundle import build_bundle
from repro.execution.dispatch import make_spec, new_run_id
from repro.site.runspec import RunSpec
from repro.targets.base import JobHandle, JobState, JobStatus, RunBundle, Target

SLEEPY = Path(__file__).resolve().parents[1] / "hpc" / "data" / "sleepy"
TERMINAL = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


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


def experiment_bundle(target: Target, experiment: Path | Experiment, seed: int,
                      scratch: Path, *, duration_ms: float | None = None,
                      **params: Any) -> RunBundle:
    """A real run bundle of ``experiment`` (a path or a loaded one) for ``target``.

    ``params`` override the experiment's parameters, ``duration_ms`` its duration.
    """
    loaded = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    loaded.params.update(params)
    if duration_ms is not None:
        loaded.duration_ms = duration_ms
    run_id = new_run_id(target.name, seed)
    spec = make_spec(loaded, target, seed, model_hash(loaded))
    return build_bundle(scratch / run_id, spec, loaded.directory, run_id)


def bundles_for(experiment_dir: Path, target: Target, seeds: list[int],
                scratch: Path) -> list[RunBundle]:
    """Real run bundles of ``experiment_dir`` for ``target``, one per seed."""
    return [experiment_bundle(target, experiment_dir, seed, scratch) for seed in seeds]


def script_bundle(target: Target, spec: RunSpec, script_dir: Path, scratch: Path
                  ) -> RunBundle:
    """A run bundle of a bare network script (``spec.script`` in ``script_dir``)."""
    spec = target.prepare(spec)
    run_id = f"20260101T000000-{target.name}-s{spec.seed}-{secrets.token_hex(3)}"
    return build_bundle(scratch / run_id, spec, script_dir, run_id=run_id)


def wait_for(target: Target, handle: JobHandle, states: tuple[JobState, ...] = TERMINAL,
             timeout: float = 240.0, interval_s: float = 0.2) -> JobStatus:
    """Poll ``target`` until the job is in one of ``states``; fail the test on timeout or
    when the job ends in another state."""
    deadline = time.monotonic() + timeout
    status = target.status(handle)
    while status.state not in states:
        if status.state.terminal:
            raise AssertionError(f"job {handle.job_id} ended as {status} while waiting for "
                                 f"{[s.value for s in states]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"job {handle.job_id} still {status} after {timeout} s")
        time.sleep(interval_s)
        status = target.status(handle)
    return status


def wait_terminal(target: Target, handle: JobHandle, timeout: float = 240.0,
                  interval_s: float = 0.2) -> JobStatus:
    """Poll until the job has ended; return its final status."""
    return wait_for(target, handle, TERMINAL, timeout, interval_s)
