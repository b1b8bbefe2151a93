"""sPyNNaker's Neuromodulation (reward and punishment) on NEST (the shipped NESTML synapse and
repro's signed volume transmitter) against the emulator.

scripts/neuromodulation_reward.py runs reward-modulated pairings (potentiation lags 2..35
ms, depressions of 1..12 ms after a potentiating pairing; two reward sources, one volume
transmitter each on NEST; with "punish" also two punishment sources, one of them in the
tick of a reward) on both. The bound per synapse (docs/spinnaker-numerics-models.md
section 17, "Equivalence to NEST"): the emulator's weight is

    W = w0 + sum_k Wc_k D_k (e_k - 1) K,   e_k = C(dt_k) Dd(dt_k),

over the k = 1..n intervals after a dopamine event (n = the cell's reward and punishment
spikes), computed in fixed point where NEST computes in
double. With eps = 2**-11 (one STDP fixed-point step) the eligibility Wc is off by at most
A (2 eps) per pairing term (a floored table entry and a floored 16-bit product) plus one
S16.15 step per product; D by each concentration's rounding to 11 fraction bits (|205/2048
- 0.1|, |614/2048 - 0.3|) plus 2 eps per decay; e by 3 eps (two floored entries and their
product). Then

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
from repro.site.portability import FeatureRefused
from repro.site.runspec import RunSpec
from tests.dialect.test_dialect import SCRIPTS, notes_of, run_harness

EPS, F = 2.0 ** -11, 2.0 ** -15
W0, A_PLUS, A_MINUS, TAU_PM = 0.5, 0.05, 0.03, 20.0
TAU_C, TAU_D, CONC, PUNISH_CONC = 300.0, 50.0, 0.1, 0.3
LAGS, DEPRESSIONS = [2, 5, 10, 20, 35], [1, 4, 12]
REWARDS = ([200.0, 230.0], [250.0])
PUNISHMENTS = ([215.0], [250.0])
MIXED_SOURCES = """
import pyNN.spiNNaker as p
p.setup(timestep=1.0)
pre = p.Population(1, p.SpikeSourceArray(spike_times=[10.0]))
post = p.Population(1, p.IF_curr_exp())
p.Projection(pre, post, p.AllToAllConnector(), p.STDPMechanism(
    timing_dependence=p.SpikePairRule(), weight_dependence=p.AdditiveWeightDependence()))
reward = p.Population(1, p.SpikeSourceArray(spike_times=[20.0]))
p.Projection(reward, post, p.AllToAllConnector(),
             synapse_type=p.extra_models.Neuromodulation(weight=0.1), receptor_type="reward")
punish = p.Population(1, p.IF_curr_exp())
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


def _bound(cell: int, weight_shift: int, punish: bool) -> float:
    """The fixed-point bound of one synapse (module docstring), with the maxima of this
    protocol: Wc at most the potentiation of its pairings, |D| at most the sum of the
    concentrations so far, |e - 1| <= 1, one term per interval after a dopamine event."""
    k_abs = 1.0 / (1.0 / TAU_C + 1.0 / TAU_D)
    quantum = 2.0 ** (weight_shift - 15)
    concentrations = [CONC] * len(REWARDS[cell % 2]) + (
        [PUNISH_CONC] * len(PUNISHMENTS[cell % 2]) if punish else [])
    events, d_max = len(concentrations), sum(concentrations)
    rounding = sum(abs(round(c * 2048) / 2048 - c) for c in concentrations)
    if cell < len(LAGS):  # one pairing, one pre spike before the last
        wc, terms, stores = A_PLUS * math.exp(-LAGS[cell] / TAU_PM), 1, 1
    else:  # two potentiations (lag 2, lag 40 - delta from the first pre), one depression
        delta = DEPRESSIONS[cell - len(LAGS)]
        wc = A_PLUS * (math.exp(-2 / TAU_PM) + math.exp(-(40 - delta) / TAU_PM))
        terms, stores = 3, 2
    d_wc = terms * (max(A_PLUS, A_MINUS) * 2 * EPS + F) + stores * quantum
    d_d = rounding + (events + 3) * EPS  # one floored decay per history event
    per_interval = d_wc * d_max + wc * d_d + wc * d_max * 3 * EPS
    return quantum + events * (k_abs * per_interval + 4 * F * k_abs)


@pytest.mark.slow
@pytest.mark.parametrize("args", [[], ["punish"], ["neurons", "punish"]],
                         ids=["reward", "reward-punishment", "neurons-reward-punishment"])
