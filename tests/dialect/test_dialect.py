"""Classic PyNN scripts in another simulator's dialect: translations, notes and refusals.

Every script run here is one of ours (``tests/dialect/scripts``) and runs through the real
harness in a process of its own, as a target runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from repro.execution.bundle import build_bundle
from repro.execution.preflight import backend_refusals
from repro.site.portability import NoteBook, PortabilityNote
from repro.site.runspec import RunSpec
from repro.site.script_mode import script_argv
from repro.site.script_scan import features_used, refusal_lines

SCRIPTS = Path(__file__).parent / "scripts"


def run_harness(tmp_path: Path, script: str, backend: str = "nest", seed: int = 1,
                args: list[str] | None = None) -> tuple[dict, Path]:
    """Run one of our scripts through the real harness; return result.json and the bundle."""
    spec = RunSpec(experiment=Path(script).stem, mode="script", script=script, backend=backend,
                   seed=seed, script_args=list(args or []))
    bundle = build_bundle(tmp_path / f"bundle-{backend}-{seed}-{len(list(tmp_path.iterdir()))}",
                          spec, SCRIPTS, "test")
    env = {**os.environ, **bundle.harness_env()}
    completed = subprocess.run(bundle.harness_argv(python=sys.executable), cwd=bundle.directory,
                               env=env, capture_output=True, text=True, timeout=300,
                               check=False)
    output = bundle.directory / bundle.OUTPUT_DIR
    assert (output / "result.json").is_file(), completed.stderr
    return json.loads((output / "result.json").read_text()), bundle.directory


def notes_of(result: dict) -> dict[str, PortabilityNote]:
    return {n["feature"]: PortabilityNote.from_dict(n) for n in result["portability"]}


def test_spynnaker_dialect_runs_on_nest_with_every_adaptation_noted(tmp_path: Path) -> None:
    result, bundle = run_harness(tmp_path, "spynnaker_dialect.py")
    assert result["status"] == "completed", result.get("error", {}).get("traceback")
    notes = notes_of(result)
    expected = {  # feature: (action, changes numerics)
        "setup(db_name='dialect.sqlite3')": ("ignored", False),
        "setup(time_scale_factor=1)": ("ignored", False),
        "set_number_of_neurons_per_core()": ("ignored", False),
        "sim.name()": ("translated", False),
        "spike_times before min_delay + one step": ("adapted", True),
        "tau_refrac=0 ms": ("adapted", True),
        "delay=1.4 ms": ("adapted", False),
        "Population(seed=5)": ("translated", False),
        "additional_parameters spikes_per_second=50.0": ("ignored", False),
        "Izhikevich(u, v=...)": ("translated", False),
        "extra_models.IFCurDelta": ("translated", False),
        "extra_models.AllButMeConnector": ("translated", False),
        "OneToOneConnector between one-neuron populations": ("adapted", False),
        "max_delay": ("adapted", False),
    }
    for feature, (action, numeric) in expected.items():
        assert feature in notes, f"{feature} not noted; notes: {sorted(notes)}"
        assert (notes[feature].action, notes[feature].numerical_effect) == (action, numeric)
    assert notes["tau_refrac=0 ms"].script_line == "spynnaker_dialect.py:15"
    assert "43 ms" in notes["max_delay"].detail
    log = (bundle / "output" / "harness.log").read_text()  # one restart, said once
    assert [line for line in log.splitlines() if line.startswith("repro: restart")] == [
        "repro: restart 1 of at most 6: the script needs max_delay >= 43.0 ms; max_delay = "
        "43 ms from the start. The output above is from the discarded attempt; the script "
        "runs again from its start."]
    names = {p["name"] for p in result["populations"]}
    assert names == {"source", "cell", "seeded", "izk", "delta"}


def test_synaptic_input_nest_cannot_record_is_recorded_another_way(tmp_path: Path) -> None:
    """Delta-synapse input through twin cells; exp-synapse current on the on-grid model."""
    result, _ = run_harness(tmp_path, "synaptic_input.py")
    assert result["status"] == "completed", result.get("error", {}).get("traceback")
    notes = notes_of(result)
    twins = notes["record('gsyn_exc'/'gsyn_inh') of IF_curr_delta"]
    assert (twins.action, twins.numerical_effect) == ("translated", False)
    grid = notes["record('gsyn_exc'/'gsyn_inh') of IF_curr_exp (on the grid)"]
    assert (grid.action, grid.numerical_effect, grid.script_line) == (
        "adapted", True, "synaptic_input.py:14")
    assert {p["name"] for p in result["populations"]} == {"delta", "exp"}


def test_spynnaker_extra_models_nest_has_run_by_their_equations(tmp_path: Path) -> None:
    """Vogels 2011, Pfister triplet and IF_curr_dual_exp: weights checked in the script."""
    result, _ = run_harness(tmp_path, "nest_extra_models.py")
    assert result["status"] == "completed", result.get("error", {}).get("traceback")
    notes = notes_of(result)
    expected = {  # feature: (NEST model, changes numerics)
        "extra_models.Vogels2011Rule": ("vogels_sprekeler_synapse", True),
        "extra_models.PfisterSpikeTriplet": ("stdp_triplet_synapse", False),
        "extra_models.WeightDependenceAdditiveTriplet": ("stdp_triplet_synapse", False),
        "extra_models.IF_curr_dual_exp": ("iaf_psc_exp_multisynapse", False),
    }
    for feature, (model, numeric) in expected.items():
        assert notes[feature].action == "translated"
        assert notes[feature].detail.startswith(model)
        assert notes[feature].numerical_effect is numeric
    assert "Differs" in notes["extra_models.Vogels2011Rule"].detail
    assert notes["record('gsyn_exc'/'gsyn_inh') of IF_curr_dual_exp"].action == "translated"


def test_population_seed_and_unseeded_draws_follow_the_run_seed(tmp_path: Path) -> None:
    draws = []
    for seed in (1, 1, 2):
        result, bundle = run_harness(tmp_path, "seeded_draws.py", seed=seed)
        assert result["status"] == "completed", result.get("error", {}).get("traceback")
        draws.append(json.loads((bundle / "draws.json").read_text()))
    assert draws[0] == draws[1]
    assert draws[0]["v"] != draws[2]["v"]
    assert draws[0]["connections"] != draws[2]["connections"]
    features = {n["feature"] for n in result["portability"]}
    assert {"Population(seed=3)", "connector without rng"} <= features


def test_nest_script_runs_on_the_emulator_with_its_arguments(tmp_path: Path) -> None:
    result, bundle = run_harness(tmp_path, "nest_on_emulator.py", backend="spinnaker_emulator",
                                 args=["--cells", "7"])
    assert result["status"] == "completed", result.get("error", {}).get("traceback")
    assert json.loads((bundle / "options.json").read_text()) == {"simulator": "spiNNaker",
                                                                  "cells": 7}
    assert result["populations"][0]["size"] == 7
    notes = notes_of(result)
    assert notes["simulator argument"].action == "translated"
    assert notes["setup(spike_precision='on_grid')"].action == "ignored"


def test_script_exiting_through_argparse_reports_its_usage(tmp_path: Path) -> None:
    result, _ = run_harness(tmp_path, "needs_arguments.py", backend="spinnaker_emulator")
    message = result["error"]["message"]
    assert result["status"] == "failed"
    assert "usage:" in message and "the following arguments are required: size" in message


def test_feature_reached_at_run_time_fails_the_run_naming_it(tmp_path: Path) -> None:
    result, _ = run_harness(tmp_path, "refused_at_run_time.py")
    assert result["status"] == "failed"
    assert result["refusal"]["feature"] == "extra_models.Izhikevich_cond"
    assert result["refusal"]["script_line"] == "refused_at_run_time.py:7"
    assert "nmpi" in result["refusal"]["runs_on"]


def test_refusal_lines_name_feature_line_and_where_it_runs() -> None:
    lines = refusal_lines(SCRIPTS / "refused.py", backend_refusals(),
                          {"local": "nest", "spinnaker_emulator": "spinnaker_emulator"})
    assert len(lines) == 2
    assert lines[0].startswith("refused.py:6: sim.extra_models.StocExp cannot "
                               "run on local, spinnaker_emulator")
    assert lines[1].startswith("refused.py:7: sim.external_devices cannot run on")
    assert all(line.endswith("runs on: nmpi (SpiNNaker hardware through the EBRAINS job "
                             "queue)") for line in lines)
    assert refusal_lines(SCRIPTS / "refused.py", backend_refusals(),
                         {"nmpi": "spinnaker"}) == []


def test_simulator_argument_is_filled_in_or_replaced() -> None:
    script = SCRIPTS / "nest_on_emulator.py"
    book = NoteBook(script=script)
    assert script_argv(script, [], "nest", book)[1:] == ["nest"]
    assert script_argv(script, ["nest", "--cells", "2"], "spinnaker_emulator", book)[1:] == [
        "spiNNaker", "--cells", "2"]
    plain = SCRIPTS / "compare_pair.py"
    assert script_argv(plain, ["--x"], "nest", book)[1:] == ["--x"]


def test_scan_sees_aliases_and_extra_models() -> None:
    source = ("import pyNN.spiNNaker as p\nfrom pyNN.utility import get_simulator\n"
              "sim, opts = get_simulator()\np.extra_models.IFCurDelta()\nsim.Izhikevich()\n"
              "if opts.csa:\n    sim.CSAConnector()\nelse:\n    sim.AllToAllConnector()\n"
              "if __name__ == '__main__':\n    sim.run(p.NativeRNG() if opts.x else 1)\n")
    uses = {(u.name, u.line, u.conditional) for u in features_used(source)}
    assert {("extra_models.IFCurDelta", 4, False), ("Izhikevich", 5, False),
            ("CSAConnector", 7, True), ("AllToAllConnector", 9, True), ("run", 11, False),
            ("NativeRNG", 11, True)} <= uses


@pytest.mark.parametrize("action", ["translated", "ignored", "adapted", "refused", "pinned"])
def test_notes_are_kept_once_per_feature(action: str) -> None:
    book = NoteBook()
    for _ in range(3):
        book.add("feature", action, "detail", numerical_effect=False, line="x.py:1")
    assert len(book.notes) == 1
    with pytest.raises(ValueError, match="unknown portability action"):
        book.add("feature", "bogus", "detail", numerical_effect=False)


def repro_cli(*args: str, cwd: Path, **env_vars: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "REPRO_STORE": str(cwd / "store"), "COLUMNS": "250", **env_vars}
    return subprocess.run([sys.executable, "-m", "repro.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def test_refused_script_exits_2_before_any_run(tmp_path: Path) -> None:
    done = repro_cli("run", "--script", str(SCRIPTS / "refused.py"), "--targets", "local",
                     cwd=tmp_path)
    assert done.returncode == 2
    assert "refused.py:6: sim.extra_models.StocExp cannot run on local" in \
        done.stderr
    assert not (tmp_path / "store" / "runs").exists()


def test_cli_passes_script_arguments(tmp_path: Path) -> None:
    done = repro_cli("run", "--script", str(SCRIPTS / "nest_on_emulator.py"), "--targets",
                     "spinnaker_emulator", "--json", "--", "--cells", "4", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (record,) = json.loads(done.stdout)
    crate = tmp_path / "store" / record["crate_path"]
    assert json.loads((crate / "run_spec.json").read_text())["script_args"] == ["--cells", "4"]
    assert json.loads((crate / "result.json").read_text())["populations"][0]["size"] == 4


def test_portability_notes_in_crates_and_next_to_the_verdict(tmp_path: Path) -> None:
    from repro.records.validation import PROCESS_RUN_CRATE, validate_crate

    done = repro_cli("run", "--script", str(SCRIPTS / "compare_pair.py"), "--targets",
                     "local,spinnaker_emulator", "--seeds", "1,2", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    records = {(r["target"], r["seed"]): r for r in json.loads(done.stdout)}
    local = tmp_path / "store" / records[("local", 1)]["crate_path"]
    notes = json.loads((local / "portability.json").read_text())["notes"]
    clamp = next(n for n in notes if n["feature"] == "tau_refrac=0 ms")
    assert clamp == {"feature": "tau_refrac=0 ms", "script_line": "compare_pair.py:11",
                     "action": "adapted", "numerical_effect": True,
                     "detail": "NEST requires at least one time step; set to 1 ms (sPyNNaker "
                               "counts 0 refractory step(s))"}
    assert validate_crate(local, PROCESS_RUN_CRATE).passed
    metadata = json.loads((local / "ro-crate-metadata.json").read_text())
    assert any(e.get("@id") == "portability.json" for e in metadata["@graph"])
    compared = repro_cli("compare", "-e", "compare_pair", "-t", "local,spinnaker_emulator",
                         "--no-record", cwd=tmp_path)
    assert compared.returncode in (0, 1), compared.stderr
    out = " ".join(compared.stdout.split())
    assert ("local: the script's tau_refrac=0 ms (compare_pair.py:11) was adapted" in out)
    assert "different time steps" not in out


def test_script_recording_no_spikes_completes_with_nothing_to_compare(tmp_path: Path) -> None:
    """A connectivity study never runs: its crate is valid and says so; compare refuses it.
    The files it writes are outputs of its run, with their hashes; one over the cap is not."""
    import hashlib

    import numpy as np
    from typer.testing import CliRunner

    from repro.cli import app
    from repro.records.run_crate import read_metadata, verify_crate
    from repro.records.validation import PROCESS_RUN_CRATE, validate_crate
    from repro.site.spikefile import read_spikes

    store = str(tmp_path / "store")
    # a process of its own: rich fixes the table width from $COLUMNS when the CLI module is
    # first imported, and a narrow table wraps the status cell across lines
    done = repro_cli("run", "--script", str(SCRIPTS / "no_spikes.py"), "--targets",
                     "spinnaker_emulator", cwd=tmp_path,
                     REPRO_SCRIPT_OUTPUTS_MAX_FILE_BYTES="50000")
    assert done.returncode == 0, done.stderr
    (crate,) = (tmp_path / "store" / "runs" / "no_spikes").iterdir()
    out = " ".join(done.stdout.split())
    assert "completed, no spikes recorded" in out
    assert (f"note: run {crate.name} (spinnaker_emulator seed 1): the script recorded no "
            "spikes: its spikes.npz holds no population, so there is nothing to compare") in out
    result = json.loads((crate / "result.json").read_text())
    assert (result["status"], result["spikes_recorded"], result["populations"]) == (
        "completed", False, [])
    assert result["notes"][0].endswith("(it never called run(): nothing was simulated)")
    assert read_spikes(crate / "spikes.npz") == []
    action = next(e for e in read_metadata(crate).values() if e["@type"] == "CreateAction")
    assert "the script recorded no spikes" in action["description"]
    graph = read_metadata(crate)
    kept = result["script_outputs"]["files"]
    assert [item["path"] for item in kept] == ["connections.txt", "results/summary.txt"]
    for item in kept:
        path = f"script_outputs/{item['path']}"
        digest = hashlib.sha256((crate / path).read_bytes()).hexdigest()
        assert graph[path]["sha256"] == item["sha256"] == digest
        assert {"@id": path} in action["result"]
    assert graph["script_outputs/connections.txt"]["encodingFormat"] == "text/plain"
    assert (crate / "script_outputs/results/summary.txt").read_text() == (
        f"{int(np.loadtxt(crate / 'script_outputs/connections.txt').shape[0])} connections\n")
    (skipped,) = result["script_outputs"]["skipped"]
    assert skipped["path"] == "weights.npy" and skipped["size"] > 50000
    assert not (crate / "script_outputs/weights.npy").exists()
    note = (f"weights.npy ({skipped['size']} bytes): larger than the per-file cap of 50000 "
            "bytes")
    assert any(note in line for line in result["notes"]) and note in action["description"]
    assert "2 file(s) the script wrote are kept in script_outputs/" in action["description"]
    assert verify_crate(crate) == []
    assert validate_crate(crate, PROCESS_RUN_CRATE).passed
    compared = CliRunner().invoke(app, ["compare", "-b", str(crate), "-c", str(crate),
                                        "--no-record", "--store", store])
    assert compared.exit_code == 2
    message = " ".join(compared.stderr.split())
    assert f"{crate}: run {crate.name} recorded no spikes" in message, message
    assert "nothing to compare" in message and "Traceback" not in message
