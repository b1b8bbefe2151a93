"""The local NMPI queue speaks the job queue v3 protocol as remote-apis.md part B describes."""

from __future__ import annotations

import time

import nmpi
import pytest
import requests

from repro.targets.base import JobState
from repro.targets.nmpi import NmpiTarget


@pytest.fixture
def client(nmpi_queue, nmpi_user, monkeypatch):
    """The unmodified client on the queue, token file sent to /dev/null."""
    monkeypatch.setattr(nmpi.nmpi_user, "TOKENFILE", "/dev/null")
    nmpi_queue.configure(hold=True)
    return nmpi.Client(token=nmpi_queue.token, job_service=nmpi_queue.url,
                       user_info_endpoint=nmpi_queue.user_info_url)


def _get(queue, path, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(queue.url + path, headers=headers, timeout=10)


def test_authentication_errors_use_fastapi_bodies(nmpi_queue):
    missing = _get(nmpi_queue, "/jobs/1")
    assert (missing.status_code, missing.json()) == (403, {"detail": "Not authenticated"})
    wrong = _get(nmpi_queue, "/jobs/1", token="not-a-token")
    assert (wrong.status_code, wrong.json()) == (401, {"detail": "Token may have expired"})
    userinfo = _get(nmpi_queue, "/userinfo", token="not-a-token")
    assert userinfo.status_code == 401 and userinfo.json()["error"] == "invalid_token"
    about = _get(nmpi_queue, "/")
    assert about.status_code == 200 and about.json()["version"] == "3"


def test_job_lifecycle_fields_and_errors(client, nmpi_queue):
    uri = client.submit_job(source="print('x')", platform=nmpi.SPINNAKER,
                            collab_id=nmpi_queue.collab, tags=["snn", "x"])
    assert uri.startswith("/jobs/")
    job = client.get_job(uri, with_log=False)
    assert job["status"] == "submitted" and job["log"] is None
    assert job["tags"] == ["snn"]  # tags shorter than 2 characters are left out
    assert {"output_data", "provenance", "resource_usage", "timestamp_completion"} <= set(job)
    assert job["timestamp_submission"].endswith("Z")
    bad_id = _get(nmpi_queue, "/jobs/abc", token=nmpi_queue.token)
    assert bad_id.status_code == 422 and bad_id.json()["detail"][0]["type"] == "int_parsing"
    with pytest.raises(Exception, match="No such job: 999"):
        client.get_job(999)
    with pytest.raises(Exception, match="Error 422: .*string_type.*collab"):
        client.submit_job(source="x", platform=nmpi.SPINNAKER, collab_id=7)
    reply = requests.delete(nmpi_queue.url + uri, timeout=10,
                            headers={"Authorization": f"Bearer {nmpi_queue.token}"})
    assert reply.status_code == 200 and reply.json() is None
    assert client.queued_jobs() == []  # removed jobs are hidden


def test_lists_are_newest_first_and_ten_by_default(client, nmpi_queue):
    uris = [client.submit_job(source="x", platform=nmpi.SPINNAKER,
                              collab_id=nmpi_queue.collab) for _ in range(12)]
    listed = client.queued_jobs()
    assert listed == list(reversed(uris))[:10]


def test_results_are_served_without_authentication(nmpi_queue, nmpi_user, make_bundle):
    target = NmpiTarget("n", nmpi_queue.target_options())
    handle = target.submit(make_bundle(target))
    while not target.status(handle).state.terminal:
        time.sleep(0.05)
    job = nmpi_queue.state()["jobs"][0]
    files = job["output_data"]["files"]
    assert {f["path"].rsplit("/", 1)[-1] for f in files} >= {"spikes.npz", "result.json"}
    for item in files:
        assert item["path"].startswith(f"{nmpi_queue.collab}/job_{job['id']}/")
        assert requests.get(item["url"], timeout=10).status_code == 200  # no header at all
    assert _get(nmpi_queue, "/data/%2e%2e/%2e%2e/etc/passwd").status_code == 404


def test_status_polls_back_off_instead_of_hammering_the_server(nmpi_queue, nmpi_user,
                                                                make_bundle):
    nmpi_queue.configure(hold=True)
    target = NmpiTarget("n", nmpi_queue.target_options(poll_interval=0.2, poll_max=1.0))
    handle = target.submit(make_bundle(target))
    started = time.monotonic()
    while time.monotonic() - started < 2.0:
        assert target.status(handle).state is JobState.QUEUED
        time.sleep(0.01)
    polls = [p for m, p in nmpi_queue.state()["requests"]
             if m == "GET" and p == f"/jobs/{handle.job_id}"]
    # 0.2 s growing by 1.5x (capped at 1 s) fits 5-6 polls in 2 s; ~200 calls were made
    assert 3 <= len(polls) <= 7
