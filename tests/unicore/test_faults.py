"""Faults between the unicore target and the site: 5xx, dropped connections, failures.

The local UNICORE/X server injects the faults (``/__admin__/faults``); the target talks to
it through the unmodified pyunicore.
"""

from __future__ import annotations

import pytest

from repro.errors import TargetError
from repro.site.spikefile import read_spikes
from repro.targets.base import JobState
from tests.targets.jobs import wait_terminal
from tests.unicore.helpers import jobs_of_run, make_bundle, make_target, read_json

pytestmark = [pytest.mark.slow, pytest.mark.infra]

JOBS = r"/rest/core/jobs$"
ONE_JOB = r"/rest/core/jobs/[0-9a-f-]{36}$"
FILES = r"/rest/core/storages/[0-9a-f-]{36}-uspace/files/"


def test_dropped_connection_after_the_site_created_the_job_gives_no_duplicate(
        unicore_site, unicore_token, tmp_path):
    target = make_target(unicore_site, "native")
    bundle = make_bundle(target, tmp_path / "bundle")
    unicore_site.faults(rules=[{"method": "POST", "path": JOBS, "phase": "after",
                                "action": "drop", "times": 1}])
    handle = target.submit(bundle)
    posts = [r for r in unicore_site.requests() if r["method"] == "POST"
             and r["path"].endswith("/rest/core/jobs")]
    assert [p["outcome"] for p in posts] == ["201, then dropped"]
    assert len(jobs_of_run(unicore_site, bundle)) == 1
    assert wait_terminal(target, handle).state is JobState.DONE


def test_server_errors_after_creation_and_before_start_are_retried_once_each(
        unicore_site, unicore_token, tmp_path):
    target = make_target(unicore_site, "native")
    bundle = make_bundle(target, tmp_path / "bundle")
    unicore_site.faults(rules=[
        {"method": "POST", "path": JOBS, "phase": "after", "action": "502", "times": 1},
        {"method": "GET", "path": JOBS, "phase": "before", "action": "503", "times": 1},
        {"method": "PUT", "path": FILES + "run_spec.json", "phase": "before",
         "action": "500", "times": 2},
        {"method": "POST", "path": r"/actions/start$", "phase": "before", "action": "drop",
         "times": 1}])
    handle = target.submit(bundle)
    assert len(jobs_of_run(unicore_site, bundle)) == 1
    status = wait_terminal(target, handle)
    assert status.state is JobState.DONE, status.message


def test_polling_and_downloads_survive_5xx_and_dropped_connections(
        unicore_site, unicore_token, tmp_path):
    target = make_target(unicore_site, "native")
    handle = target.submit(make_bundle(target, tmp_path / "bundle"))
    unicore_site.faults(rules=[
        {"method": "GET", "path": ONE_JOB, "phase": "before", "action": "503", "times": 2},
        {"method": "GET", "path": ONE_JOB, "phase": "before", "action": "drop", "times": 1},
        {"method": "GET", "path": FILES + "output/spikes.npz", "phase": "before",
         "action": "500", "times": 1},
        {"method": "GET", "path": FILES + "output/environment.json", "phase": "before",
         "action": "drop", "times": 1}])
    assert wait_terminal(target, handle).state is JobState.DONE
    target.fetch(handle, tmp_path / "out")
    outcomes = [r["outcome"] for r in unicore_site.requests()]
    assert outcomes.count("503") == 2 and outcomes.count("500") == 1
    assert outcomes.count("dropped") == 2
    spikes = read_spikes(tmp_path / "out" / "spikes.npz")
    assert sum(len(p.times) for p in spikes) > 0
    assert read_json(tmp_path / "out" / "environment.json")["esd_release"] == "24.10"


def test_a_site_that_keeps_failing_gives_one_clear_error(unicore_site, unicore_token,
                                                         tmp_path):
    target = make_target(unicore_site, "native", attempts=3, outage_limit=1.0)
    unicore_site.faults(rules=[{"method": "GET", "path": r"/rest/core$", "action": "503",
                                "times": 100}])
    with pytest.raises(TargetError, match=r"target 'uc-native': connecting to the site "
                                          r"failed after \d+ attempt\(s\): 503"):
        target.submit(make_bundle(target, tmp_path / "bundle"))


def test_unknown_module_fails_the_job_with_the_site_reason(unicore_site, unicore_token,
                                                           tmp_path):
    target = make_target(unicore_site, "native", module="ebrains/99.99")
    handle = target.submit(make_bundle(target, tmp_path / "bundle"))
    status = wait_terminal(target, handle)
    assert status.state is JobState.FAILED
    assert "Pre-command(s) failed" in status.message
    target.fetch(handle, tmp_path / "out")
    assert "ebrains/99.99" in (tmp_path / "out" / "launcher.log").read_text()


def test_failing_harness_fails_the_run_and_its_outputs_still_arrive(unicore_site,
                                                                    unicore_token, tmp_path):
    target = make_target(unicore_site, "native")
    handle = target.submit(make_bundle(target, tmp_path / "bundle", n_neurons=-10))
    status = wait_terminal(target, handle)
    assert status.state is JobState.FAILED
    assert "non-zero exit code: <1>" in status.message
    target.fetch(handle, tmp_path / "out")
    result = read_json(tmp_path / "out" / "result.json")
    assert result["status"] == "failed" and result["error"]["type"]


def test_batch_mode_notices_a_slurm_job_that_died_without_a_marker(
        unicore_site, unicore_token, slurm_cluster, tmp_path):
    target = make_target(unicore_site, "batch", module="")
    handle = target.submit(make_bundle(target, tmp_path / "bundle", n_neurons=2000))
    while "slurm_id" not in handle.state:
        assert not target.status(handle).state.terminal
    slurm_cluster.run("scancel", handle.state["slurm_id"])
    status = wait_terminal(target, handle)
    assert status.state is JobState.FAILED
    assert f"Slurm job {handle.state['slurm_id']} ended (CANCELLED)" in status.message


def test_cancel_in_batch_mode_cancels_the_slurm_job(unicore_site, unicore_token,
                                                    slurm_cluster, tmp_path):
    target = make_target(unicore_site, "batch", module="")
    handle = target.submit(make_bundle(target, tmp_path / "bundle", n_neurons=2000))
    while "slurm_id" not in handle.state:
        target.status(handle)
    target.cancel(handle)
    assert wait_terminal(target, handle).state is JobState.CANCELLED
    state = slurm_cluster.run("squeue", "-h", "-t", "all", "-j", handle.state["slurm_id"],
                              "-o", "%T").stdout.strip()
    assert state in ("CANCELLED", "")


def test_hostile_names_in_the_listing_are_refused_and_nothing_is_written(
        unicore_site, unicore_token, tmp_path):
    target = make_target(unicore_site, "native")
    handle = target.submit(make_bundle(target, tmp_path / "bundle"))
    assert wait_terminal(target, handle).state is JobState.DONE
    for name in ("../../escape.txt", "../../../../tmp/escape.txt", "sub/../../escape.txt",
                 "a/b.txt", "..", "with\nnewline", "back\\slash"):
        unicore_site.faults(hostile_names=[name])
        dest = tmp_path / "dest" / "deeper"
        with pytest.raises(TargetError, match="refusing a file name"):
            target.fetch(handle, dest)
        assert not dest.exists()
    assert not list(tmp_path.rglob("escape.txt"))
