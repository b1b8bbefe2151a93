"""sPyNNaker's RecurrentRule on NEST (shipped NESTML synapse) against the bit-exact emulator.

Both sides see the same events: NEST's parrot and post-neuron spike times (one synapse per
pre/post pair, dendritic delay 1 ms) are fed, as ticks, to the emulator's
:class:`repro.spinnaker.stdp_recurrent.RecurrentSynapses`, for both builds (dual_fsm and
pre_stochastic). The window lengths are the only difference: NEST draws them from its own
stream, the emulator from mars_kiss64 at the binary's seed (docs/spinnaker-numerics-models.md
section 14), so

* exact part: with mean windows of 8192 ms every window is at least 8 ticks unless the
  11-bit draw is 0 or 1 (p = 1/1024 per draw), longer than any interval of the bursts
  below (<= 7 ticks: a last pre spike at 17 ms applies the bursts' post spikes), so the
  learned weights do not depend on the draws: they must agree
  with the emulator's up to its S16.15 rounding (one quantum 2^(L-15) per weight step,
  L = 0 here); the seeds are fixed, so the outcome is reproducible (the pre_stochastic
  synapse word keeps 10 bits of a window, which can leave a short one: p <= 7/1024 per
  kept window; the protocol was checked not to meet one with these seeds);
* statistical part: with mean windows of 20/25 ms the draws decide; over N = 1500
  independent synapses (each its own pair of neurons: the sample unit is the synapse, one
  replicate of the pairing protocol) the mean learned weight of NEST and the emulator must
  agree within 3.29 standard errors of the difference (Welch; false-alarm rate 0.1 % per
  build) plus the emulator's rounding bias (at most one quantum per weight step). Power:
  the same test rejects NEST with both mean windows doubled (measured z = -12.2 for
  dual_fsm, 8.2 for pre_stochastic at N = 1500), which the test checks too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from repro.nestml.shipped import SHIPPED_PAIRS
from repro.spinnaker.stdp import StdpRule
from repro.spinnaker.stdp_recurrent import RecurrentSynapses, new_core_rngs

pytestmark = pytest.mark.slow

PAIR = next(p for p in SHIPPED_PAIRS if p.synapse == "spynnaker_recurrent_synapse")
SHIFT = 0  # ring-buffer left shift L of the emulated synapse type (weights <= 1 nA)
QUANTUM = 2.0 ** (SHIFT - 15)
W0, W_MAX = 0.5, 1.0
N_STAT = 1500
Z_CRIT = 3.29  # two-sided 0.1 %
#: Exact part: per synapse, (pre offsets, post offsets) within a burst at 10 ms (NEST spike
#: stamps; a drive spike sent 2 ms before makes the post spike).
BURSTS = [
    ([0], [1]), ([0], [2]), ([2], [0]), ([3], [0]), ([0, 3], [1]), ([0, 3], [1, 4]),
    ([1, 4], [0, 2]), ([0, 1], [0]), ([0, 2, 4], [1, 3]), ([1], [0, 2]), ([0], [0]),
    ([2, 5], [0, 3]), ([2, 3], [0, 4]), ([1, 2, 3], [0, 4]), ([2, 3, 5], [0, 4])]
#: Statistical part: pre at 50 c + 20 ms, post lag per cycle c (ms; the drive arrives 1 ms
#: before the post spike), per build (dual_fsm or not) the protocol whose mean weight
#: depends most on the windows.
LAGS = {True: [3, 8, 12, 5, 15, 1, -4, 10, 6, 20] * 2,
        False: [3, -4, 8, -2, 12, -9, 1, -15, 5, -6] * 2}
EXACT = {"accumulator_depression": -1, "accumulator_potentiation": 1,
         "mean_pre_window": 8192.0, "mean_post_window": 8192.0, "A_plus": 0.1, "A_minus": 0.15}
STAT = {"accumulator_depression": -2, "accumulator_potentiation": 2,
        "mean_pre_window": 20.0, "mean_post_window": 25.0, "A_plus": 0.1, "A_minus": 0.15}

NEST_PROGRAM = """
import json, sys, nest
library, neuron, synapse = sys.argv[1:4]
cases = json.loads(sys.stdin.read())
out = []
for case in cases:
    nest.ResetKernel()
    nest.set(resolution=1.0, rng_seed=case["seed"], local_num_threads=1)
    nest.Install(library)
    n = len(case["pre"])
    parrots = nest.Create("parrot_neuron", n)
    post = nest.Create(neuron, n, params={"tau_syn_E": 0.5, "tau_refrac": 0.1})
    for trains, targets, spec in ((case["pre"], parrots, {}),
                                  (case["drive"], post, {"weight": 50.0})):
        for train in sorted(set(map(tuple, trains))):
            ids = targets.tolist()
            cells = nest.NodeCollection([ids[i] for i in range(n) if tuple(trains[i]) == train])
            nest.Connect(nest.Create("spike_generator", params={"spike_times": list(train)}),
                         cells, syn_spec=spec)
    nest.Connect(parrots, post, "one_to_one", syn_spec={
        "synapse_model": synapse, "weight": case["w0"], "delay": 1.0, **case["rule"]})
    pre_rec, post_rec = nest.Create("spike_recorder"), nest.Create("spike_recorder")
    nest.Connect(parrots, pre_rec)
    nest.Connect(post, post_rec)
    nest.Simulate(case["t_stop"])
    learned = nest.GetConnections(synapse_model=synapse).get(["source", "weight"])
    weights = [w for _, w in sorted(zip(learned["source"], learned["weight"]))]
    first = parrots[0].global_id
    events = {}
    for name, rec, base in (("pre", pre_rec, first), ("post", post_rec, post[0].global_id)):
        ev = rec.get("events")
        events[name] = [[int(s) - base, float(t)] for s, t in zip(ev["senders"], ev["times"])]
    out.append({"weights": weights, **events})
