"""sPyNNaker's RecurrentRule on the emulator against the 7.4.1 C code run by hand.

Pre/post pairings at +-1..+-50 ms and at 0 (a pre spike in the tick its post event
arrives: 7.4.1 tests for coincidence only on the post side), each twice (the accumulator
counts to 2 before the weight moves), plus one early post spike per neuron so that the
first pre spike has a post event to be applied against. All synapses sit on one core, so
one generator at the binary's fixed seed serves them all, in the order the core meets
the events: a tick's post spikes (neuron order), then its pre spikes (sender order),
synapse by synapse. The hand computation below restates docs/spinnaker-numerics-models.md
§14 (host tables, state machines, deferred update) event by event for the whole core.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import repro.spinnaker.pynn_backend as sim
from repro.spinnaker.rng import MarsKiss64
from tests.spinnaker.rawfixed import left_shift, mulk, s1615
from tests.spinnaker.teacher import taught_cells

SUMMED = 4.0  # max_expected_summed_weight -> L = 3
SEED = (123456789, 234567891, 345678912, 456789123)  # random_util.h
N_LAGS, FIRST, SECOND, FINAL = 50, 100, 300, 600
RULE = {"accumulator_depression": -2, "accumulator_potentiation": 2,
        "mean_pre_window": 20.0, "mean_post_window": 25.0, "A_plus": 0.1, "A_minus": 0.15}
W_MAX, W0 = 1.0, 0.5


def _table(mean_steps: float) -> list[int]:
    """Host: the uint16 inverse CDF -mean ln(1 - k/2048) for k = 0 .. 2047."""
    return [int(math.log(1.0 - k / 2048.0) * -mean_steps) for k in range(2048)]


def _by_hand(dual: bool, pre_trains: list[list[int]], post_trains: list[list[int]],
             d: int, w0: int, shift: int) -> list[int]:
    """Weights W of synapses i -> i after every event, as one core processes them."""
    rng = MarsKiss64(SEED)
    pre_lut, post_lut = _table(RULE["mean_pre_window"]), _table(RULE["mean_post_window"])
    pot, dep = RULE["accumulator_potentiation"] - 1, RULE["accumulator_depression"] + 1
    a_plus, a_minus, w_max = s1615(RULE["A_plus"]), s1615(RULE["A_minus"]), s1615(W_MAX)
    n = len(pre_trains)
    history = [[(0, 0)] for _ in range(n)]  # (time, post window) with the dummy first
    weight = [w0] * n
    acc, fsm, window, last_pre, last_window = [0] * n, [0] * n, [0] * n, [0] * n, [0] * n

    def draw(lut):
        return lut[rng.next() % 2048]

    def potentiate(w):
        return w + mulk(w_max - w, a_plus)

    def depress(w):
        return w - mulk(w, a_minus)  # w_min = 0

    for t in sorted({t for train in pre_trains + post_trains for t in train}):
        for i in range(n):
            if t in post_trains[i]:
                history[i].append((t, draw(post_lut) if dual else 0))
                if len(history[i]) > 16:
                    del history[i][1]
        for i in range(n):
            if t not in pre_trains[i]:
                continue
            lp, lr = last_pre[i], last_window[i]
            last_pre[i] = t
            if dual:
                last_window[i] = draw(pre_lut)
            w, a, s, win = weight[i] << shift, acc[i], fsm[i], window[i]
            begin, end = max(lp - d, 0), max(t - d, 0)
            earlier = [e for e in history[i][1:] if e[0] <= begin]
            prev = earlier[-1] if earlier else None
            for tp, post_window in (e for e in history[i][1:] if begin < e[0] <= end):
                if dual:
                    if 0 < tp + d - lp < lr:
                        a, w = (a + 1, w) if a < pot else (0, potentiate(w))
                elif s == 0:
                    s, win = 2, draw(post_lut)
                elif s == 2:
                    if tp + d - (prev[0] if prev else 0) >= win:
                        win = draw(post_lut)
                    else:
                        s = 0
                elif tp + d == lp:
                    s = 0
                elif tp + d - lp < win:
                    a, w = (a + 1, w) if a < pot else (0, potentiate(w))
                    s = 0
                else:
                    s, win = 2, draw(post_lut)
                prev = (tp, post_window)
            if prev is not None:
                since_post = t - prev[0] - d
                if dual:
                    if since_post < prev[1]:
                        a, w = (a - 1, w) if a > dep else (0, depress(w))
                elif s == 0:
                    s, win = 1, draw(pre_lut)
                elif s == 1:
                    if t - lp >= win:
                        win = draw(pre_lut)
                    else:
                        s = 0
                elif since_post < win:
                    a, w = (a - 1, w) if a > dep else (0, depress(w))
                    s = 0
                else:
                    s, win = 1, draw(pre_lut)
            weight[i], acc[i], fsm[i], window[i] = (w >> shift) & 0xFFFF, a, s, win % 1024
            if not dual:
                acc[i] = ((a + 8) % 16) - 8
    return weight


def _layout() -> tuple[list[list[float]], list[list[float]]]:
    """Pre spike times and teacher times: post 1..50 ms after each of two pre spikes,
    then post 1..50 ms before them, then a post arriving (delayed) in the tick of the pre
    spike; an early post at 22 and a last pre at FINAL."""
    pre, teacher = [], []
    for lag in range(1, N_LAGS + 1):
        pre.append([FIRST, SECOND, FINAL])
        teacher.append([20.0, FIRST - 3.0 + lag, SECOND - 3.0 + lag])
    for lag in range(1, N_LAGS + 1):
        pre.append([FIRST + 3.0 + lag, SECOND + 3.0 + lag, FINAL])
        teacher.append([20.0, FIRST, SECOND])
    pre.append([FIRST, SECOND, FINAL])
    teacher.append([20.0, FIRST - 3.0, SECOND - 3.0])
    return pre, teacher


@pytest.mark.parametrize("dual_fsm", [False, True])
def test_recurrent_rule_matches_the_c_state_machines(dual_fsm):
    pre_times, teacher_times = _layout()
    got, posts, _ = _learned(None, pre_times, teacher_times, dual_fsm)
    lags = [p[1] + 1 - FIRST for p in posts[:N_LAGS]]
    lags += [p[1] + 1 - round(pre[0]) for p, pre in zip(posts[N_LAGS:], pre_times[N_LAGS:],
                                                         strict=True)]
    assert lags == [*range(1, N_LAGS + 1), *range(-1, -N_LAGS - 1, -1), 0]
    shift = left_shift(SUMMED)
    quantum = 2.0 ** (shift - 15)
    want = np.array(_by_hand(dual_fsm, [[round(t) for t in p] for p in pre_times], posts, 1,
                             round(W0 / quantum), shift)) * quantum
    np.testing.assert_array_equal(got, want)
    # the draws decide: close pairings move the weight more often than distant ones
    assert (want[:10] > W0).sum() > (want[N_LAGS - 10:N_LAGS] > W0).sum()
    assert (want[N_LAGS:N_LAGS + 10] < W0).sum() > (want[-11:-1] < W0).sum()
    assert np.any(want == W0) and np.all(want <= W_MAX)


def test_recurrent_rule_projection_answers_its_parameters_and_refuses_additive():
    sim.setup(timestep=1.0)
    timing = sim.TimingDependenceRecurrent(dual_fsm=False, **RULE)
    with pytest.raises(sim.UnsupportedFeatureError, match="TimingDependenceRecurrent"):
        sim.STDPMechanism(timing_dependence=timing,
                          weight_dependence=sim.AdditiveWeightDependence())
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[[1.0]]))
    cell = sim.Population(1, sim.IF_curr_exp())
    projection = sim.Projection(source, cell, sim.AllToAllConnector(), sim.STDPMechanism(
        timing_dependence=timing, weight_dependence=sim.MultiplicativeWeightDependence()))
    assert projection.get("mean_post_window", format="list", with_address=False) == [25.0]
    sim.end()


def _learned(per_core: int | None, pre_times, teacher_times, dual_fsm: bool = False
             ) -> tuple[np.ndarray, list, bool]:
    """Weights of a one-to-one RecurrentRule projection, post spikes, and whether the
    backend says the slicing changed the post population's draws."""
    sim.setup(timestep=1.0, rng_seed=1)
    if per_core is not None:
        sim.set_number_of_neurons_per_core(sim.IF_curr_exp, per_core)
    pre, post = taught_cells(pre_times, teacher_times, SUMMED)
    rule = sim.STDPMechanism(
        timing_dependence=sim.TimingDependenceRecurrent(dual_fsm=dual_fsm, **RULE),
        weight_dependence=sim.MultiplicativeWeightDependence(w_min=0.0, w_max=W_MAX),
        weight=W0, delay=1.0)
    plastic = sim.Projection(pre, post, sim.OneToOneConnector(), rule)
    post.record("spikes")
    sim.run(FINAL + 10.0)
    got = np.diag(plastic.get("weight", format="array"))
    posts = [[round(float(t)) for t in train.magnitude]
             for train in post.get_data("spikes").segments[-1].spiketrains]
    changed = sim.repro_slicing_changes_draws(post)
    sim.end()
    return got, posts, changed


