"""The slurm target against a real single-node SLURM cluster on localhost.

The time-limit job is submitted when the module starts (a one-minute limit is the shortest
Slurm has) and checked by the last test, so it runs while the others do.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from repro.errors import InputError, TargetError
from repro.targets.base import JobState
from repro.targets.slurm import EXIT_MARKER, SCRIPT_NAME, SlurmTarget, read_jobcomp_record
from tests.infra.slurm_cluster import PARTITION, SlurmCluster
from tests.targets.jobs import bundles_for, sleepy_experiment, wait_for, wait_terminal

pytestmark = pytest.mark.infra


def _target(cluster: SlurmCluster, workdir: Path, **options) -> SlurmTarget:
    return SlurmTarget("local-slurm", {"workdir": str(workdir),
                                       "slurm_conf": str(cluster.conf_path), **options})


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("slurm-target")


@pytest.fixture(scope="module")
def target(slurm_cluster: SlurmCluster, base: Path) -> SlurmTarget:
    return _target(slurm_cluster, base / "work")


@pytest.fixture(scope="module")
def quick_experiment(base: Path) -> Path:
    return sleepy_experiment(base / "quick")


@pytest.fixture(scope="module", autouse=True)
def time_limited(slurm_cluster: SlurmCluster, base: Path):
    """A run that outlives its one-minute limit, submitted before the other tests run."""
    target = _target(slurm_cluster, base / "work-timeout", time="1")
    (bundle,) = bundles_for(sleepy_experiment(base / "slow", wait_s=600.0), target, [1],
                            base / "scratch-timeout")
    handle = target.submit(bundle)
    yield target, handle
    target.cancel(handle)


def test_batch_script_carries_the_target_options(slurm_cluster, base):
    target = _target(slurm_cluster, base / "work-opts", threads=2, nodes=1, ntasks=1,
                     time="00:05:00", partition=PARTITION, account="proj42", qos="normal",
                     sbatch_options=["--constraint=mc"], setup="module load ebrains/24.10")
    lines = target.sbatch_directives("repro-x", "/w/slurm.out")
    for expected in ("--cpus-per-task=2", "--nodes=1", "--ntasks=1", "--time=00:05:00",
                     f"--partition={PARTITION}", "--account=proj42", "--qos=normal",
                     "--constraint=mc", "--no-requeue", "--output=/w/slurm.out"):
        assert f"#SBATCH {expected}" in lines


def test_submitted_script_is_staged_with_the_bundle(target, quick_experiment, base):
    (bundle,) = bundles_for(quick_experiment, target, [4], base / "scratch")
    handle = target.submit(bundle)
    staged = Path(handle.state["staged"])
    script = (staged / SCRIPT_NAME).read_text()
    assert script.startswith("#!/bin/bash\n")
    assert "-m repro.site.harness run_spec.json output" in script
    assert (staged / "run_spec.json").is_file() and (staged / "site" / "repro").is_dir()
    assert wait_terminal(target, handle).state is JobState.DONE
    assert (staged / EXIT_MARKER).read_text().strip() == "0"


def test_unknown_partition_is_refused_by_sbatch_and_nothing_is_left_staged(
        slurm_cluster, quick_experiment, base):
    target = _target(slurm_cluster, base / "work-badpart", partition="nosuchpartition")
    (bundle,) = bundles_for(quick_experiment, target, [1], base / "scratch")
    with pytest.raises(TargetError, match="(?i)local-slurm.*sbatch.*partition"):
        target.submit(bundle)
    assert not (base / "work-badpart" / bundle.run_id).exists()


def test_malformed_time_limit_names_the_option(slurm_cluster, base):
    with pytest.raises(InputError, match=r"targets\.local-slurm\.time"):
        _target(slurm_cluster, base / "w", time="ten minutes")


def test_nonzero_exit_is_reported_failed_with_the_exit_code(target, base, tmp_path):
    experiment = sleepy_experiment(base / "failing", fail=True)
    (bundle,) = bundles_for(experiment, target, [1], base / "scratch")
    handle = target.submit(bundle)
    status = wait_terminal(target, handle)
    assert status.state is JobState.FAILED
    assert "exit code 1" in status.message and handle.job_id in status.message
    assert handle.info["exit_code"] == 1
    target.fetch(handle, tmp_path)
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["status"] == "failed"
    assert "asked to fail" in result["error"]["message"]


def test_cancellation_stops_the_job(target, base, slurm_cluster):
    experiment = sleepy_experiment(base / "cancelled", wait_s=300.0)
    (bundle,) = bundles_for(experiment, target, [1], base / "scratch")
    handle = target.submit(bundle)
    wait_for(target, handle, (JobState.RUNNING,), timeout=60)
    target.cancel(handle)
    status = wait_terminal(target, handle, timeout=30)
    assert status.state is JobState.CANCELLED, status.message
    squeue = slurm_cluster.run("squeue", "-h", "-t", "all", "-j", handle.job_id, "-o", "%T")
    assert squeue.stdout.strip() == "CANCELLED"


def test_multi_seed_campaign_goes_out_as_one_job_array(target, quick_experiment, base,
                                                       slurm_cluster, tmp_path):
    bundles = bundles_for(quick_experiment, target, [11, 12, 13], base / "scratch")
    handles = target.submit_many(bundles)
    array_ids = {h.info["array_job_id"] for h in handles}
    assert len(array_ids) == 1
    (array_id,) = array_ids
    assert [h.job_id for h in handles] == [f"{array_id}_{i}" for i in range(3)]
    listed = slurm_cluster.run("squeue", "-h", "-t", "all", "-r", "-j", array_id, "-o", "%K")
    assert sorted(listed.stdout.split()) == ["0", "1", "2"]
    for seed, handle in zip([11, 12, 13], handles, strict=True):
        assert wait_terminal(target, handle).state is JobState.DONE
        dest = tmp_path / str(seed)
        target.fetch(handle, dest)
        assert json.loads((dest / "result.json").read_text())["seed"] == seed
        scheduler = json.loads((dest / "environment.json").read_text())["scheduler"]
        assert scheduler["array_job_id"] == array_id
        assert scheduler["array_task_id"] == str(handle.info["array_task_id"])
        assert (dest / "launcher.log").is_file()


def test_completion_record_comes_from_the_jobcomp_log_once_the_controller_forgets(
        target, quick_experiment, base, slurm_cluster):
    bundles = bundles_for(quick_experiment, target, [21, 22], base / "scratch")
    handles = target.submit_many(bundles)
    for handle in handles:
        assert wait_terminal(target, handle).state is JobState.DONE
    for handle in handles:
        record, source = target.completion_record(handle.job_id)
        assert source == "jobcomp"
        assert "JobState=COMPLETED" in record and "ExitCode=0:0" in record
        assert f"ArrayTaskId={handle.info['array_task_id']}" in record
    assert read_jobcomp_record(slurm_cluster.jobcomp_path, "999999") is None


@pytest.mark.slow
def test_time_limit_is_reported_failed_with_the_reason(time_limited, tmp_path):
    target, handle = time_limited
    status = wait_terminal(target, handle, timeout=150)
    assert status.state is JobState.FAILED
    assert "time limit" in status.message and "TIMEOUT" in status.message
    assert handle.info["slurm_state"] == "TIMEOUT"
    target.fetch(handle, tmp_path)
    assert (tmp_path / "harness.log").is_file()  # what the run wrote is kept
    assert "CANCELLED" in (tmp_path / "launcher.log").read_text()  # Slurm's own notice


def test_job_that_completes_without_running_the_harness_is_reported_failed(
        slurm_cluster, quick_experiment, base):
    # An interpreter that exits 0 without doing anything: Slurm says COMPLETED.
    target = _target(slurm_cluster, base / "work-noop", python="/bin/true")
    (bundle,) = bundles_for(quick_experiment, target, [1], base / "scratch")
    handle = target.submit(bundle)
    status = wait_terminal(target, handle)
    assert status.state is JobState.FAILED
    assert "COMPLETED but the harness wrote no result" in status.message


def test_preflight_check_reports_version_cluster_and_partition(target, slurm_cluster, base):
    summary = target.check()
    assert f"Slurm {slurm_cluster.version()}" in summary and "repro-test" in summary
    assert PARTITION in summary
    with pytest.raises(TargetError, match="nosuchpartition"):
        _target(slurm_cluster, base / "w-check", partition="nosuchpartition").check()


def test_cancelling_pending_array_tasks_reports_them_cancelled(slurm_cluster,
                                                               quick_experiment, base):
    target = _target(slurm_cluster, base / "work-pending", sbatch_options=["--begin=now+3600"])
    bundles = bundles_for(quick_experiment, target, [31, 32], base / "scratch")
    handles = target.submit_many(bundles)
    for handle in handles:
        assert target.status(handle).state is JobState.QUEUED
    target.cancel(handles[1])
    assert wait_terminal(target, handles[1], timeout=30).state is JobState.CANCELLED
    assert target.status(handles[0]).state is JobState.QUEUED  # its sibling still waits
    target.cancel(handles[0])
    assert wait_terminal(target, handles[0], timeout=30).state is JobState.CANCELLED


def test_options_that_choose_the_environment_enter_the_run_identity(slurm_cluster, base):
    def identity(**options):
        return SlurmTarget("id-slurm", {"slurm_conf": str(slurm_cluster.conf_path),
                                        **options}).identity()

    plain = identity()
    for option, value in (("setup", "module load ebrains/25.02"), ("python", "/opt/py/bin/py"),
                          ("partition", "gpu"), ("threads", 4),
                          ("slurm_conf", "/etc/slurm/other.conf")):
        assert identity(**{option: value}) != plain, option
    for option, value in (("time", "02:00:00"), ("account", "other"),
                          ("workdir", str(base / "elsewhere")), ("parallel", 3)):
        assert identity(**{option: value}) == plain, option
