"""The spinnaker_virtual pre-flight: real sPyNNaker 7.4.1 mapping on a virtual SpiNN-5 board."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import pytest

from repro.errors import TargetError
from repro.targets.spinnaker_virtual import (
    INSTALL_HINT,
    SpinnakerVirtualTarget,
    map_network,
    spynnaker_version,
)
from tests.nmpi.conftest import NETWORKS, TINY_PARAMS

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(spynnaker_version() is None,
                                 reason="needs the [spinnaker] extra (sPyNNaker 7.4.1)")]


def request(network: str, timestep: float = 1.0, duration: float = 200.0) -> dict:
    return {"script": str(NETWORKS / f"{network}.py"), "mode": "build",
            "params": dict(TINY_PARAMS), "duration_ms": duration, "timestep_ms": timestep,
            "seed": 1, "record": ["cells"]}


class Experiment:
    """The fields of repro.config.experiment.Experiment the pre-flight reads."""

    def __init__(self, network: str) -> None:
        self.script = NETWORKS / f"{network}.py"
        self.directory = NETWORKS
        self.mode = "build"
        self.params = dict(TINY_PARAMS)
        self.duration_ms = 100.0
        self.seeds = [1]
        self.record = ["cells"]


def test_small_network_fits_one_chip_and_smaller_steps_split_cores():
    coarse = map_network(request("tiny", timestep=1.0))
    assert coarse.status == "mapped", coarse.error
    assert (coarse.boards, coarse.chips, coarse.application_cores) == (1, 1, 2)
    assert coarse.cores_by_population == {"cells": 1, "drive": 1}
    assert coarse.system_cores == 49  # one monitor per chip of the board + a gatherer
    assert coarse.spynnaker_version.endswith("7.4.1")
    fine = map_network(request("tiny", timestep=0.1))
    assert fine.status == "mapped"
    assert fine.cores_by_population == {"cells": 2, "drive": 1}  # neuron + synapse core


def test_users_spynnaker_cfg_is_never_read_or_written(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    poison = "[Machine]\nvirtual_board = False\nmachine_name = 192.0.2.1\nversion = 3\n"
    for path in (home / ".spynnaker.cfg", home / ".config" / ".spynnaker.cfg"):
        path.write_text(poison)
    stamps = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in home.rglob("*")
              if p.is_file()}
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.chdir(tmp_path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    report = map_network(request("tiny", duration=150.0))
    assert report.status == "mapped", report.error
    assert report.machine.startswith("virtual SpiNN-5")
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in home.rglob("*")
            if p.is_file()} == stamps
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "scratch"]  # no reports/
    assert list(scratch.iterdir()) == []  # the temporary HOME and working dir are gone


def test_unsupported_cell_type_is_a_mapping_error_naming_it():
    report = map_network(request("unsupported"))
    assert report.status == "mapping_failed"
    assert "HH_cond_exp" in report.error
    assert "mapping failed" in report.summary()


def test_rng_use_is_reported_and_refused_in_strict_mode():
    lenient = SpinnakerVirtualTarget("vboard", {})
    summary = lenient.check(Experiment("seeded_rng"))
    assert "1 PyNN usage(s) sPyNNaker rejects" in summary
    strict = SpinnakerVirtualTarget("vboard", {"strict": True})
    with pytest.raises(TargetError, match="rejects under its default configuration"):
        strict.check(Experiment("seeded_rng"))


def test_missing_spynnaker_explains_how_to_install_the_extra(tmp_path):
    python = tmp_path / "python-without-site-packages"
    python.write_text(f"#!/bin/sh\nexec {os.path.realpath(sys.executable)} -S \"$@\"\n")
    python.chmod(0o755)
    target = SpinnakerVirtualTarget("vboard", {"python": str(python)})
    with pytest.raises(TargetError) as caught:
        target.check(Experiment("tiny"))
    assert INSTALL_HINT in str(caught.value)
    assert "pip install 'repro[spinnaker]'" in str(caught.value)
    assert target.mapping(Experiment("tiny")).summary() == INSTALL_HINT


def test_virtual_board_runs_nothing(make_bundle):
    target = SpinnakerVirtualTarget("vboard", {})
    with pytest.raises(TargetError, match="produces no spikes"):
        target.submit(make_bundle(target))


def test_nmpi_preflight_maps_with_the_cfg_the_job_would_ship(nmpi_queue, nmpi_user):
    from repro.targets.nmpi import NmpiTarget

    strict_cfg = {"Simulation": {"error_on_non_spynnaker_pynn": True},
                  "Machine": {"virtual_board": False, "machine_name": "192.0.2.1"}}
    target = NmpiTarget("spinnaker-nmpi", nmpi_queue.target_options(spynnaker_cfg=strict_cfg))
    with pytest.raises(TargetError, match="would fail on SpiNNaker.*mapping failed.*"
                                          "ConfigurationException.*rng"):
        target.check(Experiment("seeded_rng"))


def test_classic_script_is_checked_with_its_arguments_and_judged_up_to_its_results(tmp_path):
    """``repro targets check --script``: a NEST script mapped with sPyNNaker, its synaptic
    matrix left to the machine as on a real board; reading its weights afterwards stops it,
    which is no mapping failure."""
    tables = tmp_path / "targets.toml"
    tables.write_text('[vboard]\nkind = "spinnaker_virtual"\ngenerate_on_machine = true\n')
    done = subprocess.run(
        [sys.executable, "-m", "repro", "targets", "check", "--script",
         str(NETWORKS / "classic.py"), "--targets", "vboard", "--json", "--", "200"],
        cwd=tmp_path, env={**os.environ, "REPRO_TARGETS": str(tables)}, capture_output=True,
        text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)
    report = row["mapping"]
    assert row["ok"] and report["status"] == "stopped_after_mapping", report
    # 256 LIF neurons per core by default: 200 cells (the argument; 300 without) need 1 core
    assert report["cores_by_population"] == {"cells": 1, "drive": 1}
    # built on the host (the virtual board's default) the weights would be there to read
    assert report["error"].startswith("NotImplementedError: Connections list is empty")
    line = 'classic.py:22: n_weights = len(projection.get("weight", format="list"))'
    assert report["script_line"] == line
    assert f"stopped outside run() at {line}" in row["summary"]
