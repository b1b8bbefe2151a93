"""What sites do wrong, and what the targets make of it (issue 12, "remote faults").

* A status probe without a definite answer means "unknown", never "gone".
* A job that cannot be confirmed after creation is aborted and deleted on the site.
* Every retry and outage of a run is counted in its crate.
* A site's reason for an error state reaches the CLI's error line.

Against the local UNICORE/X and NMPI servers (fault switches per remote-apis.md) and, for
Slurm, a stand-in ``scontrol`` that fails the way a client without a reachable controller
does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from repro.config.experiment import load_experiment
from repro.errors import SiteUnavailableError
from repro.execution.dispatch import run_experiment
from repro.records.run_crate import read_metadata
from repro.records.store import Store
from repro.targets.base import JobHandle, JobState
from repro.targets.slurm import SlurmTarget
from repro.targets.tables import make_target
from tests.targets.jobs import experiment_bundle, sleepy_experiment

ONE_JOB = r"/rest/core/jobs/[0-9a-f-]{36}$"


def _unicore(site, mode: str = "native", **options):
    return make_target(f"uc-{mode}", {
        "kind": "unicore", "url": site.https_url, "ca_bundle": str(site.ca_bundle),
        "mode": mode, "module": "ebrains/24.10" if mode == "native" else "",
        "poll_interval": 0.2, "poll_max": 1.0, "slurm_check": 0.5, "time": 5, **options},
        None)


def _job_facts(store: Store, outcome) -> dict:
    crate = store.root / outcome.record.crate_path
    values = {e.get("name"): e.get("value") for e in read_metadata(crate).values()
              if e.get("@type") == "PropertyValue"}
    job = json.loads((crate / "job.json").read_text())
    return {"crate": values, "job": job}


@pytest.mark.infra
@pytest.mark.slow
def test_a_failing_squeue_on_the_login_node_is_unknown_not_gone(
        unicore_site, unicore_token, tmp_path):
    target = _unicore(unicore_site, "batch")
    bundle = experiment_bundle(target, sleepy_experiment(tmp_path / "exp", wait_s=4.0), 1,
                               tmp_path / "scratch")
    before = {job["id"] for job in unicore_site.jobs()}
    handle = target.submit(bundle)
    while "slurm_id" not in handle.state:
        assert not target.status(handle).state.terminal
    unicore_site.faults(login_failures=[{
        "executable": "squeue", "times": 3, "exit": 1,
        "stderr": "squeue: error: Could not establish a configuration source"}])
    seen = []
    while not (status := target.status(handle)).state.terminal:
        seen.append(status.state)
    assert status.state is JobState.DONE, status.message
    assert JobState.UNKNOWN in seen
    assert handle.info["remote_outages"] >= 1
    left = [job for job in unicore_site.jobs() if job["id"] not in before
            and f"repro-run-{bundle.run_id}" not in job["tags"]]
    assert left == []  # every login-node probe was deleted, the failed ones too


@pytest.mark.infra
def test_a_job_that_cannot_be_confirmed_is_aborted_and_deleted(
        unicore_site, unicore_token, tmp_path):
    target = _unicore(unicore_site, attempts=2, outage_limit=1.0)
    bundle = experiment_bundle(target, sleepy_experiment(tmp_path / "exp"), 1,
                               tmp_path / "scratch")
    unicore_site.faults(rules=[{"method": "GET", "path": ONE_JOB, "phase": "before",
                                "action": "503", "times": 100}])
    with pytest.raises(SiteUnavailableError, match="aborted and deleted on the site"):
        target.submit(bundle)
    sent = [(r["method"], r["path"].rsplit("/", 2)[-1]) for r in unicore_site.requests()]
    assert ("POST", "abort") in sent and any(m == "DELETE" for m, _ in sent)
    assert [j for j in unicore_site.jobs() if f"repro-run-{bundle.run_id}" in j["tags"]] == []


@pytest.mark.infra
@pytest.mark.slow
def test_an_outage_while_polling_is_counted_in_the_run_crate(
        unicore_site, unicore_token, tmp_path):
    target = _unicore(unicore_site, attempts=2)
    experiment = load_experiment(sleepy_experiment(tmp_path / "exp", wait_s=3.0))
    store = Store(tmp_path / "store")

    def outage_after_submission(event: str, **_info) -> None:
        if event == "submitted":
            unicore_site.faults(rules=[{"method": "GET", "path": ONE_JOB, "phase": "before",
                                        "action": "503", "times": 6}])

    (outcome,) = run_experiment(experiment, [target], [1], store,
                                progress=outage_after_submission)
    assert outcome.ok, outcome.record.extra
    facts = _job_facts(store, outcome)
    assert facts["job"]["remote_outages"] >= 1 and facts["job"]["remote_retries"] >= 1
    assert facts["crate"]["job_remote_outages"] == facts["job"]["remote_outages"]
    assert facts["crate"]["job_remote_retries"] == facts["job"]["remote_retries"]


@pytest.mark.slow
def test_nmpi_faults_from_client_start_to_download_are_ridden_out_and_counted(
        nmpi_queue, nmpi_user, tmp_path):
    target = make_target("nmpi", {"kind": "nmpi", **nmpi_queue.target_options(
        attempts=2, preflight=False)}, None)
    experiment = load_experiment(sleepy_experiment(tmp_path / "exp"))
    store = Store(tmp_path / "store")
    # Every phase gets more transient failures than `attempts`: only a definite answer (or
    # outage_limit) may end a run.
    nmpi_queue.faults({"method": "GET", "path": "/userinfo", "action": "status",
                       "status": 502, "count": 5},  # token check and nmpi.Client start
                      {"method": "POST", "path": "/jobs/", "action": "status", "status": 503,
                       "count": 3},  # submission, never seen by the queue
                      {"method": "GET", "path": "/jobs/", "action": "status", "status": 502,
                       "count": 2},  # listing (is the job there although the POST failed?)
                      {"method": "GET", "path": "/jobs/[0-9]*", "action": "status",
                       "status": 502, "count": 4},  # status probes: unknown, an outage
                      {"method": "GET", "path": "/data/*", "action": "status", "status": 503,
                       "count": 6})  # the download
    (outcome,) = run_experiment(experiment, [target], [1], store)
    assert outcome.ok, outcome.record.extra
    job = _job_facts(store, outcome)["job"]
    assert job["remote_outages"] >= 1 and job["remote_retries"] >= 5 + 3 + 2 + 6
    assert len(nmpi_queue.state()["jobs"]) == 1
    assert job["remote_outage_s"] >= 0


@pytest.mark.slow
def test_an_nmpi_error_state_carries_the_site_reason_into_the_cli_line(nmpi_queue, tmp_path):
    experiment = sleepy_experiment(tmp_path / "exp")
    (experiment / "targets.toml").write_text(
        f'[targets.q]\nkind = "nmpi"\nurl = "{nmpi_queue.url}"\n'
        f'user_info_url = "{nmpi_queue.user_info_url}"\ncollab = "{nmpi_queue.collab}"\n'
        "poll_interval = 0.1\npoll_max = 0.5\npreflight = false\n")
    nmpi_queue.configure(error_on_start="SpiNNaker board 3 did not boot (reset failed)")
    env = {**{k: v for k, v in os.environ.items() if k not in ("EBRAINS_TOKEN", "NMPI_TOKEN")},
           "EBRAINS_TOKEN": nmpi_queue.token, "HOME": str(tmp_path),
           "REPRO_STORE": str(tmp_path / "crates"), "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "repro.cli", "run", str(experiment),
                           "--targets", "q"], cwd=experiment, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 1, done.stderr
    line = next(line for line in done.stderr.splitlines() if "runs failed" in line)
    assert "ended in status 'error'" in done.stderr
    assert "board 3 did not boot" in done.stderr, line


def test_a_slurm_probe_without_a_controller_is_unknown_until_the_outage_limit(
        tmp_path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "scontrol").write_text(
        "#!/bin/sh\necho 'slurm_load_jobs error: Unable to contact slurm controller "
        "(connect failure)' >&2\nexit 1\n")
    (fake / "scontrol").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    target = SlurmTarget("no-controller", {"workdir": str(tmp_path / "w"),
                                           "outage_limit": 0.5})
    handle = JobHandle("no-controller", "4711", state={"staged": str(tmp_path / "w"),
                                                       "log": str(tmp_path / "w" / "x")})
    status = target.status(handle)
    assert status.state is JobState.UNKNOWN and "Unable to contact" in status.message
    assert handle.info["remote_outages"] == 1
    time.sleep(0.6)
    with pytest.raises(SiteUnavailableError, match="state is unknown"):
        target.status(handle)


def test_the_report_sums_retries_and_outages_of_the_remote_runs():
    from repro.report.html import _remote_faults
    from repro.report.view import RunView

    runs = [RunView("a", "baseline", "uc", 1, job={"remote_retries": 3, "remote_outages": 1,
                                                    "remote_outage_s": 4.5}),
            RunView("b", "candidate", "uc", 2, job={"remote_retries": 0, "remote_outages": 0,
                                                     "remote_outage_s": 0.0}),
            RunView("c", "candidate", "local", 3, job={"executor": "local process"})]
    assert _remote_faults(runs) == ("3 retried requests, 1 outages (4.5 s without an answer) "
                                    "over 2 remote runs")
    assert _remote_faults(runs[2:]) == "not counted (no remote runs)"
