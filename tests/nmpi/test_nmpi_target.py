"""The nmpi target against the local NMPI job queue, through the unmodified nmpi client."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from repro.errors import AuthenticationError, InputError, SiteUnavailableError, TargetError
from repro.targets.base import JobState
from repro.targets.nmpi import NmpiTarget
from tests.targets.jobs import wait_terminal

pytestmark = pytest.mark.slow


def _jobs(queue) -> list[dict]:
    return queue.state()["jobs"]


def _posts(queue) -> int:
    return sum(1 for method, path in queue.state()["requests"]
               if method == "POST" and path == "/jobs/")


def test_failing_script_ends_failed_with_its_error_recorded(nmpi_queue, nmpi_user,
                                                           make_bundle, tmp_path):
    target = NmpiTarget("spinnaker-nmpi", nmpi_queue.target_options())
    handle = target.submit(make_bundle(target, network="broken"))
    status = wait_terminal(target, handle)
    assert status.state is JobState.FAILED
    assert "ended in status 'error': RuntimeError: deliberate failure" in status.message
    target.fetch(handle, tmp_path / "run")
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["status"] == "failed"
    assert "deliberate failure" in result["error"]["message"]
    assert handle.info["nmpi_status"] == "error"


@pytest.mark.parametrize("action", ["status", "drop_before", "drop_after"])
def test_submission_survives_server_faults_without_duplicates(nmpi_queue, nmpi_user,
                                                              make_bundle, action):
    rule = {"method": "POST", "path": "/jobs/", "action": action, "status": 503, "count": 2}
    nmpi_queue.configure(hold=True)  # keep it queued: the test is about submission only
    nmpi_queue.faults(rule)
    target = NmpiTarget("spinnaker-nmpi", nmpi_queue.target_options())
    handle = target.submit(make_bundle(target))
    jobs = _jobs(nmpi_queue)
    assert [job["id"] for job in jobs] == [int(handle.job_id)]
    # drop_after creates the job on the first POST, so no second POST may follow
    assert _posts(nmpi_queue) == (1 if action == "drop_after" else 3)
    requests.delete(f"{nmpi_queue.url}/jobs/{handle.job_id}",
                    headers={"Authorization": f"Bearer {nmpi_queue.token}"}, timeout=10)


def test_polling_rides_out_5xx_and_dropped_connections(nmpi_queue, nmpi_user, make_bundle,
                                                       tmp_path):
    target = NmpiTarget("spinnaker-nmpi", nmpi_queue.target_options())
    handle = target.submit(make_bundle(target))
    nmpi_queue.faults({"method": "GET", "path": "/jobs/*", "action": "status", "status": 502,
                       "count": 2},
                      {"method": "GET", "path": "/jobs/*", "action": "drop_before",
                       "count": 2})
    status = wait_terminal(target, handle)
    assert status.state is JobState.DONE, status.message
    nmpi_queue.faults({"method": "GET", "path": "/data/*", "action": "status",
                       "status": 500, "count": 1})
    target.fetch(handle, tmp_path / "run")
    assert (tmp_path / "run" / "spikes.npz").is_file()
    assert len(_jobs(nmpi_queue)) == 1


def test_persistent_server_failure_gives_a_clear_error(nmpi_queue, nmpi_user, make_bundle):
    nmpi_queue.faults({"method": "POST", "path": "/jobs/", "action": "status", "status": 503,
                       "count": 50})
    target = NmpiTarget("spinnaker-nmpi", nmpi_queue.target_options(attempts=3,
                                                                    outage_limit=1.0))
    started = time.monotonic()
    with pytest.raises(SiteUnavailableError,
                       match=r"submitting failed \d+ times.*maintenance.*HTTP 503"):
        target.submit(make_bundle(target))
    assert time.monotonic() - started >= 1.0  # retried past `attempts`, up to outage_limit
    assert _jobs(nmpi_queue) == []


def test_removed_job_is_reported_cancelled(nmpi_queue, nmpi_user, make_bundle):
    nmpi_queue.configure(hold=True)
    target = NmpiTarget("spinnaker-nmpi", nmpi_queue.target_options())
    handle = target.submit(make_bundle(target))
    assert target.status(handle).state is JobState.QUEUED
    target.cancel(handle)
    status = wait_terminal(target, handle, timeout=10)
    assert status.state is JobState.CANCELLED
    assert "removed" in status.message
    assert _jobs(nmpi_queue)[0]["status"] == "removed"


def test_job_removed_by_the_platform_when_it_starts(nmpi_queue, nmpi_user, make_bundle):
    nmpi_queue.configure(remove_on_start=True)
    target = NmpiTarget("spinnaker-nmpi", nmpi_queue.target_options())
    handle = target.submit(make_bundle(target))
    status = wait_terminal(target, handle, timeout=20)
    assert status.state is JobState.CANCELLED


def test_expired_token_gives_one_clear_message(nmpi_queue, nmpi_user, make_bundle):
    target = NmpiTarget("spinnaker-nmpi", nmpi_queue.target_options())
    nmpi_queue.admin("expire", {"token": nmpi_queue.token})
    with pytest.raises(AuthenticationError) as caught:
        target.submit(make_bundle(target))
    message = str(caught.value)
    assert "rejected the access token" in message and "$EBRAINS_TOKEN" in message
    assert nmpi_queue.token not in message
    assert _jobs(nmpi_queue) == []


def test_token_expiring_while_a_job_runs(nmpi_queue, nmpi_user, make_bundle):
    nmpi_queue.configure(hold=True)
    target = NmpiTarget("spinnaker-nmpi", nmpi_queue.target_options())
    handle = target.submit(make_bundle(target))
    nmpi_queue.admin("expire", {"token": nmpi_queue.token})
    with pytest.raises(AuthenticationError, match="expired or revoked"):
        target.status(handle)


def test_missing_token_names_the_variable(nmpi_queue, monkeypatch, make_bundle):
    monkeypatch.delenv("EBRAINS_TOKEN", raising=False)
    monkeypatch.delenv("NMPI_TOKEN", raising=False)
    target = NmpiTarget("spinnaker-nmpi", nmpi_queue.target_options())
    with pytest.raises(AuthenticationError, match=r"\$EBRAINS_TOKEN or \$NMPI_TOKEN"):
        target.submit(make_bundle(target))


def test_hostile_result_names_are_refused_and_nothing_escapes(nmpi_queue, nmpi_user,
                                                               make_bundle, tmp_path):
    nmpi_queue.configure(hostile_files=["../../x", "repro-test/job_1/../../../y"])
    target = NmpiTarget("spinnaker-nmpi", nmpi_queue.target_options())
    handle = target.submit(make_bundle(target))
    assert wait_terminal(target, handle).state is JobState.DONE
    run_dir = tmp_path / "deep" / "run"
    run_dir.mkdir(parents=True)
    before = sorted(p for p in tmp_path.rglob("*"))
    with pytest.raises(TargetError, match=r"unsafe names.*\.\./\.\./x.*refused"):
        target.fetch(handle, run_dir)
    after = sorted(p for p in tmp_path.rglob("*"))
    escaped = [p for p in after if p not in before and not p.is_relative_to(run_dir)]
    assert escaped == []
    assert not (tmp_path / "x").exists() and not (tmp_path / "deep" / "x").exists()
    assert not (run_dir / "spikes.npz").exists()


def test_token_is_written_nowhere(nmpi_queue, nmpi_user, make_bundle, tmp_path):
    real_token_file = Path.home() / ".hbptoken"
    target = NmpiTarget("spinnaker-nmpi", nmpi_queue.target_options())
    bundle = make_bundle(target)
    handle = target.submit(bundle)
    assert wait_terminal(target, handle).state is JobState.DONE
    target.fetch(handle, tmp_path / "run")
    assert not (nmpi_user / ".hbptoken").exists()
    assert not real_token_file.exists() or nmpi_queue.token not in real_token_file.read_text()
    token = nmpi_queue.token.encode()
    written = [p for root in (tmp_path, nmpi_user, nmpi_queue.data) for p in root.rglob("*")
               if p.is_file()]
    assert written and all(token not in p.read_bytes() for p in written)
    assert nmpi_queue.token not in json.dumps(handle.info)
    assert nmpi_queue.token not in repr(handle)


def test_integer_collab_is_sent_as_a_string(nmpi_queue, nmpi_user, make_bundle):
    nmpi_queue.configure(hold=True)
    target = NmpiTarget("spinnaker-nmpi", nmpi_queue.target_options(collab=1234))
    handle = target.submit(make_bundle(target))
    assert _jobs(nmpi_queue)[0]["collab"] == "1234"
    target.cancel(handle)


def test_collab_without_rights_is_refused_clearly(nmpi_queue, nmpi_user, make_bundle):
    target = NmpiTarget("spinnaker-nmpi", nmpi_queue.target_options(collab="elsewhere"))
    with pytest.raises(TargetError, match=r"refused the job: You do not have access to this "
                                          r"collab.*HTTP 404"):
        target.submit(make_bundle(target))


def test_missing_collab_is_an_input_error(nmpi_queue, nmpi_user, make_bundle):
    options = nmpi_queue.target_options()
    del options["collab"]
    target = NmpiTarget("spinnaker-nmpi", options)
    with pytest.raises(InputError, match="collab"):
        target.submit(make_bundle(target))


def test_check_reports_user_service_and_collab(nmpi_queue, nmpi_user):
    target = NmpiTarget("spinnaker-nmpi", nmpi_queue.target_options())
    summary = target.check()
    assert f"user {nmpi_queue.username}" in summary and "$EBRAINS_TOKEN" in summary
    assert "API v3" in summary and f"collab {nmpi_queue.collab}" in summary
    foreign = NmpiTarget("x", nmpi_queue.target_options(collab="elsewhere"))
    with pytest.raises(TargetError, match="not a member of collab 'elsewhere'"):
        foreign.check()


def test_spynnaker_cfg_option_is_shipped_as_the_runs_local_cfg(nmpi_queue, nmpi_user,
                                                               make_bundle):
    options = nmpi_queue.target_options(
        spynnaker_cfg={"Machine": {"time_scale_factor": 4}})
    target = NmpiTarget("spinnaker-nmpi", options)
    handle = target.submit(make_bundle(target, network="cfgprobe"))
    status = wait_terminal(target, handle)
    assert status.state is JobState.DONE, status.message
    bare = NmpiTarget("spinnaker-nmpi", nmpi_queue.target_options())
    handle = bare.submit(make_bundle(bare, network="cfgprobe"))
    assert wait_terminal(bare, handle).state is JobState.FAILED
