"""The target contract, run against every target kind (PyNN's ``run_with_simulators`` pattern).

Every kind in :data:`repro.targets.TARGET_KINDS` must: take ``check(experiment)`` and answer
with one line; keep secrets (tokens, secret options) out of ``identity()``, the job facts and
the fetched files; and take a run bundle through submit -> terminal -> fetch so that every
harness output arrives. Remote kinds run against the real local services: the SLURM cluster
(tests/infra), the UNICORE/X and NMPI servers (tests/servers).
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from repro.config.experiment import load_experiment
from repro.errors import TargetError
from repro.targets import TARGET_KINDS, target_class
from repro.targets.base import HARNESS_OUTPUTS, JobState, Target
from repro.targets.tables import make_target
from tests.targets.jobs import experiment_bundle, sleepy_experiment, wait_terminal


def _local(request: pytest.FixtureRequest, tmp: Path) -> dict[str, Any]:
    return {}


def _slurm(request: pytest.FixtureRequest, tmp: Path) -> dict[str, Any]:
    cluster = request.getfixturevalue("slurm_cluster")
    return {"workdir": str(tmp / "slurm-work"), "slurm_conf": str(cluster.conf_path)}


def _unicore(request: pytest.FixtureRequest, tmp: Path) -> dict[str, Any]:
    site = request.getfixturevalue("unicore_site")
    request.getfixturevalue("unicore_token")
    return {"url": site.https_url, "ca_bundle": str(site.ca_bundle), "mode": "native",
            "module": "ebrains/24.10", "poll_interval": 0.2, "poll_max": 1.0, "time": 5}


def _nmpi(request: pytest.FixtureRequest, tmp: Path) -> dict[str, Any]:
    queue = request.getfixturevalue("nmpi_queue")
    request.getfixturevalue("nmpi_user")
    return queue.target_options(preflight=False)


#: kind -> (options for a target of that kind, pytest marks). Every runnable kind is here.
KINDS: dict[str, tuple[Callable[[pytest.FixtureRequest, Path], dict[str, Any]], list]] = {
    "local": (_local, []),
    "spinnaker_emulator": (_local, []),
    "local_nestml": (_local, []),
    "slurm": (_slurm, [pytest.mark.infra]),
    "unicore": (_unicore, [pytest.mark.infra, pytest.mark.slow]),
    "nmpi": (_nmpi, [pytest.mark.slow]),
}


@pytest.fixture
def contract_target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    """A target of the parametrised kind, built through the target-table validation."""
    kind = request.param
    options, _marks = KINDS[kind]
    return make_target(f"contract-{kind}", {"kind": kind, **options(request, tmp_path)}, None)


def _kinds() -> list:
    return [pytest.param(kind, marks=marks, id=kind) for kind, (_o, marks) in KINDS.items()]


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
        contract_target: Target, tmp_path: Path):
    target = contract_target
    experiment_dir = sleepy_experiment(tmp_path / "sleepy")
    summary = target.check(load_experiment(experiment_dir))
    assert isinstance(summary, str) and summary and "\n" not in summary

    identity = json.dumps(target.identity(), sort_keys=True)
    assert json.loads(identity)["kind"] == target.kind
    for token in _tokens_in_environment():
        assert token not in identity

    bundle = experiment_bundle(target, experiment_dir, 5, tmp_path / "scratch")
    handle = target.submit(bundle)
    status = wait_terminal(target, handle)
    assert status.state is JobState.DONE, status.message
    dest = tmp_path / "fetched"
    target.fetch(handle, dest)
    assert set(HARNESS_OUTPUTS) <= {p.name for p in dest.iterdir()}
    assert json.loads((dest / "result.json").read_text())["status"] == "completed"
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
