"""Real NESTML builds against the installed NEST wheel: module, cache, numerics, errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repro.errors import InputError
from repro.nestml import prepare
from repro.nestml.cache import tree_digest
from repro.site.envinfo import sha256_file
from tests.fixtures.nestml import EQUIVALENCE, EQUIVALENCE_MODELS

pytestmark = pytest.mark.slow


def run_nest(script: str, library: Path) -> dict:
    """Run ``script`` in a fresh NEST process with the module installed; return its JSON."""
    prologue = ("import json, sys, nest\nnest.set_verbosity('M_ERROR')\n"
                f"nest.Install({str(library)!r})\n")
    done = subprocess.run([sys.executable, "-c", prologue + script], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_module_installs_into_nest_with_both_models(nestml_built):
    assert nestml_built.models == ("iaf_psc_exp_nestml", "iaf_psc_exp_adapt_nestml")
    found = run_nest("print(json.dumps(sorted(m for m in nest.node_models "
                     "if m.endswith('_nestml'))))", nestml_built.library_path)
    assert found == sorted(nestml_built.models)


def test_record_holds_the_hashes_of_library_and_generated_sources(nestml_built):
    assert nestml_built.module_hash == sha256_file(nestml_built.library_path)
    assert nestml_built.generated_sources_hash == tree_digest(nestml_built.generated_dir)[0]
    assert "-D_GLIBCXX_USE_CXX11_ABI=0" in nestml_built.flags
    record = nestml_built.record()
    assert record["module_hash"] == nestml_built.module_hash
    assert [s["name"] for s in record["sources"]] == ["iaf_psc_exp.nestml",
                                                      "iaf_psc_exp_adapt.nestml"]


def test_second_prepare_is_a_cache_hit_well_under_a_second(nestml_built, nestml_cache):
    start = time.perf_counter()
    again = prepare(EQUIVALENCE, EQUIVALENCE_MODELS, nestml_cache / "nestml")
    elapsed = time.perf_counter() - start
    assert again.cache_hit
    assert elapsed < 1.0, elapsed
    assert again.module_hash == nestml_built.module_hash
    assert again.build_key == nestml_built.build_key


NEURON_PARAMS = dict(C_m=250.0, tau_m=10.0, tau_syn_ex=2.0, tau_syn_in=5.0, t_ref=2.0,
                     E_L=-65.0, V_reset=-70.0, V_th=-55.0, I_e=420.0)


def test_nestml_iaf_psc_exp_reproduces_nest_builtin_iaf_psc_exp(nestml_built):
    script = f"""
import numpy as np
nest.resolution = 0.1
nest.rng_seed = 7
params = {NEURON_PARAMS!r}
cells = [nest.Create(m, params=params) for m in ("iaf_psc_exp", "iaf_psc_exp_nestml")]
exc, inh = nest.Create("poisson_generator", params={{"rate": 8000.0}}), \\
    nest.Create("poisson_generator", params={{"rate": 3000.0}})
pe, pi = nest.Create("parrot_neuron"), nest.Create("parrot_neuron")
nest.Connect(exc, pe); nest.Connect(inh, pi)
meters, recorders = [], []
for cell in cells:
    nest.Connect(pe, cell, syn_spec={{"weight": 40.0, "delay": 1.0}})
    nest.Connect(pi, cell, syn_spec={{"weight": -60.0, "delay": 1.0}})
    meter = nest.Create("multimeter", params={{"record_from": ["V_m"], "interval": 0.1}})
    recorder = nest.Create("spike_recorder")
    nest.Connect(meter, cell); nest.Connect(cell, recorder)
    meters.append(meter); recorders.append(recorder)
nest.Simulate(2000.0)
v = [m.events["V_m"] for m in meters]
t = [r.events["times"].tolist() for r in recorders]
print(json.dumps({{"max_dv": float(np.max(np.abs(v[0] - v[1]))), "spikes": t}}))
"""
    result = run_nest(script, nestml_built.library_path)
    builtin, nestml = result["spikes"]
    assert len(builtin) > 10
    assert nestml == builtin
    assert result["max_dv"] < 1e-9


def test_adaptive_neuron_slows_down_under_constant_drive(nestml_built):
    script = """
nest.resolution = 0.1
cell = nest.Create("iaf_psc_exp_adapt_nestml", params={"I_e": 600.0, "b": 40.0,
                                                       "tau_adapt": 150.0})
plain = nest.Create("iaf_psc_exp_adapt_nestml", params={"I_e": 600.0, "b": 0.0})
recorders = [nest.Create("spike_recorder") for _ in range(2)]
nest.Connect(cell, recorders[0]); nest.Connect(plain, recorders[1])
nest.Simulate(1000.0)
print(json.dumps([r.events["times"].tolist() for r in recorders]))
"""
    adapting, plain = run_nest(script, nestml_built.library_path)
    isi = [b - a for a, b in zip(adapting, adapting[1:], strict=False)]
    plain_isi = [b - a for a, b in zip(plain, plain[1:], strict=False)]
    assert len(adapting) > 5
    assert isi[-1] > 1.5 * isi[0]
    assert max(plain_isi) - min(plain_isi) < 0.2
    assert len(adapting) < len(plain)


def broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    experiment = tmp_path / "exp"
    shutil.copytree(EQUIVALENCE, experiment)
    model = experiment / "models" / "iaf_psc_exp.nestml"
    text = model.read_text()
    assert old in text
    model.write_text(text.replace(old, new, 1))
    return experiment


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_syntax_error_names_file_and_line_and_caches_nothing(tmp_path):
    experiment = broken_copy(tmp_path, "V_m mV = E_L                 #",
                             "V_m mV = E_L +               #")
    model = experiment / "models" / "iaf_psc_exp.nestml"
    cache = tmp_path / "cache"
    with pytest.raises(InputError) as info:
        prepare(experiment, EQUIVALENCE_MODELS, cache)
    broken_line = line_of(model, "E_L +")
    assert info.value.path == str(model)
    assert info.value.line in (broken_line, broken_line + 1)  # ANTLR reports the next token
    assert "NESTML" in str(info.value)
    assert not (cache / "modules").exists() or not any((cache / "modules").iterdir())
    assert not any((cache / "staging").iterdir())


def test_semantic_error_names_the_line_of_the_unknown_symbol(tmp_path):
    experiment = broken_copy(tmp_path, "V_m = V_reset", "V_m = V_resett")
    model = experiment / "models" / "iaf_psc_exp.nestml"
    with pytest.raises(InputError) as info:
        prepare(experiment, EQUIVALENCE_MODELS, tmp_path / "cache")
    assert info.value.path == str(model)
    assert info.value.line == line_of(model, "V_resett")
    assert "V_resett" in str(info.value)
