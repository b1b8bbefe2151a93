"""``repro run`` with an nmpi target end to end, and ``repro targets check`` / ``ls``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from repro.records.run_crate import read_metadata, verify_crate
from repro.records.validation import PROCESS_RUN_CRATE, validate_crate
from repro.targets.spinnaker_virtual import spynnaker_version
from tests.nmpi.conftest import NETWORKS, TINY_PARAMS

pytestmark = pytest.mark.slow
REFERENCE = Path(__file__).resolve().parents[2] / "experiments" / "balanced_random"


def write_experiment(directory: Path, queue, network: Path = NETWORKS / "tiny.py",
                     params: str = "", record: str = "cells") -> Path:
    """An experiment with an nmpi target on the local queue and a virtual-board target."""
    directory.mkdir(parents=True)
    shutil.copy(network, directory / "network.py")
    params = params or "\n".join(f"{k} = {v!r}" for k, v in TINY_PARAMS.items())
    (directory / "experiment.toml").write_text(f"""
[experiment]
name = "nmpi_e2e"
script = "network.py"
duration = 200.0
record = ["{record}"]
seeds = [1]
targets = ["spinnaker-nmpi", "spinnaker-virtual"]

[params]
{params}

[targets.spinnaker-nmpi]
kind = "nmpi"
url = "{queue.url}"
user_info_url = "{queue.user_info_url}"
collab = "{queue.collab}"
poll_interval = 0.1
poll_max = 1.0

[targets.spinnaker-virtual]
kind = "spinnaker_virtual"
""")
    return directory


def repro(*args: str, cwd: Path, token: str | None, home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("EBRAINS_TOKEN", "NMPI_TOKEN")}
    env.update(HOME=str(home), REPRO_STORE=str(cwd / "crates"), COLUMNS="200")
    if token:
        env["EBRAINS_TOKEN"] = token
    return subprocess.run([sys.executable, "-m", "repro.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def test_repro_run_on_nmpi_records_job_id_and_emulated_platform(nmpi_queue, tmp_path):
    experiment = write_experiment(tmp_path / "exp", nmpi_queue)
    done = repro("run", str(experiment), "--targets", "spinnaker-nmpi", "--json",
                 cwd=tmp_path, token=nmpi_queue.token, home=tmp_path)
    assert done.returncode == 0, done.stderr + done.stdout
    (outcome,) = json.loads(done.stdout)
    assert outcome["status"] == "completed" and outcome["target_kind"] == "nmpi"
    crate = tmp_path / "crates" / outcome["crate_path"]
    assert verify_crate(crate) == []
    validation = validate_crate(crate, PROCESS_RUN_CRATE)
    assert validation.passed, validation.summary()
    job = json.loads((crate / "job.json").read_text())
    (queued,) = nmpi_queue.state()["jobs"]
    assert job["nmpi_job_id"] == queued["id"] and job["platform"] == "SpiNNaker"
    assert f"repro-key-{outcome['run_key']}" in queued["tags"]
    assert job["nmpi_system"] == nmpi_queue.system
    assert "emulated by" in job["emulated_platform"]
    if nmpi_queue.system == "spinnaker_emulator":
        assert job["harness_backend"] == "spinnaker_emulator"
        assert job["hardware_provenance"]["ring_buffer_saturations"] >= 0
        assert "weights_rounded_to_zero" in job["hardware_provenance"]
    values = {e.get("name"): e.get("value") for e in read_metadata(crate).values()
              if e.get("@type") == "PropertyValue"}
    assert values["job_nmpi_job_id"] == queued["id"]
    assert values["job_emulated_platform"] == job["emulated_platform"]
    everything = b"".join(p.read_bytes() for p in (tmp_path / "crates").rglob("*")
                          if p.is_file())
    assert nmpi_queue.token.encode() not in everything
    assert not (tmp_path / ".hbptoken").exists()


def test_targets_ls_lists_experiment_tables(nmpi_queue, tmp_path):
    experiment = write_experiment(tmp_path / "exp", nmpi_queue)
    done = repro("targets", "ls", str(experiment), "--json", cwd=tmp_path, token=None,
                 home=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = {row["target"]: row for row in json.loads(done.stdout)}
    assert rows["spinnaker-nmpi"]["kind"] == "nmpi"
    assert rows["spinnaker-nmpi"]["options"]["collab"] == nmpi_queue.collab
    assert rows["spinnaker-virtual"]["kind"] == "spinnaker_virtual"


def test_targets_check_without_token_fails_clearly(nmpi_queue, tmp_path):
    experiment = write_experiment(tmp_path / "exp", nmpi_queue)
    done = repro("targets", "check", str(experiment), "--targets", "spinnaker-nmpi",
                 "--json", cwd=tmp_path, token=None, home=tmp_path)
    assert done.returncode == 1
    (row,) = json.loads(done.stdout)
    assert not row["ok"] and "$EBRAINS_TOKEN" in row["summary"]


@pytest.mark.skipif(spynnaker_version() is None, reason="needs the [spinnaker] extra")
def test_targets_check_maps_a_fitting_network(nmpi_queue, tmp_path):
    experiment = write_experiment(tmp_path / "exp", nmpi_queue)
    done = repro("targets", "check", str(experiment), "--json", cwd=tmp_path,
                 token=nmpi_queue.token, home=tmp_path)
    rows = {row["target"]: row for row in json.loads(done.stdout)}
    assert done.returncode == 0, rows
    for name in ("spinnaker-nmpi", "spinnaker-virtual"):
        assert "1 board(s), 1 chip(s), 2 application core(s)" in rows[name]["summary"]
    assert "job queue API v3" in rows["spinnaker-nmpi"]["summary"]


@pytest.mark.skipif(spynnaker_version() is None, reason="needs the [spinnaker] extra")
def test_targets_check_maps_the_reference_network_and_names_rejected_usages(nmpi_queue,
                                                                           tmp_path):
    text = (REFERENCE / "experiment.toml").read_text()
    params = text[text.index("[params]") + len("[params]"):]
    experiment = write_experiment(tmp_path / "exp", nmpi_queue, network=REFERENCE /
                                  "network.py", params=params, record="exc")
    done = repro("targets", "check", str(experiment), "--json", "--targets",
                 "spinnaker-virtual", cwd=tmp_path, token=None, home=tmp_path)
    (row,) = json.loads(done.stdout)
    summary = row["summary"]
    assert done.returncode == 0, summary
    assert "1 board(s), 1 chip(s), 5 application core(s)" in summary
    assert "data generation failed" not in summary
    assert "4 PyNN usage(s) sPyNNaker rejects under its default configuration" in summary