def test_recurrent_generators_follow_the_scripts_cores():
    """set_number_of_neurons_per_core(IF_curr_exp, 20) on 60 post neurons: three cores,
    each with its own generator at the fixed seed, so three identical blocks of 20
    pairings learn the same weights, each as one core computes it by hand; on sPyNNaker's
    default (one core of 60) one generator serves all 60 synapses and the blocks differ."""
    pre_all, teacher_all = _layout()
    block = [*range(10), *range(N_LAGS, N_LAGS + 10)]
    pre_times = [pre_all[i] for i in block] * 3
    teacher_times = [teacher_all[i] for i in block] * 3
    shift = left_shift(SUMMED)
    quantum = 2.0 ** (shift - 15)
    pre_ticks = [[round(t) for t in p] for p in pre_times]
    sliced, posts, changed = _learned(20, pre_times, teacher_times)
    assert changed  # what the dialect's note on set_number_of_neurons_per_core says
    want = np.array(_by_hand(False, pre_ticks[:20], posts[:20], 1, round(W0 / quantum),
                             shift)) * quantum
    np.testing.assert_array_equal(sliced, np.tile(want, 3))
    default, posts, changed = _learned(None, pre_times, teacher_times)
    assert not changed
    np.testing.assert_array_equal(default, np.array(_by_hand(
        False, pre_ticks, posts, 1, round(W0 / quantum), shift)) * quantum)
    assert not np.array_equal(default[:20], default[20:40])
