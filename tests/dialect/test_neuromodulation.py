"""sPyNNaker's Neuromodulation on NEST (the shipped NESTML synapse) against the emulator, and
the refusal of punishment.

scripts/neuromodulation_reward.py runs reward-modulated pairings (potentiation lags 2..35
ms, depressions of 1..12 ms after a potentiating pairing; two reward sources, one volume
transmitter each on NEST) on both. The bound per synapse (docs/spinnaker-numerics-models.md
section 17, "Equivalence to NEST"): the emulator's weight is

    W = w0 + sum_k Wc_k D_k (e_k - 1) K,   e_k = C(dt_k) Dd(dt_k),

over the k = 1..n intervals with dopamine, computed in fixed point where NEST computes in
double. With eps = 2**-11 (one STDP fixed-point step) the eligibility Wc is off by at most
A (2 eps) per pairing term (a floored table entry and a floored 16-bit product) plus one
S16.15 step per product; D by the concentration's rounding to 11 fraction bits (|205/2048
- 0.1|) plus 2 eps per decay; e by 3 eps (two floored entries and their product). Then

    |W_emu - W_nest| <= U q + |K| sum_k (dWc D + Wc dD + Wc D de) + 4 f |K| n

with q = 2**(L-15) the weight quantum (W is stored as state >> L at each of the U weight
updates), f = 2**-15, L = the emulator's weight shift of the projection. Spike times are
equal on both (NEST stamps a step later; the synapse uses sPyNNaker's tick).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from repro.execution.bundle import build_bundle
from repro.execution.preflight import backend_refusals
from repro.site.portability import FeatureRefused
from repro.site.runspec import RunSpec
from repro.site.script_scan import refusal_lines
from tests.dialect.test_dialect import SCRIPTS, notes_of, repro_cli, run_harness

EPS, F = 2.0 ** -11, 2.0 ** -15
W0, A_PLUS, A_MINUS, TAU_PM = 0.5, 0.05, 0.03, 20.0
TAU_C, TAU_D, CONC = 300.0, 50.0, 0.1
LAGS, DEPRESSIONS = [2, 5, 10, 20, 35], [1, 4, 12]
REWARDS = ([200.0, 230.0], [250.0])
PUNISHMENT = """
import pyNN.spiNNaker as p
p.setup(timestep=1.0)
pre = p.Population(1, p.SpikeSourceArray(spike_times=[10.0]))
post = p.Population(1, p.IF_curr_exp())
p.Projection(pre, post, p.AllToAllConnector(), p.STDPMechanism(
    timing_dependence=p.SpikePairRule(), weight_dependence=p.AdditiveWeightDependence()))
punish = p.Population(1, p.SpikeSourceArray(spike_times=[20.0]))
p.Projection(punish, post, p.AllToAllConnector(),
             synapse_type=p.extra_models.Neuromodulation(weight=0.1), receptor_type="punishment")
