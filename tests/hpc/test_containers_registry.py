"""`repro containers` against a real local OCI registry with a real SIF built by siftool."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from repro.containers.apptainer import parse_image_reference, pull_argv
from repro.containers.registry import (
    SIF_LAYER_MEDIA_TYPE,
    Registry,
    is_sif,
    parse_registry_reference,
    pull_sif,
    push_sif,
    resolve_digest,
    sha256_file,
)
from repro.errors import InputError, IntegrityError, TargetError
from tests.foundation.helpers import repro
from tests.infra.oci_registry import OciRegistry, build_sif
from tests.infra.slurm_cluster import free_port

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def pushed(oci_registry: OciRegistry, sif_image: Path):
    """The test image pushed once as repro/test:1.0."""
    started = time.perf_counter()
    record = push_sif(sif_image, f"{oci_registry.host}/repro/test:1.0")
    print(f"registry start {oci_registry.startup_seconds:.2f} s; push of "
          f"{sif_image.stat().st_size} B SIF {time.perf_counter() - started:.2f} s")
    return record


def test_built_image_is_a_real_sif(sif_image):
    assert is_sif(sif_image)


def test_push_returns_the_digest_the_registry_reports_for_the_tag(pushed, oci_registry,
                                                                  sif_image):
    assert pushed.digest.startswith("sha256:") and len(pushed.digest) == 71
    assert pushed.reference == f"oras://{oci_registry.host}/repro/test@{pushed.digest}"
    assert pushed.layer_digest == sha256_file(sif_image)
    assert resolve_digest(f"{oci_registry.host}/repro/test:1.0").digest == pushed.digest


def test_manifest_is_an_oras_sif_artifact(pushed, oci_registry):
    ref = parse_registry_reference(pushed.reference)
    manifest = Registry(oci_registry.host).manifest(ref)
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == SIF_LAYER_MEDIA_TYPE
    assert layer["digest"] == pushed.layer_digest


def test_pull_by_digest_verifies_and_reproduces_the_file(pushed, sif_image, tmp_path):
    dest = tmp_path / "pulled.sif"
    record = pull_sif(pushed.reference, dest)
    assert dest.read_bytes() == sif_image.read_bytes()
    assert record.digest == pushed.digest and record.layer_digest == sha256_file(dest)
    assert not list(tmp_path.glob(".*partial"))


def test_tag_only_pull_is_refused_unless_allowed(pushed, oci_registry, tmp_path):
    tagged = f"{oci_registry.host}/repro/test:1.0"
    with pytest.raises(InputError, match="tag only"):
        pull_sif(tagged, tmp_path / "x.sif")
    assert not (tmp_path / "x.sif").exists()
    record = pull_sif(tagged, tmp_path / "x.sif", allow_tag=True)
    assert record.digest == pushed.digest and record.tag == "1.0"


def test_retagging_moves_the_tag_but_not_the_pinned_digest(pushed, oci_registry, tmp_path):
    other = build_sif(tmp_path / "other.sif", {"etc/version": b"2\n"})
    moved = push_sif(other, f"{oci_registry.host}/repro/test:moving")
    again = push_sif(build_sif(tmp_path / "third.sif", {"etc/version": b"3\n"}),
                     f"{oci_registry.host}/repro/test:moving")
    assert moved.digest != again.digest
    assert resolve_digest(f"{oci_registry.host}/repro/test:moving").digest == again.digest
    assert resolve_digest(pushed.reference).digest == pushed.digest
    pull_sif(moved.reference, tmp_path / "old.sif")  # the old digest still pulls
    assert (tmp_path / "old.sif").read_bytes() == other.read_bytes()


def test_a_tampered_blob_in_the_registry_is_detected_and_nothing_is_written(
        oci_registry, tmp_path):
    image = build_sif(tmp_path / "victim.sif", {"etc/payload": b"original\n" * 100})
    record = push_sif(image, f"{oci_registry.host}/repro/victim:1")
    blob = oci_registry.blob_path(record.layer_digest)
    data = bytearray(blob.read_bytes())
    data[-10] ^= 0xFF
    blob.write_bytes(bytes(data))
    dest = tmp_path / "pulled.sif"
    with pytest.raises(IntegrityError, match="hashes to"):
        pull_sif(record.reference, dest)
    assert not dest.exists() and not list(tmp_path.glob(".*partial"))


def test_unknown_digest_names_the_reference(oci_registry, tmp_path):
    missing = f"{oci_registry.host}/repro/test@sha256:" + "0" * 64
    with pytest.raises(InputError, match="no such image"):
        pull_sif(missing, tmp_path / "x.sif")


def test_pushing_a_file_that_is_not_a_sif_is_refused(oci_registry, tmp_path):
    fake = tmp_path / "fake.sif"
    fake.write_bytes(b"not a container" * 10)
    with pytest.raises(InputError, match="not a SIF") as excinfo:
        push_sif(fake, f"{oci_registry.host}/repro/fake:1")
    assert str(fake) in str(excinfo.value)


def test_push_needs_a_tag(oci_registry, sif_image):
    with pytest.raises(InputError, match="needs a tag"):
        push_sif(sif_image, f"{oci_registry.host}/repro/test")


def test_unreachable_registry_fails_fast_with_one_message(tmp_path):
    started = time.perf_counter()
    with pytest.raises(TargetError, match="not reachable"):
        resolve_digest(f"127.0.0.1:{free_port()}/repro/test:1.0")
    assert time.perf_counter() - started < 10


def test_pinned_push_result_feeds_the_apptainer_pull_line(pushed):
    argv = pull_argv(pushed.reference, "image.sif")
    assert argv[-1] == pushed.reference
    assert parse_image_reference(argv[-1]).digest == pushed.digest


def test_cli_push_digest_pull_round_trip(oci_registry, sif_image, tmp_path):
    target = f"{oci_registry.host}/repro/cli:2.0"
    pushed = repro("containers", "push", str(sif_image), target, "--json")
    assert pushed.returncode == 0, pushed.stderr
    push_record = json.loads(pushed.stdout)
    resolved = repro("containers", "digest", target, "--json")
    assert resolved.returncode == 0, resolved.stderr
    assert json.loads(resolved.stdout)["digest"] == push_record["digest"]
    dest = tmp_path / "cli.sif"
    pulled = repro("containers", "pull", push_record["reference"], "-o", str(dest), "--json")
    assert pulled.returncode == 0, pulled.stderr
    assert json.loads(pulled.stdout)["layer_digest"] == sha256_file(sif_image)
    assert dest.read_bytes() == sif_image.read_bytes()


def test_cli_refuses_tag_only_pull_with_one_clear_line(oci_registry, tmp_path):
    result = repro("containers", "pull", f"{oci_registry.host}/repro/cli:2.0",
                   "-o", str(tmp_path / "x.sif"))
    assert result.returncode == 2
    assert "tag only" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.sif").exists()
