"""``repro run`` of the NESTML equivalence experiment, end to end, and its failure mode."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from repro.site.runspec import RunSpec
from repro.site.spikefile import read_spikes
from repro.targets import target_class
from repro.targets.local_nestml import NestmlCellsTarget
from tests.fixtures.nestml import EQUIVALENCE


def repro(args: list[str], cwd: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "REPRO_CACHE_DIR": str(cache)}
    env.pop("REPRO_STORE", None)
    return subprocess.run([sys.executable, "-m", "repro", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=1200)


def test_local_nestml_target_only_overrides_the_cell_implementation():
    assert target_class("local_nestml") is NestmlCellsTarget
    target = NestmlCellsTarget("nest_nestml", {})
    spec = target.prepare(RunSpec(experiment="e", mode="build", script="network.py",
                                  backend="nest", seed=1,
                                  params={"cell_implementation": "builtin", "n": 3}))
    assert spec.params == {"cell_implementation": "nestml", "n": 3}
    assert spec.backend == "nest"
    assert target.identity()["cell_implementation"] == "nestml"
    assert target.identity() != target_class("local")("nest_nestml", {}).identity()


@pytest.mark.slow
def test_both_variants_run_and_give_identical_spikes(tmp_path, nestml_cache, nestml_built,
                                                     nestml_spinnaker):
    done = repro(["run", str(EQUIVALENCE), "--seeds", "1", "--json", "--store",
                  str(tmp_path / "crates")], tmp_path, nestml_cache)
    assert done.returncode == 0, done.stderr[-3000:]
    outcomes = {o["target"]: o for o in json.loads(done.stdout)}
    assert set(outcomes) == {"nest_builtin", "nest_nestml"}
    crates = {t: tmp_path / "crates" / o["crate_path"] for t, o in outcomes.items()}
    spikes = {t: {p.name: p for p in read_spikes(c / "spikes.npz")} for t, c in crates.items()}
    assert set(spikes["nest_builtin"]) == {"exc", "inh", "adapt"}
    for name, builtin in spikes["nest_builtin"].items():
        nestml = spikes["nest_nestml"][name]
        assert builtin.n_spikes > 100
        assert np.array_equal(builtin.indptr, nestml.indptr)
        assert np.array_equal(builtin.times, nestml.times)
    for crate in crates.values():
        record = json.loads((crate / "network" / "nestml_build.json").read_text())
        assert record["nest"]["module_hash"] == nestml_built.module_hash
        assert record["nest"]["cache_hit"] is True
        assert record["spinnaker"]["generated_sources_hash"] == \
            nestml_spinnaker.generated_sources_hash
        assert (crate / "network" / "iaf_psc_exp_adapt.nestml").is_file()
    spec = json.loads((crates["nest_nestml"] / "run_spec.json").read_text())
    assert spec["params"]["cell_implementation"] == "nestml"
    assert spec["nestml_modules"][0]["name"] == nestml_built.name


@pytest.mark.slow
def test_nestml_syntax_error_stops_the_run_before_anything_is_written(tmp_path, nestml_cache):
    experiment = tmp_path / "exp"
    shutil.copytree(EQUIVALENCE, experiment)
    model = experiment / "models" / "iaf_psc_exp_adapt.nestml"
    model.write_text(model.read_text().replace("I_adapt += b", "I_adapt += * b", 1))
    line = next(i for i, text in enumerate(model.read_text().splitlines(), 1)
                if "I_adapt += * b" in text)
    done = repro(["run", str(experiment), "--seeds", "1", "--store", str(tmp_path / "crates")],
                 tmp_path, nestml_cache)
    assert done.returncode == 2
    assert f"{model}:{line}" in done.stderr.replace("\n", "") or \
        f"{model}:{line + 1}" in done.stderr.replace("\n", "")
    leftovers = [p for p in (tmp_path / "crates").rglob("*") if p.is_file()] \
        if (tmp_path / "crates").exists() else []
    assert leftovers == []
