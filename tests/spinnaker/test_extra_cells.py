"""IFCondExpStoc and IF_curr_exp_sEMD on the emulator against the 7.4.1 binaries' arithmetic.

Single-neuron traces in raw fixed point, computed step by step here from
docs/spinnaker-numerics-models.md §15-16 with :mod:`tests.spinnaker.rawfixed` and an
independent statement of spinn_common's ``mars_kiss64_simp`` (its fixed seeds), and the
stochastic threshold's firing bound for given V computed by hand.
"""

from __future__ import annotations

import numpy as np

import repro.spinnaker.pynn_backend as sim
from repro.site.dialect import ScriptDialect
from repro.site.portability import NoteBook
from repro.spinnaker.maass import MaassStochasticThreshold
from tests.spinnaker.rawfixed import (
    decay_s1615,
    expi64,
    expulr,
    kdivk,
    left_shift,
    mulk,
    s1615,
    wrap,
)

ONE = 32768
SUMMED = 4.0
SATURATION = 26214  # 0.8k


def _expk(n: int) -> int:
    """expk with the library's flush to 0 below -10.397 (and saturation above 11.09)."""
    if n < -340695:
        return 0
    return 0x7FFFFFFF if n > 363408 else expi64(n) >> 17


def _kiss_simp():
    """mars_kiss64_simp from its file-static seeds, one word per call."""
    x, y, z, c = 123456789, 987654321, 43219876, 6543217
    while True:
        x = (314527869 * x + 1234567) % 2 ** 32
        y ^= (y << 5) % 2 ** 32
        y ^= y >> 7
        y ^= (y << 22) % 2 ** 32
        t = 4294584393 * z + c
        c, z = t >> 32, t % 2 ** 32
        yield (x + y + z) % 2 ** 32


def _bound(v: int, v_thresh: float, du_th: float, tau_th: float, dt: float) -> int:
    """threshold_type_maass_stochastic.h as the binary computes it: fire if >= draw15."""
    exponent = mulk(wrap(v - s1615(v_thresh)), kdivk(ONE, s1615(du_th)))
    if exponent >= 5 * ONE:
        return SATURATION
    rate = mulk(kdivk(ONE, s1615(tau_th)), kdivk(s1615(dt), 10 * ONE))
    growth = _expk(mulk(rate, _expk(exponent)))
    return mulk(ONE - growth, SATURATION) & 0x7FFFFFFF


def _raw(population, name: str) -> np.ndarray:
    signal = population.get_data(name).segments[-1].filter(name=name)[0]
    return np.rint(np.asarray(signal.magnitude) * ONE).astype(np.int64).T


def _spike_ticks(population, dt: float) -> list[list[int]]:
    trains = population.get_data("spikes").segments[-1].spiketrains
    return [np.rint(t.magnitude / dt).astype(int).tolist() for t in trains]


def test_maass_firing_bound_by_hand():
    """du_th = 0.5 mV, tau_th = 20 ms, dt = 1 ms: rate = mulk(1/20, 1/10) = 163 raw. Below
    about v_thresh - 2.54 mV expk(...) stays 1.0 and the bound is 0 (fires only on draws
    0, 1: p = 2**-15); above it 1 - expk(>0) is negative and, bit 31 cleared, >= 2**30
    (fires surely); from v_thresh + 2.5 mV on (exponent >= 5) the bound is 0.8k."""
    threshold = MaassStochasticThreshold(
        {"du_th": np.full(9, 0.5), "tau_th": np.full(9, 20.0), "v_thresh": np.full(9, -50.0)},
        1.0)
    offsets = [-30.0, -2.6, -2.55, -2.5, -1.0, 0.0, 2.49, 2.5, 9.0]
    v = np.array([s1615(-50.0 + d) for d in offsets], dtype=np.int64)
    want = [_bound(int(x), -50.0, 0.5, 20.0, 1.0) for x in v]
    assert threshold.result(v).tolist() == want
    assert want[:2] == [0, 0] and all(b >= 2 ** 30 for b in want[3:7])
    assert want[7:] == [SATURATION, SATURATION]
    p_fire = [min(b + 1, ONE) / ONE for b in want]
    assert p_fire[0] == 2 ** -15 and p_fire[4] == 1.0 and abs(p_fire[8] - 0.8) < 1e-4


