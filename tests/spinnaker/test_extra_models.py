"""sPyNNaker's extra models on the emulator against the C sources' arithmetic.

IF_curr_dual_exp (three receptors and a current step) and IF_curr_exp_ca2_adaptive (a DC
step and an input spike): single-neuron traces in raw fixed point, computed step by step
with :mod:`tests.spinnaker.rawfixed`. PfisterSpikeTriplet with
WeightDependenceAdditiveTriplet, and Vogels2011Rule: weight changes of pre/post pairings
at +-1..+-50 ms (and of triplets), against the rule computed here by hand from
docs/spinnaker-numerics-models.md: the host's tables, 16-bit trace products and the
deferred update at each pre spike.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import repro.spinnaker.pynn_backend as sim
from repro.site.dialect_cells import spinnaker_get_data
from tests.spinnaker.rawfixed import (
    decay_s1615,
    expk,
    expulr,
    kdivk,
    left_shift,
    mulk,
    s1615,
    wrap,
)
from tests.spinnaker.teacher import taught_cells

ONE = 32768
SUMMED = 4.0  # max_expected_summed_weight -> L = 3 for every receptor


def _raw(population, name: str) -> np.ndarray:
    signal = population.get_data(name).segments[-1].filter(name=name)[0]
    return np.rint(np.asarray(signal.magnitude)[:, 0] * ONE).astype(np.int64)


@pytest.mark.parametrize("dt", [1.0, 0.1])
def test_if_curr_dual_exp_trace_is_bit_exact(dt):
    """Three exponential receptors (excitatory, excitatory2, inhibitory) with their own
    decay/init and ring-buffer rows; gsyn_exc records exc + exc2, the membrane takes
    exc + exc2 - inh + I_offset + the DCSource step."""
    taus = {"tau_syn_E": 2.0, "tau_syn_E2": 15.0, "tau_syn_I": 6.0}
    spikes = {"excitatory": (3.0, 0.8), "excitatory2": (5.0, 0.5), "inhibitory": (9.0, -0.6)}
    dc, start, stop, duration = 0.3, 12.3, 25.0, 30.0
    sim.setup(timestep=dt, rng_seed=1)
    pop = sim.Population(2, sim.IF_curr_dual_exp(tau_m=20.0, cm=1.0, v_rest=-65.0,
                                                 v_thresh=-40.0, **taus),
                         additional_parameters={"max_expected_summed_weight": [SUMMED] * 3})
    for receptor, (t_spike, w) in spikes.items():  # one source and spike per receptor
        one = sim.Population(2, sim.SpikeSourceArray(spike_times=[[t_spike], []]))
        sim.Projection(one, pop, sim.FromListConnector([(0, 0, w, 1.0)]), sim.StaticSynapse(),
                       receptor_type=receptor)
    sim.DCSource(amplitude=dc, start=start, stop=stop).inject_into(pop[0:1])
    pop.record(["v", "gsyn_exc", "gsyn_inh"])
    sim.run(duration)

    ts, shift = s1615(dt), left_shift(SUMMED)
    decay, init = {}, {}
    for name, tau in taus.items():
        decay[name] = expulr(-kdivk(ts, s1615(tau)))
        # (tau/dt) * (1 - decay) as a U0.32: the product >> 15, low 32 bits
        init[name] = ((kdivk(s1615(tau), ts) * (0xFFFFFFFF - decay[name])) >> 15) & 0xFFFFFFFF
    arrival = {receptor: round(t / dt) + round(1.0 / dt) for receptor, (t, _) in spikes.items()}
    cells = {receptor: round(abs(w) * 2 ** (15 - shift)) << shift
             for receptor, (_, w) in spikes.items()}
    tau_of = dict(zip(spikes, taus, strict=True))
    steps_per_ms = 1000 / round(dt * 1000)
    on, off = int(start * steps_per_ms), int(stop * steps_per_ms)
    r, exp_tc = kdivk(s1615(20.0), s1615(1.0)), expk(-kdivk(ts, s1615(20.0)))
    v, state = s1615(-65.0), dict.fromkeys(spikes, 0)
    want_v, want_exc, want_inh = [], [], []
    for tick in range(round(duration / dt)):
        for receptor in spikes:
            if tick == arrival[receptor]:
                state[receptor] = wrap(state[receptor] + decay_s1615(
                    cells[receptor], init[tau_of[receptor]]))
        exc = wrap(state["excitatory"] + state["excitatory2"])
        want_v.append(v)
        want_exc.append(exc)
        want_inh.append(state["inhibitory"])
        current = wrap(exc - state["inhibitory"] + (s1615(dc) if on <= tick < off else 0))
        alpha = wrap(mulk(current, r) + s1615(-65.0))
        v = wrap(alpha - mulk(exp_tc, wrap(alpha - v)))
        for receptor in spikes:
            state[receptor] = decay_s1615(state[receptor], decay[tau_of[receptor]])
    assert _raw(pop, "v").tolist() == want_v
    assert _raw(pop, "gsyn_exc").tolist() == want_exc
    assert _raw(pop, "gsyn_inh").tolist() == want_inh
    assert max(want_exc) > 0 and max(want_inh) > 0 and want_v[-1] != want_v[0]


def test_if_curr_exp_ca2_adaptive_trace_is_bit_exact():
    """Ca2 adaptation: i_ca2 = mulk(i_ca2, expk(-dt/tau_ca2)) every tick (refractory too),
    subtracted from the input (external_bias); each spike adds i_alpha. Driven by a DC step
    and one input spike; the interspike intervals grow."""
    dt, dc, start, stop, duration = 1.0, 2.0, 5.0, 120.0, 130.0
    tau_ca2, i_alpha, w, t_spike = 50.0, 0.4, 1.5, 40.0
    sim.setup(timestep=dt, rng_seed=1)
    pop = sim.Population(2, sim.IF_curr_exp_ca2_adaptive(
        tau_m=20.0, cm=1.0, v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0, tau_refrac=2.0,
        tau_syn_E=5.0, tau_ca2=tau_ca2, i_alpha=i_alpha),
        additional_parameters={"max_expected_summed_weight": [SUMMED, SUMMED]})
    one = sim.Population(2, sim.SpikeSourceArray(spike_times=[[t_spike], []]))
    sim.Projection(one, pop, sim.FromListConnector([(0, 0, w, 1.0)]), sim.StaticSynapse())
    sim.DCSource(amplitude=dc, start=start, stop=stop).inject_into(pop[0:1])
    pop.record(["v", "spikes"])
    sim.run(duration)

    ts, shift = s1615(dt), left_shift(SUMMED)
    decay = expulr(-kdivk(ts, s1615(5.0)))
    init = ((kdivk(s1615(5.0), ts) * (0xFFFFFFFF - decay)) >> 15) & 0xFFFFFFFF
    exp_ca2 = expk(-kdivk(ts, s1615(tau_ca2)))
    r, exp_tc = kdivk(s1615(20.0), s1615(1.0)), expk(-kdivk(ts, s1615(20.0)))
    v, syn, ca, refract, want, spikes = s1615(-65.0), 0, 0, 0, [], []
    for tick in range(round(duration / dt)):
        if tick == round(t_spike) + 1:
            syn = wrap(syn + decay_s1615((round(w * 2 ** (15 - shift)) << shift), init))
        want.append(v)
        ca = mulk(ca, exp_ca2)
        if refract <= 0:
            current = wrap(syn - ca + (s1615(dc) if start <= tick < stop else 0))
            alpha = wrap(mulk(current, r) + s1615(-65.0))
            v = wrap(alpha - mulk(exp_tc, wrap(alpha - v)))
        else:
            refract -= 1
        if v >= s1615(-50.0):
            v, refract, ca = s1615(-65.0), 2, wrap(ca + s1615(i_alpha))
            spikes.append(tick)
        syn = decay_s1615(syn, decay)
    assert _raw(pop, "v").tolist() == want
    recorded = pop.get_data("spikes").segments[-1].spiketrains[0]
    assert np.rint(recorded.magnitude / dt).astype(int).tolist() == spikes
    intervals = np.diff(spikes)
    assert len(spikes) >= 5 and intervals[-1] > intervals[0]
    rows = spinnaker_get_data(pop, "spikes")  # sPyNNaker's numpy form: (index, time) rows
    assert rows[:, 1].tolist() == [float(t) for t in spikes] and set(rows[:, 0]) == {0.0}


# --- STDP: the rules by hand -------------------------------------------------------------

def _lut(tau: float, k: int, shift: int = 0) -> int:
    """Host table entry k: floor(exp(-(k << shift) dt / tau) * 2048), 0 past its even size."""
    size = math.log(2048) * tau / (1 << shift)
    size = (int(size // 2) + (size % 2 > 0)) * 2
    return math.floor(math.exp(-(k << shift) / tau) * 2048) if 0 <= k < size else 0


def _decay(tau: float, dt: int, shift: int = 0) -> int:
    return _lut(tau, (dt & 0xFFFFFFFF) >> shift, shift)


def _i16(x: int) -> int:
    return ((x + 2 ** 15) & 0xFFFF) - 2 ** 15


def _mul(a: int, b: int) -> int:
    return (_i16(a) * _i16(b)) >> 11


def _by_hand(rule: dict, pre: list[int], post: list[int], d: int, weight: int,
             shift: int) -> int:
    """The deferred update at every pre spike (ticks; dt = 1 ms), as the C code runs it:
    the row keeps the 16-bit W = state >> L between updates. Returns the final W."""
    kind = rule["kind"]
    history, o1, o2, last, spike = [], 0, 0, 0, 0
    for t in post:  # post traces, stored at every post spike
        decayed = _mul(o1, _decay(rule["tau_minus"], t - last))
        if kind == "triplet":
            o2 = (_mul(o2, _decay(rule["tau_y"], t - last, 2)) if spike == 0
                  else _mul(o2 + 2048, _decay(rule["tau_y"], t - spike, 2)))
            o2, spike = _i16(o2), t
        o1, last = _i16(decayed + 2048), t
        history.append((t, o1, o2))
    lp, r1, r2 = 0, 0, 0
    for t in pre:
        state = weight << shift
        new_r1 = _i16(_mul(r1, _decay(rule["tau_plus"], t - lp)) + 2048)
        new_r2 = 0
        if kind == "triplet" and lp != 0:
            new_r2 = _i16(_mul(r2 + 2048, _decay(rule["tau_x"], t - lp, 2)))
        begin, end = max(lp - d, 0), max(t - d, 0)
        for tp, _, p2 in history:
            if begin < tp <= end:  # potentiation by each post event in the window
                x = _mul(r1, _decay(rule["tau_plus"], tp + d - lp))
                state += (rule["a_plus"] * x) >> 11
                if kind == "triplet":
                    state += (rule["a3_plus"] * _mul(x, p2)) >> 11
                state = min(state, rule["w_max"])
        before = [h for h in history if h[0] <= end]
        if before:  # the pre spike against the last post event
            tp, p1, _ = before[-1]
            y = _mul(p1, _decay(rule["tau_minus"], t - tp - d))
            if kind == "triplet":
                state -= (rule["a_minus"] * y) >> 11
                state -= (rule["a3_minus"] * _mul(y, new_r2)) >> 11
                state = max(state, rule["w_min"])
            else:  # Vogels 2011: potentiation by the decayed trace minus alpha
                state = min(state + ((rule["a_plus"] * (y - rule["alpha"])) >> 11),
                            rule["w_max"])
        lp, r1, r2, weight = t, new_r1, new_r2, (state >> shift) & 0xFFFF
    return weight


def _pairings(n_pairs: int, final: float, extra: list[tuple[list, list]]):
    """Pre and teacher times: +1..+n (post after pre at 100), -1..-n (post at 102, pre after
    it), then the ``extra`` patterns; every pre train ends with ``final`` (deferred update)."""
    pre, teacher = [], []
    for k in range(1, n_pairs + 1):
        pre.append([100.0, final])
        teacher.append([97.0 + k])
    for k in range(1, n_pairs + 1):
        pre.append([103.0 + k, final])
        teacher.append([100.0])
    for pre_times, teacher_times in extra:
        pre.append([*pre_times, final])
        teacher.append(teacher_times)
    return pre, teacher


def _learn(timing, weight_dependence, pre_times, teacher_times, w0: float, receptor: str,
           duration: float):
    """Plastic one-to-one projection from spike sources onto cells driven by a teacher."""
    sim.setup(timestep=1.0, rng_seed=1)
    pre, post = taught_cells(pre_times, teacher_times, SUMMED)
    sign = -1.0 if receptor == "inhibitory" else 1.0  # PyNN's sign; read back unsigned
    rule = sim.STDPMechanism(timing_dependence=timing, weight_dependence=weight_dependence,
                             weight=sign * w0, delay=1.0)
    plastic = sim.Projection(pre, post, sim.OneToOneConnector(), rule, receptor_type=receptor)
    post.record("spikes")
    sim.run(duration)
    weights = np.diag(plastic.get("weight", format="array"))
    posts = [[round(float(t)) for t in train.magnitude]
             for train in post.get_data("spikes").segments[-1].spiketrains]
    return weights, posts


def _check(rule, weights, pre_times, posts, w0, n_pairs):
    shift = left_shift(SUMMED)
    quantum = 2.0 ** (shift - 15)
    start = round(w0 / quantum)
    want = [_by_hand(rule, [round(t) for t in pre], post, 1, start, shift) * quantum
            for pre, post in zip(pre_times, posts, strict=True)]
    lags = [post[0] + 1 - round(pre[0]) for pre, post in zip(pre_times, posts, strict=True)]
    assert sorted(lags[:n_pairs]) == list(range(1, n_pairs + 1))
    assert sorted(-lag for lag in lags[n_pairs:2 * n_pairs]) == list(range(1, n_pairs + 1))
    np.testing.assert_array_equal(weights, want)
    return np.asarray(want)


def test_pfister_triplet_rule_matches_the_fixed_point_tables():
    """Pairs at +-1..+-50 ms exercise A2+/A2-; post-post after a pre (o2 sampled before the
    second post) and pre-pre after a post (r2) exercise A3+ and A3-."""
    n, w0, final = 50, 0.5, 460.0  # final pre: past every tau_minus table (257 entries)
    triplets = [([100.0], [97.0 + k, 117.0 + k]) for k in (2, 6, 12)]  # pre, post, post
    triplets += [([103.0 + k, 110.0 + k], [100.0]) for k in (1, 4, 9)]  # post, pre, pre
    pre_times, teacher_times = _pairings(n, final, triplets)
    params = {"tau_plus": 16.8, "tau_minus": 33.7, "tau_x": 101.0, "tau_y": 114.0}
    amplitudes = {"A_plus": 0.02, "A_minus": 0.03, "A3_plus": 0.05, "A3_minus": 0.04}
    w_max = 2.0
    weights, posts = _learn(
        sim.PfisterSpikeTriplet(**params, A_plus=amplitudes["A_plus"],
                                A_minus=amplitudes["A_minus"]),
        sim.WeightDependenceAdditiveTriplet(w_min=0.0, w_max=w_max,
                                            A3_plus=amplitudes["A3_plus"],
                                            A3_minus=amplitudes["A3_minus"]),
        pre_times, teacher_times, w0, "excitatory", final + 10.0)
    assert [len(p) for p in posts[2 * n:]] == [2, 2, 2, 1, 1, 1]
    rule = {"kind": "triplet", **params, "w_min": 0, "w_max": s1615(w_max),
            **{key.lower(): s1615(a * w_max) for key, a in amplitudes.items()}}
    want = _check(rule, weights, pre_times, posts, w0, n)
    assert np.all(want[:n] > w0) and np.all(want[n:2 * n] < w0)
    pair_only = {**rule, "a3_plus": 0, "a3_minus": 0}
    shift = left_shift(SUMMED)
    quantum = 2.0 ** (shift - 15)
    for pre, post, got in zip(pre_times[2 * n:], posts[2 * n:], want[2 * n:], strict=True):
        without = _by_hand(pair_only, [round(t) for t in pre], post, 1, round(w0 / quantum),
                           shift) * quantum
        assert got != without  # the triplet terms changed the weight


def test_vogels_2011_rule_matches_the_fixed_point_tables():
    """Every post event in the window potentiates by the pre trace; each pre spike by the
    post trace minus alpha (depression where the trace is below alpha)."""
    n, w0, final, tau, alpha = 50, 0.5, 400.0, 20.0, 0.12
    pre_times, teacher_times = _pairings(n, final, [])
    weights, posts = _learn(sim.TimingDependenceVogels2011(alpha=alpha, tau=tau, A_plus=0.05),
                            sim.AdditiveWeightDependence(w_min=0.0, w_max=1.0),
                            pre_times, teacher_times, w0, "inhibitory", final + 10.0)
    rule = {"kind": "vogels", "tau_plus": tau, "tau_minus": tau, "a_plus": s1615(0.05),
            "w_max": s1615(1.0), "alpha": round(alpha * 2048)}
    want = _check(rule, weights, pre_times, posts, w0, n)
    # close pairs (|lag| < tau ln(1/alpha) ~ 42 ms) potentiate, distant ones depress
    assert want[0] > w0 and want[n] > w0 and want[n - 1] < w0 and want[2 * n - 1] < w0


def test_new_rules_refuse_other_weight_dependences():
    sim.setup(timestep=1.0)
    with pytest.raises(sim.UnsupportedFeatureError, match="TimingDependenceVogels2011"):
        sim.STDPMechanism(timing_dependence=sim.TimingDependenceVogels2011(alpha=0.1),
                          weight_dependence=sim.MultiplicativeWeightDependence())
    with pytest.raises(sim.UnsupportedFeatureError, match="PfisterSpikeTriplet"):
        sim.STDPMechanism(
            timing_dependence=sim.PfisterSpikeTriplet(20.0, 20.0, 100.0, 100.0, 0.01, 0.01),
            weight_dependence=sim.AdditiveWeightDependence())
