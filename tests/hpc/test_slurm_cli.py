"""``repro run`` on the real local SLURM cluster: crates with the job id, arrays, Ctrl-C,
and a node failure that is reported with its reason while every output is kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repro.records.run_crate import verify_crate
from repro.records.validation import PROCESS_RUN_CRATE, validate_crate
from tests.foundation.helpers import REFERENCE, repro, run_dirs
from tests.infra.slurm_cluster import SlurmCluster
from tests.targets.jobs import sleepy_experiment

pytestmark = [pytest.mark.infra, pytest.mark.slow]


def _project(tmp: Path, cluster: SlurmCluster, name: str = "local-slurm") -> Path:
    """A project directory whose targets.toml defines a slurm target on ``cluster``."""
    project = tmp / "project"
    project.mkdir()
    (project / "targets.toml").write_text(
        f'[targets.{name}]\nkind = "slurm"\nworkdir = "{tmp / "slurm-work"}"\n'
        f'slurm_conf = "{cluster.conf_path}"\ntime = "00:10:00"\n')
    return project


def _crate_json(crate: Path, name: str) -> dict:
    return json.loads((crate / name).read_text())


def test_reference_experiment_runs_on_slurm_as_one_job_array_with_validated_crates(
        slurm_cluster, tmp_path):
    project = _project(tmp_path, slurm_cluster)
    store = tmp_path / "store"
    started = time.perf_counter()
    result = repro("run", str(REFERENCE), "--targets", "local-slurm", "--seeds", "1-3",
                   "--json", store=store, cwd=project)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr[-3000:]
    crates = run_dirs(store)
    assert len(crates) == 3
    array_ids = set()
    for crate in crates:
        outcome = validate_crate(crate, PROCESS_RUN_CRATE)
        assert outcome.passed, outcome.summary()
        assert verify_crate(crate) == []
        job = _crate_json(crate, "job.json")
        scheduler = _crate_json(crate, "environment.json")["scheduler"]
        assert scheduler["job_id"] and job["job_id"] == (
            f"{scheduler['array_job_id']}_{scheduler['array_task_id']}")
        assert job["scheduler"] == "slurm" and job["node_list"] == "localhost"
        assert job["scheduler_version"] == slurm_cluster.version()
        array_ids.add(job["array_job_id"])
        metadata = (crate / "ro-crate-metadata.json").read_text()
        assert job["job_id"] in metadata
    assert len(array_ids) == 1, "a multi-seed campaign must go out as ONE job array"
    print(f"repro run balanced_random, 3 seeds as one Slurm array: {elapsed:.1f} s")


def test_targets_check_reaches_the_cluster(slurm_cluster, tmp_path):
    project = _project(tmp_path, slurm_cluster)
    result = repro("targets", "check", "--targets", "local-slurm", "--json", cwd=project)
    assert result.returncode == 0, result.stderr[-2000:]
    (check,) = json.loads(result.stdout)
    assert check["ok"] and check["kind"] == "slurm"
    assert f"Slurm {slurm_cluster.version()}" in check["summary"]


def test_ctrl_c_cancels_the_slurm_job_and_writes_no_crate(slurm_cluster, tmp_path):
    project = _project(tmp_path, slurm_cluster, name="ctrlc-slurm")
    experiment = sleepy_experiment(tmp_path / "exp", wait_s=300.0)
    store = tmp_path / "store"
    env = {**os.environ, "REPRO_STORE": str(store)}
    process = subprocess.Popen([sys.executable, "-m", "repro.cli", "run", str(experiment),
                                "--targets", "ctrlc-slurm"], cwd=project, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        job_id = _wait_running_job(slurm_cluster, "ctrlc-slurm", timeout=60)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    state = slurm_cluster.run("squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T")
    assert state.stdout.strip() == "CANCELLED"
    assert process.returncode == 130
    assert "interrupted" in process.stderr.read()
    assert run_dirs(store) == []


def _wait_running_job(cluster: SlurmCluster, name_part: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listing = cluster.run("squeue", "-h", "-t", "running", "-o", "%i %j").stdout
        for line in listing.splitlines():
            job_id, _, name = line.partition(" ")
            if name_part in name:
                return job_id
        time.sleep(0.2)
    raise AssertionError(f"no running job named *{name_part}* within {timeout} s")


def test_node_failure_is_reported_failed_with_the_reason_and_nothing_is_lost(
        private_slurm_cluster, tmp_path):
    cluster = private_slurm_cluster
    project = _project(tmp_path, cluster, name="fragile-slurm")
    experiment = sleepy_experiment(tmp_path / "exp", wait_s=120.0)
    store = tmp_path / "store"
    env = {**os.environ, "REPRO_STORE": str(store)}
    process = subprocess.Popen([sys.executable, "-m", "repro.cli", "run", str(experiment),
                                "--targets", "fragile-slurm", "--json"], cwd=project, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        job_id = _wait_running_job(cluster, "fragile-slurm", timeout=60)
        staged = next((tmp_path / "slurm-work").iterdir())
        deadline = time.monotonic() + 60
        while not (staged / "output" / "harness.log").is_file():  # the harness has started
            assert time.monotonic() < deadline, "harness never started"
            time.sleep(0.2)
        failed_at = time.perf_counter()
        assert cluster.stop_slurmd(kill_jobs=True)
        stdout, stderr = process.communicate(timeout=120)
        detected = time.perf_counter() - failed_at
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 1, stderr[-2000:]
    assert "NODE_FAIL" in stderr and job_id in stderr
    (crate,) = run_dirs(store)
    assert verify_crate(crate) == []
    job = _crate_json(crate, "job.json")
    assert job["slurm_state"] == "NODE_FAIL" and job["job_id"] == job_id
    assert (crate / "harness.log").is_file()          # what the harness wrote is kept
    assert "repro: Slurm job" in (crate / "launcher.log").read_text()
    assert (staged / "run_spec.json").is_file()       # the staged bundle is still there
    metadata = (crate / "ro-crate-metadata.json").read_text()
    assert "FailedActionStatus" in metadata and "NODE_FAIL" in metadata
    print(f"node failure detected and reported after {detected:.1f} s")
    cluster.start_slurmd()
    assert cluster.node_state() == "idle"