def test_if_cond_exp_stoc_trace_is_bit_exact():
    """Conductance LIF + Maass threshold: neuron 0 driven by a DC step and two synaptic
    inputs, neuron 1 at rest; both draw from one core's stream every tick (refractory
    too), neuron 0 first. V, gsyn_exc and spike ticks equal the computation by hand."""
    dt, duration, dc, on, off = 1.0, 120, 2.0, 5, 90
    du = [0.05, 2.0]
    inputs = {"excitatory": (10.0, 0.05), "inhibitory": (50.0, 0.1)}
    sim.setup(timestep=dt, rng_seed=1)
    pop = sim.Population(2, sim.IF_cond_exp_stoc(
        tau_m=20.0, cm=1.0, v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0, tau_refrac=2.0,
        tau_syn_E=5.0, tau_syn_I=5.0, e_rev_E=0.0, e_rev_I=-70.0, du_th=du, tau_th=20.0),
        additional_parameters={"max_expected_summed_weight": [SUMMED, SUMMED]})
    for receptor, (t, w) in inputs.items():
        one = sim.Population(2, sim.SpikeSourceArray(spike_times=[[t], []]))
        sim.Projection(one, pop, sim.FromListConnector([(0, 0, w, 1.0)]), sim.StaticSynapse(),
                       receptor_type=receptor)
    sim.DCSource(amplitude=dc, start=on, stop=off).inject_into(pop[0:1])
    pop.record(["v", "gsyn_exc", "spikes"])
    sim.run(duration)

    ts, shift = s1615(dt), left_shift(SUMMED * 1024)
    decay = expulr(-kdivk(ts, s1615(5.0)))
    init = ((kdivk(s1615(5.0), ts) * (0xFFFFFFFF - decay)) >> 15) & 0xFFFFFFFF
    r, exp_tc = kdivk(s1615(20.0), s1615(1.0)), expk_tc(ts)
    stream = _kiss_simp()
    v, refract = [s1615(-65.0)] * 2, [0, 0]
    g = {"excitatory": 0, "inhibitory": 0}
    want_v, want_g, spikes = [[], []], [], [[], []]
    saturated_misses = 0
    for tick in range(duration):
        for receptor, (t, w) in inputs.items():
            if tick == round(t) + 1:
                g[receptor] = wrap(g[receptor] + decay_s1615(
                    round(w * 2 ** (15 - shift) * 1024) << shift, init))
        want_g.append(g["excitatory"] >> 10)
        for n in (0, 1):
            want_v[n].append(v[n])
            exc = mulk(g["excitatory"] >> 10, wrap(0 - v[n])) if n == 0 else 0
            inh = mulk(-(g["inhibitory"] >> 10), wrap(s1615(-70.0) - v[n])) if n == 0 else 0
            if refract[n] <= 0:
                current = wrap(exc - inh + (s1615(dc) if n == 0 and on <= tick < off else 0))
                alpha = wrap(mulk(current, r) + s1615(-65.0))
                v[n] = wrap(alpha - mulk(exp_tc, wrap(alpha - v[n])))
            else:
                refract[n] -= 1
        for n in (0, 1):
            bound = _bound(v[n], -50.0, du[n], 20.0, dt)
            if bound >= (next(stream) & 0xFFFF) >> 1:
                v[n], refract[n] = s1615(-65.0), 2
                spikes[n].append(tick)
            elif bound == SATURATION:
                saturated_misses += 1
        for receptor in g:
            g[receptor] = decay_s1615(g[receptor], decay)
    assert _raw(pop, "v").tolist() == want_v
    assert _raw(pop, "gsyn_exc")[0].tolist() == want_g
    assert _spike_ticks(pop, dt) == spikes
    assert len(spikes[0]) >= 5 and saturated_misses >= 1 and max(want_g) > 0


def expk_tc(ts: int) -> int:
    """exp(-dt/tau_m) for tau_m = 20 ms."""
    return _expk(-kdivk(ts, s1615(20.0)))


