"""SIGINT and SIGTERM stop ``repro run`` on the SLURM target within 10 s and cancel the job.

Started like a background job of a script (SIGINT ignored in the parent), the case that
hung before repro installed its own signal handlers.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.foundation.helpers import run_dirs, signal_repro_run
from tests.foundation.test_interrupts import STOP_WITHIN_S, sleepy
from tests.hpc.test_slurm_cli import _project, _wait_running_job

pytestmark = [pytest.mark.infra, pytest.mark.slow]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_cancels_the_slurm_job_within_10_s_and_writes_no_crate(slurm_cluster,
                                                                         tmp_path, signum):
    name = signal.Signals(signum).name
    target = f"sig{name.lower()}-slurm"
    project = _project(tmp_path, slurm_cluster, name=target)
    experiment = sleepy(tmp_path / "exp", wait_s=300.0)
    store = tmp_path / "store"
    env = {**os.environ, "REPRO_STORE": str(store)}
    code, elapsed, stderr, job_id = signal_repro_run(
        ["run", str(experiment), "--targets", target], env, signum,
        lambda _process: _wait_running_job(slurm_cluster, target, timeout=60), cwd=project)
    assert code == 128 + signum, stderr[-2000:]
    assert elapsed < STOP_WITHIN_S, f"{name}: exited {elapsed:.1f} s after the signal"
    assert f"interrupted ({name})" in stderr
    deadline = time.monotonic() + 30
    state = ""
    while state != "CANCELLED" and time.monotonic() < deadline:
        state = slurm_cluster.run("squeue", "-h", "-t", "all", "-j", job_id,
                                  "-o", "%T").stdout.strip()
        time.sleep(0.2)
    assert state == "CANCELLED"
    assert run_dirs(store) == []
    print(f"slurm: {name} -> exit {code} after {elapsed:.2f} s, job {job_id} "
          f"{state}")
