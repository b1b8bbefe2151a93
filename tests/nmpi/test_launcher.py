"""The site-side NMPI launcher and the client-side safety and provenance helpers."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from repro.errors import AuthenticationError
from repro.site.spikefile import read_spikes
from repro.targets import nmpi_launcher
from repro.targets.nmpi import NmpiTarget, classify, safe_relative, summarise_provenance
from repro.targets.nmpi_launcher import backend_for, spynnaker_provenance, unpack


@pytest.mark.parametrize("system, backend", [
    ("spinnaker_emulator", "spinnaker_emulator"), ("nest", "nest"), ("spiNNaker", "spinnaker"),
    ("pyNN.spiNNaker", "spinnaker"), ("spynnaker8", "spinnaker")])
def test_platform_system_names_map_to_harness_backends(system, backend):
    assert backend_for(system, ["nest", "spinnaker_emulator"]) == backend


def test_unknown_platform_system_is_refused():
    with pytest.raises(SystemExit, match="'brainscales2' is not a backend"):
        backend_for("brainscales2", ["nest"])


def _archive(name: str, data: bytes = b"x", kind: bytes = tarfile.REGTYPE) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        if kind == tarfile.SYMTYPE:
            info.linkname = "/etc/passwd"
        tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return buffer.getvalue()


@pytest.mark.parametrize("name, kind", [("../escape.py", tarfile.REGTYPE),
                                        ("/abs.py", tarfile.REGTYPE),
                                        ("site/link", tarfile.SYMTYPE)])
def test_launcher_refuses_bundle_members_that_could_escape(tmp_path, name, kind):
    with pytest.raises(SystemExit, match="refusing bundle member"):
        unpack(_archive(name, kind=kind), tmp_path / "work")
    assert not (tmp_path / "escape.py").exists()


def test_launcher_unpacks_plain_members(tmp_path):
    unpack(_archive("network/net.py", b"print(1)"), tmp_path)
    assert (tmp_path / "network" / "net.py").read_bytes() == b"print(1)"


@pytest.fixture
def provenance_db(tmp_path) -> Path:
    """A provenance database with sPyNNaker 7.4.1's own schema and a few counters."""
    pytest.importorskip("spinn_front_end_common")
    schema = resources.files("spinn_front_end_common.utilities") / "db.sql"
    path = tmp_path / "reports" / "run_1" / "data.sqlite3"
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.executescript(schema.read_text())
        db.executemany("INSERT INTO core(x, y, processor, core_name) VALUES (?, ?, ?, ?)",
                       [(0, 0, 1, "exc:0"), (0, 0, 2, "exc:1")])
        db.executemany("INSERT INTO core_provenance(core_id, description, the_value) "
                       "VALUES (?, ?, ?)",
                       [(1, "Times_synaptic_weights_have_saturated", 3),
                        (2, "Times_synaptic_weights_have_saturated", 4),
                        (1, "Times_the_timer_tic_over_ran", 1),
                        (2, "Total_pre_synaptic_events", 1000)])
        db.execute("INSERT INTO router_provenance(x, y, description, the_value, expected) "
                   "VALUES (0, 0, 'Dropped_Multicast_Packets', 5, 0)")
    return tmp_path


def test_spynnaker_provenance_database_is_summarised(provenance_db):
    found = spynnaker_provenance(provenance_db)
    assert found["databases"] == ["reports/run_1/data.sqlite3"]
    assert found["summary"] == {"Times_synaptic_weights_have_saturated": 7,
                                "Times_the_timer_tic_over_ran": 1,
                                "Dropped_Multicast_Packets": 5}
    assert found["counters"]["Total_pre_synaptic_events"] == 1000
    assert summarise_provenance(found) == found["summary"]


def test_no_provenance_database_gives_none(tmp_path):
    (tmp_path / "other.sqlite3").write_bytes(b"not a database")
    assert spynnaker_provenance(tmp_path) is None


def test_emulator_style_provenance_sums_trouble_counters_over_projections():
    document = {"format": "repro.spinnaker-emulator-provenance/1", "ticks": 200,
                "populations": [{"label": "cells", "ring_buffer_saturations": 3, "spikes": 9}],
                "projections": [{"label": "e->e", "ring_buffer_saturations": 2,
                                 "weights_rounded_to_zero": 0, "synaptic_events": 50},
                                {"label": "i->e", "ring_buffer_saturations": 1,
                                 "weights_rounded_to_zero": 4, "synaptic_events": 70}]}
    assert summarise_provenance(document) == {"ring_buffer_saturations": 3,
                                              "weights_rounded_to_zero": 4}


@pytest.mark.parametrize("path", ["../../x", "/etc/passwd", "a/../../b", "a//b", "~/x",
                                  "a\\..\\b", "", None, 3, "a/./../b", "a/\x00"])
def test_unsafe_result_paths_are_rejected(path):
    assert safe_relative(path) is None


@given(st.text(alphabet="ab./\\~", max_size=12))
def test_accepted_result_paths_stay_inside_the_destination(path):
    relative = safe_relative(path)
    if relative is not None:
        base = Path("/dest/run")
        assert (base / relative).resolve().is_relative_to(base)


@pytest.mark.parametrize("message, category", [
    ("Error 401: Token may have expired", "auth"),
    ("Error 403: Not authenticated", "auth"),
    ("Error 503: The job queue is in maintenance mode", "transient"),
    ("Error 500: Internal Server Error", "transient"),
    ("Error 404: You do not have access to this collab", "missing"),
    ("Error 422: [{'type': 'string_type'}]", "fatal"),
    ("No such job: 7", "missing")])
def test_client_errors_are_classified(message, category):
    assert classify(Exception(message)).fault.value == category


def test_prompt_refusal_counts_as_authentication_failure():
    assert classify(AuthenticationError("no prompt")).fault.value == "auth"


@pytest.mark.slow
def test_launcher_runs_the_harness_on_spynnaker_for_the_hardware_system(tmp_path, make_bundle):
    pytest.importorskip("spynnaker")
    target = NmpiTarget("hw", {"collab": "c"})
    code, _, _ = target.job_code(make_bundle(target))
    job = tmp_path / "job_1"
    job.mkdir()
    (job / "run.py").write_text(code)
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    (home / ".spynnaker.cfg").write_text("[Machine]\nvirtual_board = True\nversion = 5\n")
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    done = subprocess.run([sys.executable, "run.py", "spiNNaker"], cwd=job, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = job / nmpi_launcher.OUTPUT_DIR
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "completed" and result["backend"] == "spinnaker"
    simulator = json.loads((out / "environment.json").read_text())["simulator"]
    assert simulator["name"] == "sPyNNaker" and simulator["version"].endswith("7.4.1")
    assert simulator["machine"].startswith("48 chips")
    (population,) = read_spikes(out / "spikes.npz")  # a virtual board records nothing
    assert population.name == "cells" and population.n_spikes == 0
    assert sorted(p.name for p in job.iterdir()) == ["repro_output", "run.py"]