def test_if_curr_exp_sem_d_trace_is_bit_exact():
    """sEMD: the excitatory current is mulk(mulk(exc2, scaling_factor), multiplicator);
    multiplicator latches exc when exc2 >= 32 raw while it and exc2_old are 0, and drops
    to 0 once exc2 < 32 raw. A second trigger while exc2 still decays (exc2_old != 0)
    gives no response; a third after exc2 reached 0 latches again."""
    dt, duration, scaling = 1.0, 160, 20.0
    taus = {"tau_syn_E": 30.0, "tau_syn_E2": 3.0, "tau_syn_I": 8.0}
    inputs = [("excitatory", 4.0, 0.8), ("excitatory2", 20.0, 0.5),
              ("excitatory2", 43.0, 0.5), ("excitatory2", 110.0, 0.5),
              ("inhibitory", 30.0, 0.4)]
    sim.setup(timestep=dt, rng_seed=1)
    pop = sim.Population(1, sim.IF_curr_exp_sEMD(
        tau_m=10.0, cm=0.25, v_rest=-60.0, v_reset=-70.0, v_thresh=-50.0, tau_refrac=1.0,
        scaling_factor=scaling, **taus),
        additional_parameters={"max_expected_summed_weight": [SUMMED] * 3})
    for receptor, t, w in inputs:
        one = sim.Population(1, sim.SpikeSourceArray(spike_times=[t]))
        sim.Projection(one, pop, sim.FromListConnector([(0, 0, w, 1.0)]), sim.StaticSynapse(),
                       receptor_type=receptor)
    pop.initialize(v=-60.0)
    pop.record(["v", "gsyn_exc", "gsyn_inh", "spikes"])
    sim.run(duration)

    ts, shift = s1615(dt), left_shift(SUMMED)
    tau_of = dict(zip(("excitatory", "excitatory2", "inhibitory"), taus.values(), strict=True))
    decay = {k: expulr(-kdivk(ts, s1615(tau))) for k, tau in tau_of.items()}
    init = {k: ((kdivk(s1615(tau_of[k]), ts) * (0xFFFFFFFF - decay[k])) >> 15) & 0xFFFFFFFF
            for k in tau_of}
    r = kdivk(s1615(10.0), s1615(0.25))
    exp_tc = _expk(-kdivk(ts, s1615(10.0)))
    refract_steps = 1
    v, refract, mult, old = s1615(-60.0), 0, 0, 0
    syn = dict.fromkeys(tau_of, 0)
    want_v, want_exc, want_inh, spikes, latches = [], [], [], [], []
    for tick in range(duration):
        for receptor, t, w in inputs:
            if tick == round(t) + 1:
                syn[receptor] = wrap(syn[receptor] + decay_s1615(
                    round(w * 2 ** (15 - shift)) << shift, init[receptor]))
        exc2 = syn["excitatory2"]
        if exc2 < 32:
            mult = 0
        elif mult == 0 and old == 0:
            mult = syn["excitatory"]
            latches.append(tick)
        old = exc2
        current_exc = mulk(mulk(exc2, s1615(scaling)), mult)
        want_v.append(v)
        want_exc.append(current_exc)
        want_inh.append(syn["inhibitory"])
        if refract <= 0:
            alpha = wrap(mulk(wrap(current_exc - syn["inhibitory"]), r) + s1615(-60.0))
            v = wrap(alpha - mulk(exp_tc, wrap(alpha - v)))
        else:
            refract -= 1
        if v >= s1615(-50.0):
            v, refract = s1615(-70.0), refract_steps
            spikes.append(tick)
        for receptor in syn:
            syn[receptor] = decay_s1615(syn[receptor], decay[receptor])
    assert _raw(pop, "v")[0].tolist() == want_v
    assert _raw(pop, "gsyn_exc")[0].tolist() == want_exc
    assert _raw(pop, "gsyn_inh")[0].tolist() == want_inh
    assert _spike_ticks(pop, dt) == [spikes]
    assert latches == [21, 111]  # at 43 ms exc2 was 5 raw: exc2_old != 0
    assert want_exc[44] == 0 and want_exc[21] > 0 and want_exc[111] > 0 and spikes


TICKS = 12


def _stoc_run(per_core: int | None) -> tuple[list[list[int]], list]:
    """300 IFCondExpStoc neurons held at V = v_rest = v_reset = -50 mV, 10 mV above
    v_thresh (exponent 20k >= 5k: bound 0.8k every tick, no refractory period), through
    the dialect shim as a script sees it; spike ticks and portability notes."""
    book = NoteBook()
    script = ScriptDialect(sim, 1, 1, {}, book).shim
    script.setup(timestep=1.0)
    if per_core is not None:
        script.set_number_of_neurons_per_core(script.extra_models.IFCondExpStoc, per_core)
    pop = script.Population(300, script.extra_models.IFCondExpStoc(
        v_rest=-50.0, v_reset=-50.0, v_thresh=-60.0, du_th=0.5, tau_th=20.0, tau_refrac=0.0))
    pop.initialize(v=-50.0)
    pop.record("spikes")
    script.run(TICKS)
    return _spike_ticks(pop, 1.0), book.notes


def _pattern(cores: list[int]) -> list[list[int]]:
    """Spike ticks of neurons sliced into ``cores``: each core one mars_kiss64_simp stream
    from the fixed seeds, one draw per neuron per tick in neuron order; fire iff
    0.8k >= (draw & 0xFFFF) >> 1."""
    assert _bound(s1615(-50.0), -60.0, 0.5, 20.0, 1.0) == SATURATION
    spikes: list[list[int]] = []
    for size in cores:
        stream = _kiss_simp()
        draws = [[next(stream) for _ in range(size)] for _ in range(TICKS)]
        spikes += [[t for t in range(TICKS) if (draws[t][n] & 0xFFFF) >> 1 <= SATURATION]
                   for n in range(size)]
    return spikes


def test_stochastic_threshold_streams_follow_the_scripts_cores():
    """set_number_of_neurons_per_core(IFCondExpStoc, 100) on 300 neurons: three cores, three
    streams of 100 draws a tick (sPyNNaker's slices of exactly n); without it sPyNNaker's
    256 (slices of 256 and 44). The note says the call changes numbers there."""
    sliced, notes = _stoc_run(100)
    default, default_notes = _stoc_run(None)
    assert sliced == _pattern([100, 100, 100])
    assert default == _pattern([256, 44])
    assert sliced != default and sliced[:100] == sliced[100:200] == sliced[200:]
    (note,) = [n for n in notes if n.feature == "set_number_of_neurons_per_core()"]
    assert (note.action, note.numerical_effect) == ("translated", True)
    assert not any("neurons_per_core" in n.feature for n in default_notes)
    _, wide = _stoc_run(300)  # capped at 256: the default slicing, no numerical effect
    (note,) = [n for n in wide if n.feature == "set_number_of_neurons_per_core()"]
    assert (note.action, note.numerical_effect) == ("ignored", False)
