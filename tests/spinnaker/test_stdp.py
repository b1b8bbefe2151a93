"""STDP (pair rule, additive and multiplicative) against the rule computed by hand from
sPyNNaker's fixed-point tables (against NEST: tests/dialect/test_stdp_vs_nest.py).

Pairings at +-1..+-50 ms, one pre/post pair per neuron: a post spike forced by a strong
static "teacher" input, pre spikes from a SpikeSourceArray; a final pre spike long after
every pairing makes the deferred update happen (SpiNNaker updates weights only when a
pre-synaptic spike is processed).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import repro.spinnaker.pynn_backend as emu
from tests.spinnaker.rawfixed import left_shift, s1615

TAU, A_PLUS, A_MINUS, W0, DELAY = 20.0, 0.01, 0.012, 0.5, 1.0
SUMMED = 4.0  # max_expected_summed_weight -> L = 3
PAIRS = 50
FINAL_PRE = 400.0  # >= last post + delay + table length (154 ticks for tau = 20 ms)
TEACHER = 100.0  # teacher spike time of the "post before pre" half


def _schedule():
    """Pre and teacher spike times: neurons 0..49 post after pre, 50..99 pre after post."""
    pre, teacher = [], []
    for k in range(1, PAIRS + 1):  # post after pre: teacher at 97 + k -> post at 99 + k
        pre.append([100.0, FINAL_PRE])
        teacher.append([97.0 + k])
    for k in range(1, PAIRS + 1):  # pre after post: post at 102, pre at 102 + 1 + k
        pre.append([103.0 + k, FINAL_PRE])
        teacher.append([TEACHER])
    return pre, teacher


def _run(sim, weight_dependence, **setup):
    sim.setup(timestep=1.0, rng_seed=1, **setup)
    pre_times, teacher_times = _schedule()
    n = len(pre_times)
    pre = sim.Population(n, sim.SpikeSourceArray(spike_times=pre_times))
    teacher = sim.Population(n, sim.SpikeSourceArray(spike_times=teacher_times))
    extras = ({"additional_parameters": {"max_expected_summed_weight": [SUMMED, SUMMED]}}
              if sim is emu else {})
    post = sim.Population(n, sim.IF_curr_exp(tau_refrac=150.0), **extras)
    # 15 nA fits the 16-bit weight field at L = 3 (W = 61440) and fires the cell once,
    # two steps after the teacher spike.
    sim.Projection(teacher, post, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=15.0, delay=1.0), receptor_type="excitatory")
    rule = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=TAU, tau_minus=TAU, A_plus=A_PLUS,
                                            A_minus=A_MINUS),
        weight_dependence=weight_dependence(sim), weight=W0, delay=DELAY)
    plastic = sim.Projection(pre, post, sim.OneToOneConnector(), rule)
    post.record("spikes")
    sim.run(FINAL_PRE + 10.0)
    weights = np.diag(plastic.get("weight", format="array"))
    post_times = [float(t.magnitude[0]) if t.size else math.nan
                  for t in post.get_data("spikes").segments[-1].spiketrains]
    assert all(t.size == 1 for t in post.get_data("spikes").segments[-1].spiketrains)
    return np.asarray(weights, dtype=float), np.asarray(post_times), pre_times


def _lut(k: int) -> int:
    """sPyNNaker's host table: floor(exp(-k dt / tau) * 2048), 0 past its even length."""
    size = math.log(2048) / (1.0 / TAU)
    size = (int(size // 2) + (size % 2 > 0)) * 2
    return math.floor(math.exp(-k / TAU) * 2048) if 0 <= k < size else 0


def _expected(kind: str, post_times, pre_times, shift: int) -> np.ndarray:
    """The deferred update of one pair, from the tables (traces: a single spike = 2048)."""
    out = []
    for tp, pre in zip(post_times, pre_times, strict=True):
        d = round(DELAY)
        state = round(W0 * 2 ** (15 - shift)) << shift
        w_max, w_min = s1615(1.0), s1615(0.0)
        t1 = round(pre[0])
        if tp + d > t1:  # post (seen d later) after the first pre: potentiation at t = 400
            r = 2048 * _lut(round(tp) + d - t1) >> 11
            if kind == "additive":
                state = min(state + (s1615(A_PLUS) * r >> 11), w_max)
            else:
                scale = (w_max - state) * s1615(A_PLUS) >> 15
                state += scale * r >> 11
        else:  # post before the first pre: depression at t1
            o = 2048 * _lut(t1 - round(tp) - d) >> 11
            if kind == "additive":
                state = max(state - (s1615(A_MINUS) * o >> 11), w_min)
            else:
                scale = (state - w_min) * s1615(A_MINUS) >> 15
                state -= scale * o >> 11
        out.append((state >> shift) * 2.0 ** (shift - 15))
    return np.asarray(out)


def _additive(sim):
    return sim.AdditiveWeightDependence(w_min=0.0, w_max=1.0)


def _multiplicative(sim):
    return sim.MultiplicativeWeightDependence(w_min=0.0, w_max=1.0)


@pytest.mark.parametrize(("kind", "dependence"), [("additive", _additive),
                                                  ("multiplicative", _multiplicative)])
def test_pair_rule_matches_the_fixed_point_tables(kind, dependence):
    weights, post_times, pre_times = _run(emu, dependence)
    lag = np.array([tp + DELAY - pre[0] for tp, pre in zip(post_times, pre_times, strict=True)])
    assert sorted(lag[:PAIRS]) == list(range(1, PAIRS + 1))  # +1..+50 ms
    assert sorted(-lag[PAIRS:]) == list(range(1, PAIRS + 1))  # -1..-50 ms
    np.testing.assert_array_equal(weights, _expected(kind, post_times, pre_times,
                                                     left_shift(SUMMED)))
    assert np.all(weights[:PAIRS] > W0) and np.all(weights[PAIRS:] < W0)


def test_pre_spike_in_the_tick_of_the_delayed_post_spike_depresses_by_the_whole_trace():
    """Lag 0 (pre at t_post + d): the 7.4.1 binary has no Δ > 0 test before the depression,
    so the pre spike depresses by A- times the whole post trace (LUT[0] = 2048)."""
    emu.setup(timestep=1.0, rng_seed=1)
    pre = emu.Population(1, emu.SpikeSourceArray(spike_times=[TEACHER + 3.0, FINAL_PRE]))
    teacher = emu.Population(1, emu.SpikeSourceArray(spike_times=[TEACHER]))
    post = emu.Population(1, emu.IF_curr_exp(tau_refrac=150.0), additional_parameters={
        "max_expected_summed_weight": [SUMMED, SUMMED]})
    emu.Projection(teacher, post, emu.AllToAllConnector(), emu.StaticSynapse(weight=15.0))
    plastic = emu.Projection(pre, post, emu.AllToAllConnector(), emu.STDPMechanism(
        timing_dependence=emu.SpikePairRule(tau_plus=TAU, tau_minus=TAU, A_plus=A_PLUS,
                                            A_minus=A_MINUS),
        weight_dependence=_additive(emu), weight=W0, delay=DELAY))
    post.record("spikes")
    emu.run(FINAL_PRE + 10.0)
    (train,) = post.get_data("spikes").segments[-1].spiketrains
    assert list(train.magnitude) == [TEACHER + 2.0]
    weight = plastic.get("weight", format="array")[0, 0]
    emu.end()
    want = _expected("additive", [TEACHER + 2.0], [[TEACHER + 3.0, FINAL_PRE]],
                     left_shift(SUMMED))
    assert weight == want[0] < W0


def test_plastic_projection_between_neuron_populations():
    """Pre spikes from neurons (stamped in the tick of the crossing) drive the same rule."""
    lags = [1, 5, 20, -3, -15]
    emu.setup(timestep=1.0, rng_seed=1)
    n = len(lags)
    teacher_pre = [[98.0, FINAL_PRE - 2.0]] * n  # pre neurons fire at 100 and FINAL_PRE
    teacher_post = [[97.0 + lag] for lag in lags]  # post fires 2 ticks after its teacher
    drive_pre = emu.Population(n, emu.SpikeSourceArray(spike_times=teacher_pre))
    drive_post = emu.Population(n, emu.SpikeSourceArray(spike_times=teacher_post))
    extras = {"max_expected_summed_weight": [SUMMED, SUMMED]}
    pre = emu.Population(n, emu.IF_curr_exp(tau_refrac=150.0), additional_parameters=extras)
    post = emu.Population(n, emu.IF_curr_exp(tau_refrac=150.0), additional_parameters=extras)
    for source, target in ((drive_pre, pre), (drive_post, post)):
        emu.Projection(source, target, emu.OneToOneConnector(),
                       emu.StaticSynapse(weight=15.0, delay=1.0))
    rule = emu.STDPMechanism(
        timing_dependence=emu.SpikePairRule(tau_plus=TAU, tau_minus=TAU, A_plus=A_PLUS,
                                            A_minus=A_MINUS),
        weight_dependence=_additive(emu), weight=W0, delay=DELAY)
    plastic = emu.Projection(pre, post, emu.OneToOneConnector(), rule)
    pre.record("spikes")
    post.record("spikes")
    emu.run(FINAL_PRE + 10.0)
    pre_times = [list(t.magnitude) for t in pre.get_data("spikes").segments[-1].spiketrains]
    post_times = [float(t.magnitude[0])
                  for t in post.get_data("spikes").segments[-1].spiketrains]
    assert all(len(t) == 2 and t[0] == 100.0 for t in pre_times)
    weights = np.diag(plastic.get("weight", format="array"))
    np.testing.assert_array_equal(
        weights, _expected("additive", post_times, pre_times, left_shift(SUMMED)))
    assert sorted(round(tp + DELAY - 100.0) for tp in post_times) == sorted(lags)


def test_rule_parameters_are_readable_with_projection_get():
    emu.setup(timestep=1.0, rng_seed=1)
    a = emu.Population(2, emu.SpikeSourceArray(spike_times=[5.0]))
    b = emu.Population(2, emu.IF_curr_exp())
    rule = emu.STDPMechanism(timing_dependence=emu.SpikePairRule(tau_plus=16.7, A_plus=0.02),
                             weight_dependence=_additive(emu), weight=0.5, delay=1.0)
    prj = emu.Projection(a, b, emu.AllToAllConnector(), rule)
    emu.run(10.0)
    assert {t for _, _, t in prj.get("tau_plus", format="list")} == {16.7}
    rows = prj.get(["weight", "A_plus"], format="list")
    assert {r[3] for r in rows} == {0.02} and len(rows) == 4