p.run(50.0)
"""


def _run_nest(tmp_path: Path, built, args: list[str]) -> tuple[dict, Path]:
    """The script through the real harness on NEST with the shipped module installed."""
    spec = RunSpec(experiment="neuromodulation_reward", mode="script",
                   script="neuromodulation_reward.py", backend="nest", seed=1,
                   script_args=args, nestml_modules=built.runspec_modules())
    bundle = build_bundle(tmp_path / "bundle-nest", spec, SCRIPTS, "test",
                          extra_files=built.bundle_files())
    done = subprocess.run(bundle.harness_argv(python=sys.executable), cwd=bundle.directory,
                          env={**os.environ, **bundle.harness_env()}, capture_output=True,
                          text=True, timeout=300, check=False)
    output = bundle.directory / bundle.OUTPUT_DIR
    assert (output / "result.json").is_file(), done.stderr[-3000:]
    return json.loads((output / "result.json").read_text()), bundle.directory


def _bound(cell: int, weight_shift: int) -> float:
    """The fixed-point bound of one synapse (module docstring), with the maxima of this
    protocol: Wc at most the potentiation of its pairings, D at most c per reward so far,
    |e - 1| <= 1, one term per interval that carries dopamine (one per reward)."""
    k_abs = 1.0 / (1.0 / TAU_C + 1.0 / TAU_D)
    quantum = 2.0 ** (weight_shift - 15)
    d_conc = abs(round(CONC * 2048) / 2048 - CONC)
    rewards = len(REWARDS[cell % 2])
    if cell < len(LAGS):  # one pairing, one pre spike before the last
        wc, terms, stores = A_PLUS * math.exp(-LAGS[cell] / TAU_PM), 1, 1
    else:  # two potentiations (lag 2, lag 40 - delta from the first pre), one depression
        delta = DEPRESSIONS[cell - len(LAGS)]
        wc = A_PLUS * (math.exp(-2 / TAU_PM) + math.exp(-(40 - delta) / TAU_PM))
        terms, stores = 3, 2
    d_wc = terms * (max(A_PLUS, A_MINUS) * 2 * EPS + F) + stores * quantum
    d_d = rewards * d_conc + (rewards + 3) * EPS  # one floored decay per history event
    per_interval = d_wc * CONC * rewards + wc * d_d + wc * CONC * rewards * 3 * EPS
    return quantum + rewards * (k_abs * per_interval + 4 * F * k_abs)


@pytest.mark.slow
@pytest.mark.parametrize("args", [[], ["neurons"]], ids=["spike-sources", "neurons"])
def test_reward_modulated_stdp_on_nest_follows_the_emulator_within_the_fixed_point_bound(
        spynnaker_cells_built, tmp_path: Path, monkeypatch, args: list[str]) -> None:
    """Pre and reward spikes from spike sources (stamped at their time on NEST) and from
    neurons (stamped a step late, as the post spikes: the synapse's pre_lag, dopamine_lag)."""
    monkeypatch.setenv("REPRO_EMULATOR_KERNELS", "numpy")  # no kernel compilation
    result, bundle = _run_nest(tmp_path, spynnaker_cells_built, args)
    assert result["status"] == "completed", result.get("error", {}).get("traceback")
    nest = json.loads((bundle / "neuromodulation_reward.json").read_text())
    result_emu, bundle_emu = run_harness(tmp_path, "neuromodulation_reward.py",
                                         backend="spinnaker_emulator", args=args)
    assert result_emu["status"] == "completed", result_emu.get("error", {}).get("traceback")
    emulator = json.loads((bundle_emu / "neuromodulation_reward.json").read_text())
    # NEST stamps a neuron's spike at the end of its step: one step after sPyNNaker's tick
    for name in ("post", "pre", "reward"):
        assert [[t - 1.0 for t in train] for train in nest[name]] == emulator[name], name
    if args:  # one spike per drive spike: the same ticks as the spike sources
        assert [len(train) for train in emulator["pre"]] == [2] * 5 + [3] * 3
        assert emulator["reward"] == [[200.0, 230.0], [250.0]]
    w_nest, w_emu = np.asarray(nest["weights"]), np.asarray(emulator["weights"])
    # the emulator's weight shift of the projection: max weight 2 (Neuromodulation w_max)
    limits = np.array([_bound(cell, weight_shift=3) for cell in range(w_nest.size)])
    deviation = np.abs(w_nest - w_emu)
    assert np.all(deviation <= limits), (deviation.tolist(), limits.tolist())
    assert np.all(np.abs(w_nest - W0) > 2 * limits)  # every change is decided by the test
    assert np.array_equal(np.sign(w_nest - W0), np.sign(w_emu - W0))
    notes = notes_of(result)
    assert "spynnaker_neuromodulated_stdp_synapse" in notes["IF_curr_exp"].detail
    synapse = notes["STDPMechanism(SpikePairRule, AdditiveWeightDependence) onto a "
                    "neuromodulated population"]
    assert "spynnaker_neuromodulated_stdp_synapse" in synapse.detail
    reward = notes["extra_models.Neuromodulation(receptor_type='reward')"]
    assert "one per neuron's reward source" in reward.detail
    assert "SpikePairRule with AdditiveWeightDependence" not in notes  # not stdp_synapse
    print(f"max |dw| {deviation.max():.3g} (bound {limits.min():.3g}..{limits.max():.3g}); "
          f"changes {np.abs(w_nest - W0).min():.3g}..{np.abs(w_nest - W0).max():.3g}")


def test_punishment_is_refused_on_nest_naming_line_reason_and_targets(tmp_path: Path) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "punishment.py").write_text(PUNISHMENT)
    spec = RunSpec(experiment="punishment", mode="script", script="punishment.py",
                   backend="nest", seed=1)
    bundle = build_bundle(tmp_path / "bundle", spec, scripts, "test")
    subprocess.run(bundle.harness_argv(python=sys.executable), cwd=bundle.directory,
                   env={**os.environ, **bundle.harness_env()}, capture_output=True,
                   text=True, timeout=120, check=False)
    result = json.loads((bundle.directory / bundle.OUTPUT_DIR / "result.json").read_text())
    assert result["status"] != "completed"
    message = json.dumps(result)
    assert "punishment.py:9: extra_models.Neuromodulation" in message
    assert "extra_models.Neuromodulation(receptor_type='punishment')" in message
    assert "volume_transmitter ignores connection weights" in message
    assert "spinnaker_emulator" in message and "nmpi" in message
    # the pre-run scan refuses the same line with the same words (when the receptor is literal)
    run_time = FeatureRefused(**result["refusal"]).line()
    chosen = {"local": "nest", "spinnaker_emulator": "spinnaker_emulator"}
    script = scripts / "punishment.py"
    assert refusal_lines(script, backend_refusals(), chosen) == [
        run_time.replace("cannot run on this target", "cannot run on local")]
    assert refusal_lines(script, backend_refusals(), {"emu": "spinnaker_emulator"}) == []
    for spelled in ('receptor_type=receptor', 'receptor_type="punishment" if 1 else "reward"'):
        script.write_text(PUNISHMENT.replace('receptor_type="punishment"', spelled))
        assert refusal_lines(script, backend_refusals(), chosen) == []  # left to the run


def test_literal_punishment_exits_2_before_any_build(tmp_path: Path) -> None:
    (tmp_path / "punishment.py").write_text("\n" * 91 + PUNISHMENT)  # line 100: no emoji
    cache = tmp_path / "cache"
    cache.mkdir()
    done = repro_cli("run", "--script", str(tmp_path / "punishment.py"), "--targets",
                     "local,spinnaker_emulator", cwd=tmp_path, REPRO_CACHE_DIR=str(cache))
    assert done.returncode == 2, done.stderr
    assert "punishment.py:100: extra_models.Neuromodulation(receptor_type='punishment') cannot " \
           "run on local (punishment is negative dopamine" in " ".join(done.stderr.split())
    assert not (tmp_path / "store").exists() and not any(cache.iterdir())