print(json.dumps(out))
"""


def _case(pre: list[list[float]], drive: list[list[float]], rule: dict, dual: bool,
          seed: int, t_stop: float) -> dict:
    return {"pre": pre, "drive": drive, "w0": W0, "seed": seed, "t_stop": t_stop,
            "rule": {**rule, "dual_fsm": 1.0 if dual else 0.0, "w_min": 0.0, "w_max": W_MAX}}


def _run_nest(library, cases: list[dict]) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-c", NEST_PROGRAM, str(library), PAIR.nest_neuron("_nestml"),
         PAIR.nest_synapse("_nestml")], input=json.dumps(cases),
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _emulated(result: dict, n: int, rule: dict, dual: bool) -> np.ndarray:
    """The emulator's weights for NEST's spike times (NEST stamps = the synapse's ticks)."""
    stdp = StdpRule(weight_dependence="multiplicative", tau_plus=0.0, tau_minus=0.0,
                    a_plus=rule["A_plus"], a_minus=rule["A_minus"], w_min=0.0, w_max=W_MAX,
                    timing="recurrent_dual_fsm" if dual else "recurrent_pre_stochastic",
                    accumulator_depression=rule["accumulator_depression"],
                    accumulator_potentiation=rule["accumulator_potentiation"],
                    mean_pre_window=rule["mean_pre_window"],
                    mean_post_window=rule["mean_post_window"])
    index = np.arange(n)
    synapses = RecurrentSynapses(stdp, index, index, np.ones(n, dtype=np.int64),
                                 np.full(n, round(W0 / QUANTUM)), n, n, SHIFT, 1, 1000,
                                 new_core_rngs(n))
    ticks: dict[int, tuple[list[int], list[int]]] = {}
    for kind, slot in (("post", 0), ("pre", 1)):
        for neuron, time in result[kind]:
            ticks.setdefault(round(time), ([], []))[slot].append(neuron)
    for tick in sorted(ticks):
        posts, pres = ticks[tick]
        synapses.post_spikes(tick, np.array(sorted(posts), dtype=np.int64))
        synapses.pre_spikes(tick, np.array(sorted(pres), dtype=np.int64))
    return synapses.weight.astype(float) * QUANTUM


def _exact_case(dual: bool) -> dict:
    pre = [[10.0 + o for o in p] + [17.0] for p, _ in BURSTS]
    drive = [[10.0 + o - 2.0 for o in q] for _, q in BURSTS]
    return _case(pre, drive, EXACT, dual, seed=11, t_stop=30.0)


def _stat_case(dual: bool, scale: float = 1.0) -> dict:
    lags = LAGS[dual]
    starts = [50.0 * c + 20.0 for c in range(len(lags))]
    rule = {**STAT, "mean_pre_window": STAT["mean_pre_window"] * scale,
            "mean_post_window": STAT["mean_post_window"] * scale}
    pre = [[*starts, 50.0 * len(lags) + 20.0]] * N_STAT
    drive = [[s + lag - 2.0 for s, lag in zip(starts, lags, strict=True)]] * N_STAT
    return _case(pre, drive, rule, dual, seed=12 + int(dual) + int(10 * scale),
                 t_stop=50.0 * len(lags) + 30.0)


def _z(a: np.ndarray, b: np.ndarray) -> float:
    return float((a.mean() - b.mean()) / np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size))