def test_modulated_stdp_on_nest_follows_the_emulator_within_the_fixed_point_bound(
        spynnaker_cells_built, tmp_path: Path, monkeypatch, args: list[str]) -> None:
    """Pre and dopamine spikes from spike sources (stamped at their time on NEST) and from
    neurons (stamped a step late, as the post spikes: the synapse's pre_lag, dopamine_lag);
    reward alone, and reward with punishment (two dopamine sources per neuron, one
    coincident with a reward)."""
    monkeypatch.setenv("REPRO_EMULATOR_KERNELS", "numpy")  # no kernel compilation
    result, bundle = _run_nest(tmp_path, spynnaker_cells_built, args)
    assert result["status"] == "completed", result.get("error", {}).get("traceback")
    nest = json.loads((bundle / "neuromodulation_reward.json").read_text())
    result_emu, bundle_emu = run_harness(tmp_path, "neuromodulation_reward.py",
                                         backend="spinnaker_emulator", args=args)
    assert result_emu["status"] == "completed", result_emu.get("error", {}).get("traceback")
    emulator = json.loads((bundle_emu / "neuromodulation_reward.json").read_text())
    # NEST stamps a neuron's spike at the end of its step: one step after sPyNNaker's tick
    for name in ("post", "pre", "reward", "punish"):
        assert [[t - 1.0 for t in train] for train in nest[name]] == emulator[name], name
    if "neurons" in args:  # one spike per drive spike: the same ticks as the spike sources
        assert [len(train) for train in emulator["pre"]] == [2] * 5 + [3] * 3
        assert emulator["reward"] == [[200.0, 230.0], [250.0]]
        assert emulator["punish"] == [[215.0], [250.0]]
    w_nest, w_emu = np.asarray(nest["weights"]), np.asarray(emulator["weights"])
    # the emulator's weight shift of the projection: max weight 2 (Neuromodulation w_max)
    punish = "punish" in args
    limits = np.array([_bound(cell, 3, punish) for cell in range(w_nest.size)])
    deviation = np.abs(w_nest - w_emu)
    assert np.all(deviation <= limits), (deviation.tolist(), limits.tolist())
    # every change (with punishment: every change the punishment makes) is decided by the
    # test: were NEST to drop or mis-sign the punishment, or count the coincident reward and
    # punishment as one spike, its weight would lie within the reward-only bound of the
    # reference, so |w_nest - w_emu| >= |w_emu - reference| - bound_reward > limits
    reference, reference_limits = np.full(w_nest.size, W0), np.zeros(w_nest.size)
    if punish:
        result_ref, bundle_ref = run_harness(tmp_path, "neuromodulation_reward.py",
                                             backend="spinnaker_emulator",
                                             args=[a for a in args if a != "punish"])
        assert result_ref["status"] == "completed"
        reference = np.asarray(json.loads(
            (bundle_ref / "neuromodulation_reward.json").read_text())["weights"])
        reference_limits = np.array([_bound(cell, 3, False) for cell in range(w_nest.size)])
    change = np.abs(w_emu - reference)
    assert np.all(change > limits + reference_limits), (change.tolist(), limits.tolist())
    assert np.array_equal(np.sign(w_nest - reference), np.sign(w_emu - reference))
    notes = notes_of(result)
    assert "spynnaker_neuromodulated_stdp_synapse" in notes["IF_curr_exp"].detail
    synapse = notes["STDPMechanism(SpikePairRule, AdditiveWeightDependence) onto a "
                    "neuromodulated population"]
    assert "spynnaker_neuromodulated_stdp_synapse" in synapse.detail
    reward = notes["extra_models.Neuromodulation(receptor_type='reward')"]
    assert "repro_signed_volume_transmitter" in reward.detail and "+0.1 per spike" in reward.detail
    if punish:
        punishment = notes["extra_models.Neuromodulation(receptor_type='punishment')"]
        assert "-0.3 per spike" in punishment.detail
        assert "one per distinct set of a neuron's dopamine sources" in punishment.detail
    assert "SpikePairRule with AdditiveWeightDependence" not in notes  # not stdp_synapse
    print(f"max |dw| {deviation.max():.3g} (bound {limits.min():.3g}..{limits.max():.3g}); "
          f"changes {change.min():.3g}..{change.max():.3g}")


def test_dopamine_from_spike_sources_and_neurons_is_refused_naming_line_and_reason(
        spynnaker_cells_built, tmp_path: Path) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "mixed.py").write_text(MIXED_SOURCES)
    spec = RunSpec(experiment="mixed", mode="script", script="mixed.py", backend="nest",
                   seed=1, nestml_modules=spynnaker_cells_built.runspec_modules())
    bundle = build_bundle(tmp_path / "bundle", spec, scripts, "test",
                          extra_files=spynnaker_cells_built.bundle_files())
    subprocess.run(bundle.harness_argv(python=sys.executable), cwd=bundle.directory,
                   env={**os.environ, **bundle.harness_env()}, capture_output=True,
                   text=True, timeout=120, check=False)
    result = json.loads((bundle.directory / bundle.OUTPUT_DIR / "result.json").read_text())
    assert result["status"] != "completed"
    line = FeatureRefused(**result["refusal"]).line()
    assert line.startswith("mixed.py:12: extra_models.Neuromodulation(receptor_type="
                           "'punishment') cannot run on this target"), line
    assert "both spike sources and neurons" in line and "spinnaker_emulator" in line
