"""The local UNICORE/X test server speaks the protocol the unmodified pyunicore expects.

Each test drives the server with pyunicore (or httpx where pyunicore has no call for it)
and checks one behaviour of ``shared/docs/remote-apis.md`` part A.
"""

from __future__ import annotations

import httpx
import pytest
import pyunicore.client as uc
import pyunicore.credentials as cred

pytestmark = pytest.mark.infra


@pytest.fixture
def client(unicore_site, unicore_token):
    """A pyunicore client on the plain-http listener."""
    return uc.Client(cred.OIDCToken(unicore_token), unicore_site.http_url)


def login_job(client, description, **kwargs):
    job = client.new_job({"Job type": "ON_LOGIN_NODE", **description}, **kwargs)
    job.cache_time = 0
    return job


def test_site_entry_point_reports_user_role_and_links(client):
    assert client.access_info()["role"]["selected"] == "user"
    assert client.server_version_info() == (10, 1, 0)
    assert {"jobs", "storages", "factories"} <= set(client.links)


def test_anonymous_access_is_role_anonymous_and_bad_tokens_get_403(unicore_site):
    class NoHeader(cred.Credential):
        def get_auth_header(self):
            return None

    with pytest.raises(cred.AuthenticationFailedException):
        uc.Client(NoHeader(), unicore_site.http_url)
    anonymous = uc.Client(cred.Anonymous(), unicore_site.http_url)
    assert anonymous.access_info()["role"]["selected"] == "anonymous"
    with pytest.raises(httpx.HTTPError, match="403 Server Error: Authentication failed"):
        uc.Client(cred.OIDCToken("not-a-valid-token"), unicore_site.http_url)


def test_new_job_location_status_and_string_exit_code(client):
    job = login_job(client, {"Executable": "echo", "Arguments": ["hello", "$GREETING"],
                             "Environment": {"GREETING": "world"}})
    job.poll(timeout=30)
    props = job.properties
    assert props["status"] == "SUCCESSFUL" and props["exitCode"] == "0"
    assert job.exit_code == 0
    assert props["batchSystemID"].startswith("INTERACTIVE_") and props["queue"] == "N/A"
    assert job.working_dir.stat("stdout").read() == b"hello world\n"


def test_non_zero_exit_fails_the_job_with_the_code(client):
    job = login_job(client, {"Executable": "bash", "Arguments": ["-c", "'exit 3'"]})
    job.poll(timeout=30)
    assert job.status == uc.JobStatus.FAILED and job.exit_code == 3
    assert "non-zero exit code: <3>" in job.properties["statusMessage"]


def test_description_errors_fail_asynchronously(client):
    raw = client.new_job({"Job type": "raw", "Executable": "true"})
    unknown = client.new_job({"Job type": "WEIRD", "Executable": "true"})
    queue = client.new_job({"Executable": "true", "Resources": {"Queue": "nosuch"}})
    for job, text in ((raw, "requires 'BSS file'"), (unknown, "Unknown job type"),
                      (queue, "Resource Queue 'nosuch' is not available")):
        job.cache_time = 0
        job.poll(timeout=30)
        assert job.status == uc.JobStatus.FAILED and text in job.properties["statusMessage"]


def test_client_stage_in_waits_in_ready_until_start(client, tmp_path):
    script = tmp_path / "run.sh"
    script.write_text("cat data/in.txt\n")
    data = tmp_path / "in.txt"
    data.write_text("staged\n")
    job = login_job(client, {"Executable": "bash", "Arguments": ["run.sh"]},
                    inputs={"run.sh": str(script), "data/in.txt": str(data)}, autostart=False)
    assert job.status == uc.JobStatus.READY
    assert job.working_dir.properties["resourceStatus"] == "READY"
    job.start()
    job.poll(timeout=30)
    job.start()  # starting a finished job does nothing and does not fail
    assert job.working_dir.stat("stdout").read() == b"staged\n"