def test_recurrent_synapse_equals_the_emulator_where_the_draws_cannot_matter(
        spynnaker_cells_built):
    cases = [_exact_case(dual) for dual in (True, False)]
    results = _run_nest(spynnaker_cells_built.library_path, cases)
    for dual, result in zip((True, False), results, strict=True):
        posts = sorted((n, t) for n, t in result["post"])  # one post spike per drive
        assert posts == sorted((i, 10.0 + o) for i, (_, q) in enumerate(BURSTS) for o in q), posts
        nest_w = np.array(result["weights"])
        emu_w = _emulated(result, len(BURSTS), EXACT, dual)
        # each weight step truncates once on the chip: <= 1 quantum per step, <= 6 steps
        np.testing.assert_allclose(nest_w, emu_w, rtol=0, atol=6 * QUANTUM,
                                   err_msg=f"dual_fsm={dual}")
        assert len(np.unique(emu_w)) >= 3, dual  # the bursts take different paths


def test_recurrent_synapse_learns_like_the_emulator_in_distribution(spynnaker_cells_built):
    cases = [_stat_case(dual, scale) for dual in (True, False) for scale in (1.0, 2.0)]
    results = _run_nest(spynnaker_cells_built.library_path, cases)
    max_steps = 2 * len(LAGS[True])  # every event can move the weight at most once
    for k, dual in enumerate((True, False)):
        right, wrong = results[2 * k], results[2 * k + 1]
        emu_w = _emulated(right, N_STAT, STAT, dual)
        nest_w = np.array(right["weights"])
        bias = max_steps * QUANTUM
        diff = abs(nest_w.mean() - emu_w.mean())
        se = np.sqrt(nest_w.var(ddof=1) / N_STAT + emu_w.var(ddof=1) / N_STAT)
        assert diff < Z_CRIT * se + bias, (dual, nest_w.mean(), emu_w.mean(), se)
        assert emu_w.std() > 0.02 and abs(emu_w.mean() - W0) > 0.01  # the draws decide
        mutant = np.array(wrong["weights"])
        assert abs(mutant.mean() - emu_w.mean()) > Z_CRIT * se + bias, (dual, _z(mutant, emu_w))


REFUSED = """import pyNN.spiNNaker as p
p.setup(timestep=1.0)
source = p.Population(1, p.SpikeSourceArray(spike_times=[1.0]))
cell = p.Population(1, p.IF_curr_exp())
p.Projection(source, cell, p.AllToAllConnector(), p.STDPMechanism(
    timing_dependence=p.extra_models.RecurrentRule(),
    weight_dependence=p.AdditiveWeightDependence(w_max=1.0), weight=0.5))
p.run(10.0)
"""


def test_recurrent_rule_with_another_weight_dependence_is_refused_on_local(
        spynnaker_cells_built, nestml_cache, tmp_path):
    script = tmp_path / "recurrent_additive.py"
    script.write_text(REFUSED)
    env = {**os.environ, "REPRO_CACHE_DIR": str(nestml_cache)}
    env.pop("REPRO_STORE", None)
    done = subprocess.run(
        [sys.executable, "-m", "repro", "run", "--script", str(script), "--targets", "local",
         "--json", "--store", str(tmp_path / "store")], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode != 0
    [crate] = (tmp_path / "store" / "runs").glob("*/*/result.json")
    refusal = json.loads(crate.read_text())["refusal"]
    assert refusal["feature"] == "extra_models.RecurrentRule with AdditiveWeightDependence"
    assert refusal["script_line"] == "recurrent_additive.py:5"
    assert "only with MultiplicativeWeightDependence" in refusal["reason"]
    assert refusal["runs_on"].startswith("no target")
