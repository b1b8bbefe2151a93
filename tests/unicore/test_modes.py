"""The unicore target in its three modes against the local UNICORE/X server.

Driven through the unmodified pyunicore; jobs really run (native and container modes as
UNICORE batch jobs on the real local SLURM, batch mode as a login-node ``sbatch``).
"""

from __future__ import annotations

import hashlib

import pytest

from repro.targets.base import JobState
from tests.targets.jobs import wait_terminal
from tests.unicore.helpers import make_bundle, make_target, push_image, read_json

pytestmark = [pytest.mark.slow, pytest.mark.infra]


def test_batch_mode_tracks_the_slurm_job_through_markers(unicore_site, unicore_token, tmp_path):
    target = make_target(unicore_site, "batch", module="ebrains/25.02")
    handle = target.submit(make_bundle(target, tmp_path / "bundle"))
    status = wait_terminal(target, handle)
    assert status.state is JobState.DONE, status.message
    target.fetch(handle, tmp_path / "out")
    manifest = read_json(tmp_path / "out" / "environment.json")
    slurm_id = handle.info["batch_system_id"]
    assert slurm_id.isdigit()
    assert manifest["scheduler"]["job_id"] == slurm_id
    assert manifest["esd_release"] == "25.02"
    assert handle.info["job_type"] == "ON_LOGIN_NODE"
    assert f"slurm-{slurm_id}.out" in (tmp_path / "out" / "launcher.log").read_text()


def test_container_mode_pulls_by_digest_and_records_that_digest(
        unicore_site, unicore_token, oci_registry, sif_image, tmp_path):
    digest = push_image(oci_registry.host, sif_image)
    image = f"oras://{oci_registry.host}/repro/harness@{digest}"
    target = make_target(unicore_site, "container", image=image)
    handle = target.submit(make_bundle(target, tmp_path / "bundle"))
    status = wait_terminal(target, handle)
    assert status.state is JobState.DONE, status.message
    target.fetch(handle, tmp_path / "out")
    manifest = read_json(tmp_path / "out" / "environment.json")
    container = manifest["container"]
    assert container["digest"] == digest == handle.info["container_digest"]
    assert container["runtime"] == "apptainer"
    assert container["image"].endswith("/image.sif")  # APPTAINER_CONTAINER of the step
    assert manifest["scheduler"]["job_id"] == handle.info["batch_system_id"]
    assert manifest["parallel"]["launcher"] == "pmix"  # the srun --mpi=pmix compute step
    assert handle.info["container_sif_sha256"] == "sha256:" + hashlib.sha256(
        sif_image.read_bytes()).hexdigest()
    log = (tmp_path / "out" / "launcher.log").read_text()
    assert f"Pulled {image}" in log


def test_container_mode_fails_when_the_registry_has_no_such_digest(
        unicore_site, unicore_token, oci_registry, tmp_path):
    image = f"oras://{oci_registry.host}/repro/harness@sha256:{'0' * 64}"
    target = make_target(unicore_site, "container", image=image)
    handle = target.submit(make_bundle(target, tmp_path / "bundle"))
    status = wait_terminal(target, handle)
    assert status.state is JobState.FAILED
    assert "Pre-command(s) failed" in status.message


def test_an_allowed_tag_is_resolved_at_submission_and_the_digest_recorded(
        unicore_site, unicore_token, oci_registry, sif_image, tmp_path):
    digest = push_image(oci_registry.host, sif_image, tag="moving")
    target = make_target(unicore_site, "container", allow_tag=True,
                         image=f"oras://{oci_registry.host}/repro/harness:moving")
    handle = target.submit(make_bundle(target, tmp_path / "bundle"))
    assert handle.info["container_digest"] == digest
    assert wait_terminal(target, handle).state is JobState.DONE
    target.fetch(handle, tmp_path / "out")
    manifest = read_json(tmp_path / "out" / "environment.json")
    assert manifest["container"]["digest"] == digest
    assert f"@{digest}" in (tmp_path / "out" / "launcher.log").read_text()
