"""The target contract, run against every target kind (PyNN's ``run_with_simulators`` pattern).

Every kind in :data:`repro.targets.TARGET_KINDS` must: take ``check(experiment)`` and answer
with one line; keep secrets (tokens, secret options) out of ``identity()``, the job facts and
the fetched files; and take a run bundle through submit -> terminal -> fetch so that every
harness output arrives, the files the network script wrote included. Remote kinds run
against the real local services: the SLURM cluster (tests/infra), the UNICORE/X and NMPI
servers (tests/servers).
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from repro.config.experiment import load_experiment
from repro.errors import TargetError
from repro.site.files import HARNESS_OUTPUTS
from repro.site.spikefile import read_spikes
from repro.targets import TARGET_KINDS, target_class
from repro.targets.base import JobHandle, JobState, RunBundle, Target
from repro.targets.tables import make_target
from tests.fixtures.unicore import REPRO_SITE
from tests.infra.slurm_cluster import PARTITION
from tests.targets.jobs import experiment_bundle, sleepy_experiment, wait_terminal


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _no_options(request: pytest.FixtureRequest, tmp: Path) -> dict[str, Any]:
    return {}


def _slurm(request: pytest.FixtureRequest, tmp: Path) -> dict[str, Any]:
    cluster = request.getfixturevalue("slurm_cluster")
    return {"workdir": str(tmp / "slurm-work"), "slurm_conf": str(cluster.conf_path)}


def _slurm_facts(request: pytest.FixtureRequest, handle: JobHandle, bundle: RunBundle,
                 dest: Path) -> None:
    cluster = request.getfixturevalue("slurm_cluster")
    scheduler = _read(dest / "environment.json")["scheduler"]
    assert scheduler["job_id"] == handle.job_id and scheduler["partition"] == PARTITION
    info = handle.info
    assert info["job_id"] == handle.job_id and info["scheduler"] == "slurm"
    assert info["scheduler_version"] == cluster.version() != ""
    assert info["node_list"] == "localhost" and info["partition"] == PARTITION
    assert info["exit_code"] == 0


def _unicore(request: pytest.FixtureRequest, tmp: Path) -> dict[str, Any]:
    site = request.getfixturevalue("unicore_site")
    request.getfixturevalue("unicore_token")
    return {"url": site.https_url, "ca_bundle": str(site.ca_bundle), "mode": "native",
            "module": "ebrains/24.10", "poll_interval": 0.2, "poll_max": 1.0, "time": 5}


def _unicore_facts(request: pytest.FixtureRequest, handle: JobHandle, bundle: RunBundle,
                   dest: Path) -> None:
    manifest = _read(dest / "environment.json")  # native mode: the site's ESD module
    assert manifest["esd_release"] == "24.10" and manifest["site"] == REPRO_SITE
    assert manifest["scheduler"]["job_id"] == handle.info["batch_system_id"]
    assert "/esd/24.10/bin/" in manifest["python"]["executable"]
    assert handle.info["mode"] == "native" and handle.info["esd_module"] == "ebrains/24.10"
    assert handle.info["job_type"] == "BATCH"


def _nmpi(request: pytest.FixtureRequest, tmp: Path) -> dict[str, Any]:
    queue = request.getfixturevalue("nmpi_queue")
    request.getfixturevalue("nmpi_user")
    return queue.target_options(preflight=False)


def _nmpi_facts(request: pytest.FixtureRequest, handle: JobHandle, bundle: RunBundle,
                dest: Path) -> None:
    queue = request.getfixturevalue("nmpi_queue")
    assert _read(dest / "result.json")["backend"] == queue.system
    assert "repro launcher" in (dest / "nmpi.log").read_text()
    info = handle.info
    assert info["nmpi_job_id"] == int(handle.job_id) and info["nmpi_system"] == queue.system
    assert info["platform"] == "SpiNNaker" and info["nmpi_status"] == "finished"
    assert info["resource_usage_units"] == "core-hours" and info["resource_usage_value"] > 0
    assert info["harness_status"] == "completed"
    (job,) = queue.state()["jobs"]
    assert job["collab"] == queue.collab and job["hardware_platform"] == "SpiNNaker"
    assert job["hardware_config"] == {"spynnaker_version": "7.4.1"}
    assert f"repro-run-{bundle.run_id}" in job["tags"]
    assert any(tag.startswith("repro-request-") for tag in job["tags"])


def _no_facts(request: pytest.FixtureRequest, handle: JobHandle, bundle: RunBundle,
              dest: Path) -> None:
    assert handle.info["executor"] == "local process"


@dataclass(frozen=True)
class Kind:
    """How the contract builds a target of one kind and what else its run must show."""

    options: Callable[[pytest.FixtureRequest, Path], dict[str, Any]]
    facts: Callable[[pytest.FixtureRequest, JobHandle, RunBundle, Path], None]
    marks: tuple = ()


#: Every runnable kind, with its options and its own job facts.
KINDS = {
    "local": Kind(_no_options, _no_facts),
    "spinnaker_emulator": Kind(_no_options, _no_facts),
    "local_nestml": Kind(_no_options, _no_facts),
    "slurm": Kind(_slurm, _slurm_facts, (pytest.mark.infra,)),
    "unicore": Kind(_unicore, _unicore_facts, (pytest.mark.infra, pytest.mark.slow)),
    "nmpi": Kind(_nmpi, _nmpi_facts, (pytest.mark.slow,)),
}


@pytest.fixture
def contract_target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    """A target of the parametrised kind, built through the target-table validation."""
    kind = request.param
    options = KINDS[kind].options(request, tmp_path)
    return make_target(f"contract-{kind}", {"kind": kind, **options}, None)


def _kinds() -> list:
    return [pytest.param(kind, marks=list(k.marks), id=kind) for kind, k in KINDS.items()]


def test_every_registered_kind_is_covered_or_refuses_to_run():
    for kind in TARGET_KINDS:
        cls = target_class(kind)
        assert cls.kind == kind
        assert kind in KINDS or not cls.runs, f"kind {kind!r} runs but is not in the contract"


@pytest.mark.parametrize("kind", sorted(TARGET_KINDS))
def test_check_takes_the_experiment(kind):
    parameters = list(inspect.signature(target_class(kind).check).parameters.values())
    assert [p.name for p in parameters] == ["self", "experiment"], kind
    assert parameters[1].default is None


@pytest.mark.parametrize("contract_target", _kinds(), indirect=True)
def test_submit_wait_fetch_yields_every_harness_output_and_no_secret(
        contract_target: Target, tmp_path: Path, request: pytest.FixtureRequest):
    target = contract_target
    experiment_dir = sleepy_experiment(tmp_path / "sleepy")
    summary = target.check(load_experiment(experiment_dir))
    assert isinstance(summary, str) and summary and "\n" not in summary

    identity = json.dumps(target.identity(), sort_keys=True)
    assert json.loads(identity)["kind"] == target.kind
    for token in _tokens_in_environment():
        assert token not in identity

    bundle = experiment_bundle(target, experiment_dir, 5, tmp_path / "scratch",
                               write=f"written at {target.kind}")
    handle = target.submit(bundle)
    status = wait_terminal(target, handle)
    assert status.state is JobState.DONE, status.message
    dest = tmp_path / "fetched"
    target.fetch(handle, dest)
    assert set(HARNESS_OUTPUTS) <= {p.name for p in dest.iterdir()}
    result = _read(dest / "result.json")
    assert result["status"] == "completed"
    written = ["written.txt", "notes/written.txt"]  # files the network wrote come back too
    assert [item["path"] for item in result["script_outputs"]["files"]] == written
    for path in written:
        assert (dest / "script_outputs" / path).read_text() == f"written at {target.kind}"
    (population,) = read_spikes(dest / "spikes.npz")
    assert population.name == "exc" and population.size == 20 and population.n_spikes > 0
    KINDS[target.kind].facts(request, handle, bundle, dest)
    if "remote_retries" in handle.info:  # a clean run says so in its job facts
        assert (handle.info["remote_retries"], handle.info["remote_outages"]) == (0, 0)
    facts = json.dumps(handle.info, default=str)
    tokens = _tokens_in_environment()
    assert tokens or target.kind not in ("unicore", "nmpi")
    for token in tokens:
        assert token not in facts
        for path in dest.rglob("*"):
            assert not path.is_file() or token.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("kind", [k for k in sorted(TARGET_KINDS)
                                  if not target_class(k).runs])
def test_a_kind_that_does_not_run_refuses_to_submit(kind, tmp_path):
    target = make_target(f"contract-{kind}", {"kind": kind}, None)
    bundle = experiment_bundle(target, sleepy_experiment(tmp_path / "sleepy"), 1,
                               tmp_path / "scratch")
    with pytest.raises(TargetError):
        target.submit(bundle)


def _tokens_in_environment() -> list[str]:
    """Tokens the fixtures put into the environment for the remote kinds."""
    return [value for name, value in os.environ.items() if "TOKEN" in name and len(value) >= 16]