def test_files_endpoint_dispatches_on_accept_and_honours_ranges(client):
    job = login_job(client, {"Executable": "printf", "Arguments": ["0123456789"]})
    job.poll(timeout=30)
    wd = job.working_dir
    listing = wd.contents()["content"]
    assert listing["/stdout"]["size"] == 10 and not listing["/stdout"]["isDirectory"]
    assert "stdout" in wd.listdir() and "UNICORE_SCRIPT_EXIT_CODE" in wd.listdir()
    stdout = wd.stat("stdout")
    assert stdout.read() == b"0123456789"
    assert stdout.read(offset=2, size=3) == b"234"
    url = stdout.resource_url
    tail = httpx.get(url, headers={"Accept": "application/octet-stream", "Range": "bytes=-4",
                                   "Authorization": f"Bearer {client.transport.credential.token}"})
    assert tail.status_code == 206 and tail.content == b"6789"
    assert tail.headers["Content-Range"] == "bytes 6-9/10"
    wd.mkdir("sub")
    assert wd.listdir()["sub/"].isdir()
    folder = httpx.get(wd.resource_url + "/files/sub", headers={
        "Accept": "application/octet-stream",
        "Authorization": f"Bearer {client.transport.credential.token}"})
    assert folder.status_code == 406


def test_upload_copy_rename_and_remove(client):
    job = login_job(client, {"Executable": "true"})
    job.poll(timeout=30)
    wd = job.working_dir
    wd.put(b"payload", "deep/dir/file.txt")
    wd.copy("deep/dir/file.txt", "copy.txt")
    wd.rename("copy.txt", "moved.txt")
    assert wd.stat("moved.txt").read() == b"payload"
    wd.rm("moved.txt")
    with pytest.raises(httpx.HTTPError, match="404"):
        wd.stat("moved.txt")


def test_job_list_filters_by_tag_and_delete_removes_the_job(client):
    job = login_job(client, {"Executable": "true", "Tags": ["protocol-test-tag"]})
    job.poll(timeout=30)
    tagged = client.get_jobs(tags=["protocol-test-tag"])
    assert [j.resource_url for j in tagged] == [job.resource_url]
    job.delete()
    with pytest.raises(httpx.HTTPError, match="404"):
        job.properties  # noqa: B018 (the GET is the point)


def test_abort_ends_a_running_job_failed(client):
    job = login_job(client, {"Executable": "sleep", "Arguments": ["60"]})
    job.poll(uc.JobStatus.RUNNING, timeout=30)
    job.abort()
    job.poll(timeout=30)
    assert job.status == uc.JobStatus.FAILED
    assert job.properties["statusMessage"] == "Job aborted."


def test_batch_job_follows_the_real_slurm_job(client):
    job = client.new_job({"Executable": "echo", "Arguments": ["$SLURM_JOB_ID"],
                          "Resources": {"Runtime": "5min", "Queue": "debug"}})
    job.cache_time = 0
    job.poll(timeout=60)
    props = job.properties
    assert props["status"] == "SUCCESSFUL" and props["jobType"] == "BATCH"
    assert props["batchSystemID"].isdigit() and props["queue"] == "debug"
    assert job.working_dir.stat("stdout").read().decode().strip() == props["batchSystemID"]


def test_login_node_sbatch_returns_at_once_and_is_not_tracked(client):
    job = login_job(client, {"Executable": "sbatch", "Arguments": [
        "--wrap", "'sleep 2; echo done > marker'"]})
    job.poll(timeout=30)
    assert job.status == uc.JobStatus.SUCCESSFUL
    assert job.working_dir.stat("stdout").read().startswith(b"Submitted batch job ")
    assert "marker" not in job.working_dir.listdir()


def test_unknown_security_session_gets_432_and_pyunicore_retries(unicore_site, client):
    client.transport.last_session_id = "no-such-session"
    assert client.transport.get(url=client.resource_url)["client"]["role"]["selected"] == "user"
    assert [r["outcome"] for r in unicore_site.requests()][-2:] == [432, 200]


def test_registry_is_served_over_tls_and_names_https_sites(unicore_site, unicore_token):
    registry = uc.Registry(cred.OIDCToken(unicore_token), unicore_site.registry_url)
    assert registry.site_urls == {"DEMO-SITE": unicore_site.https_url}
    assert registry.site("DEMO-SITE").access_info()["role"]["selected"] == "user"
    plain = unicore_site.registry_url.replace("https://", "http://").replace(
        unicore_site.https_url.split("/")[2], unicore_site.http_url.split("/")[2])
    with pytest.raises(AttributeError):  # pyunicore only accepts https registry entries
        uc.Registry(cred.OIDCToken(unicore_token), plain)


def test_the_site_issues_its_own_tokens_that_it_then_accepts(unicore_site, client):
    issued = client.issue_auth_token(lifetime=600)
    again = uc.Client(cred.OIDCToken(issued), unicore_site.http_url)
    assert again.access_info()["xlogin"]["UID"] == "demouser"
