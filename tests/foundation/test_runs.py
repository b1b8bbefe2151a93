"""Real local NEST runs through the real CLI: crates, validation, cache, verify, failures."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from repro.records.run_crate import atomic_directory, read_metadata
from repro.records.validation import PROCESS_RUN_CRATE, validate_crate
from repro.site.interpreter import derive_venv
from repro.site.spikefile import read_spikes, to_neo_block
from tests.foundation.helpers import REPO, repro, run_dirs, small_experiment

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """One small reference run: (experiment dir, store, crate)."""
    base = tmp_path_factory.mktemp("runs")
    experiment = small_experiment(base / "exp")
    store = base / "store"
    result = repro("run", str(experiment), "--json", store=store)
    assert result.returncode == 0, result.stderr
    (crate,) = run_dirs(store)
    return experiment, store, crate


def _action(crate: Path) -> dict:
    return next(e for e in read_metadata(crate).values() if e.get("@type") == "CreateAction")


def test_run_crate_validates_as_process_run_crate(first_run) -> None:
    outcome = validate_crate(first_run[2], PROCESS_RUN_CRATE)
    assert outcome.passed, outcome.summary()


def test_run_crate_validates_with_the_validator_cli(first_run) -> None:
    result = subprocess.run(
        ["rocrate-validator", "-y", "--disable-color", "validate", str(first_run[2]), "-p",
         PROCESS_RUN_CRATE, "-l", "required", "--offline"],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-2000:]


def test_run_crate_records_what_the_run_was(first_run) -> None:
    crate = first_run[2]
    graph = read_metadata(crate)
    action = _action(crate)
    assert action["actionStatus"] == "http://schema.org/CompletedActionStatus"
    assert action["startTime"].endswith("+00:00") and action["endTime"].endswith("+00:00")
    instrument = graph[action["instrument"]["@id"]]
    assert instrument["name"] == "NEST" and instrument["softwareVersion"].startswith("3.")
    values = {e["name"]: e["value"] for e in graph.values() if e.get("@type") == "PropertyValue"}
    assert values["seed"] == 1 and len(values["model_hash"]) == 64
    assert values["threads"] == 1
    spikes = graph["spikes.npz"]
    assert spikes["encodingFormat"] == "application/x-npz"
    assert int(spikes["contentSize"]) == (crate / "spikes.npz").stat().st_size
    metadata = json.loads((crate / "ro-crate-metadata.json").read_text())
    assert metadata["@context"][0] == "https://w3id.org/ro/crate/1.1/context"


def test_spike_file_holds_every_recorded_population(first_run) -> None:
    populations = read_spikes(first_run[2] / "spikes.npz")
    assert [p.name for p in populations] == ["exc", "inh"]
    assert [p.size for p in populations] == [80, 20]
    assert all(p.n_spikes > 0 for p in populations)
    block = to_neo_block(populations)
    assert len(block.segments[0].spiketrains) == 100


def test_manifest_was_captured_in_the_harness_process(first_run) -> None:
    crate = first_run[2]
    manifest = json.loads((crate / "environment.json").read_text())
    job = json.loads((crate / "job.json").read_text())
    assert manifest["captured_by_pid"] == job["pid"] != os.getpid()
    assert manifest["simulator"]["name"] == "NEST"
    assert manifest["simulator"]["threads"] == 1
    assert "nest-simulator" in manifest["packages"]


def test_verify_accepts_an_intact_crate(first_run) -> None:
    result = repro("verify", str(first_run[2]))
    assert result.returncode == 0, result.stderr
    assert "match" in result.stdout


def test_verify_names_a_flipped_byte(first_run, tmp_path: Path) -> None:
    crate = tmp_path / "copy"
    shutil.copytree(first_run[2], crate)
    data = bytearray((crate / "spikes.npz").read_bytes())
    data[len(data) // 2] ^= 0x01
    (crate / "spikes.npz").write_bytes(bytes(data))
    result = repro("verify", str(crate))
    assert result.returncode == 1
    assert "spikes.npz: sha256 differs" in result.stderr
    assert "environment.json" not in result.stderr


def test_second_run_is_a_cache_hit_and_force_reruns(first_run) -> None:
    experiment, store, crate = first_run
    cached = repro("run", str(experiment), "--json", store=store)
    assert cached.returncode == 0, cached.stderr
    (outcome,) = json.loads(cached.stdout)
    assert outcome["cached"] is True and outcome["run_id"] == crate.name
    assert run_dirs(store) == [crate]
    forced = repro("run", str(experiment), "--force", "--json", store=store)
    assert forced.returncode == 0, forced.stderr
    (rerun,) = json.loads(forced.stdout)
    assert rerun["cached"] is False and rerun["run_id"] != crate.name
    assert rerun["run_key"] == outcome["run_key"]
    assert len(run_dirs(store)) == 2


def test_crates_ls_and_show(first_run) -> None:
    _, store, crate = first_run
    listing = repro("crates", "ls", "--json", store=store)
    assert listing.returncode == 0
    assert crate.name in {row["run_id"] for row in json.loads(listing.stdout)}
    shown = repro("crates", "show", crate.name, "--json", store=store)
    assert shown.returncode == 0
    assert json.loads(shown.stdout)["status"] == "CompletedActionStatus"


def test_failing_script_is_recorded_as_a_failed_crate(tmp_path: Path) -> None:
    experiment = small_experiment(tmp_path / "exp")
    script = experiment / "network.py"
    script.write_text(script.read_text().replace(
        '    return {"exc": exc, "inh": inh}',
        '    raise RuntimeError("the model is broken on purpose")'))
    store = tmp_path / "store"
    result = repro("run", str(experiment), store=store)
    assert result.returncode == 1
    assert "the model is broken on purpose" in result.stderr
    (crate,) = run_dirs(store)
    action = _action(crate)
    assert action["actionStatus"] == "http://schema.org/FailedActionStatus"
    assert "broken on purpose" in action["error"]
    assert not (crate / "spikes.npz").exists()
    assert "Traceback" in (crate / "harness.log").read_text()
    assert validate_crate(crate, PROCESS_RUN_CRATE).passed
    assert not any(p.name.endswith(".partial") for p in (store / "runs").rglob("*"))


def test_missing_parameter_is_named(tmp_path: Path) -> None:
    experiment = small_experiment(tmp_path / "exp")
    toml = experiment / "experiment.toml"
    toml.write_text(toml.read_text().replace("drive_rate = 1250.0", ""))
    result = repro("run", str(experiment), store=tmp_path / "store")
    assert result.returncode == 1
    assert "needs parameter 'drive_rate'" in result.stderr


def test_interrupted_crate_write_leaves_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "runs" / "x"
    with pytest.raises(KeyboardInterrupt), atomic_directory(dest) as tmp:
        (tmp / "spikes.npz").write_bytes(b"partial")
        raise KeyboardInterrupt
    assert not dest.exists()
    assert list((tmp_path / "runs").iterdir()) == []


def test_classic_spinnaker_style_script_runs_unmodified(tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    shutil.copy(REPO / "tests" / "data" / "classic_spinnaker_example.py", script)
    store = tmp_path / "store"
    result = repro("run", "--script", str(script), "--targets", "local", store=store,
                   env={"DISPLAY": ""}, timeout=300)
    assert result.returncode == 0, result.stderr
    (crate,) = run_dirs(store)
    assert validate_crate(crate, PROCESS_RUN_CRATE).passed
    populations = {p.name: p for p in read_spikes(crate / "spikes.npz")}
    assert set(populations) == {"excitatory", "inhibitory"}
    assert populations["excitatory"].t_stop == 500.0
    assert populations["excitatory"].n_spikes > 0
    notes = json.loads((crate / "result.json").read_text())["portability"]
    ignored = [n["feature"] for n in notes if n["action"] == "ignored"]
    assert sum("set_number_of_neurons_per_core" in f for f in ignored) == 1
    assert sum("additional_parameters" in f for f in ignored) == 1


def test_two_processes_share_one_store(tmp_path: Path) -> None:
    experiment = small_experiment(tmp_path / "exp", n_neurons=50, duration=200.0)
    store = tmp_path / "store"
    env = {**os.environ, "REPRO_STORE": str(store)}
    procs = [subprocess.Popen([sys.executable, "-m", "repro.cli", "run", str(experiment),
                               "--seeds", seeds], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for seeds in ("1,2", "3,4")]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert len(run_dirs(store)) == 4
    with sqlite3.connect(store / "index.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 4


def test_manifest_comes_from_the_target_interpreter(tmp_path: Path) -> None:
    """A package installed only in the target's interpreter appears in the manifest."""
    venv = tmp_path / "venv"
    derive_venv(venv)
    site = next((venv / "lib").glob("python3*/site-packages"))
    dist_info = site / "repro_site_marker-4.5.6.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: repro-site-marker\nVersion: 4.5.6\n")
    experiment = small_experiment(
        tmp_path / "exp", n_neurons=50, duration=100.0,
        extra=f'\n[targets.venv]\nkind = "local"\npython = "{venv / "bin" / "python"}"\n')
    store = tmp_path / "store"
    result = repro("run", str(experiment), "--targets", "venv", store=store)
    assert result.returncode == 0, result.stderr
    (crate,) = run_dirs(store)
    manifest = json.loads((crate / "environment.json").read_text())
    assert manifest["packages"]["repro-site-marker"] == "4.5.6"
    assert Path(manifest["python"]["executable"]).parent == venv / "bin"
    assert manifest["python"]["virtual_env"] is True
    assert manifest["python"]["prefix"] == str(venv)
    assert manifest["python"]["parent_env"] == (sys.prefix if sys.prefix != sys.base_prefix
                                                else "")


def test_on_grid_spike_precision_reaches_nest_and_is_recorded(tmp_path: Path) -> None:
    experiment = small_experiment(
        tmp_path / "exp", n_neurons=50, duration=200.0,
        extra='\n[targets.grid]\nkind = "local"\ntimestep = 0.5\nspike_precision = "on_grid"\n')
    store = tmp_path / "store"
    result = repro("run", str(experiment), "--targets", "grid", store=store)
    assert result.returncode == 0, result.stderr
    (crate,) = run_dirs(store)
    manifest = json.loads((crate / "environment.json").read_text())
    assert manifest["simulator"]["spike_precision"] == "on_grid"
    times = np.concatenate([p.times for p in read_spikes(crate / "spikes.npz")])
    assert times.size and np.allclose(times / 0.5, np.round(times / 0.5))
