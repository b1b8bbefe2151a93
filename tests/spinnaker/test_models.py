"""New emulator models against the C sources' arithmetic, step by step in raw fixed point.

Every expected trace is computed here from docs/spinnaker-numerics-models.md with the
independent helpers of :mod:`tests.spinnaker.rawfixed`; recorded V (S16.15) is compared
bit for bit (V * 2**15 is an exact integer).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyNN.parameters import Sequence

import repro.spinnaker.pynn_backend as sim
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

ONE = 32768
SUMMED = 3.0  # max_expected_summed_weight: pins the ring-buffer shift L = 2


def _raw_v(population) -> np.ndarray:
    signal = population.get_data("v").segments[-1].analogsignals[0]
    return np.rint(np.asarray(signal.magnitude) * ONE).astype(np.int64)


def _one_input(cell, dt: float, weight: float, t_spike: float, duration: float,
               summed: float = SUMMED, **record):
    """Two neurons (PyNN's OneToOne needs two); neuron 0 gets one spike at t_spike."""
    sim.setup(timestep=dt, rng_seed=1)
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[t_spike], []]))
    pop = sim.Population(2, cell, additional_parameters={
        "max_expected_summed_weight": [summed, summed]})
    sim.Projection(src, pop, sim.FromListConnector([(0, 0, weight, 1.0)]), sim.StaticSynapse())
    pop.record(["v", "spikes"])
    sim.run(duration)
    return pop


def _lif(v, current, r, v_rest, exp_tc):
    alpha = wrap(mulk(current, r) + v_rest)
    return wrap(alpha - mulk(exp_tc, wrap(alpha - v)))


@pytest.mark.parametrize("dt", [1.0, 0.1])
def test_if_curr_delta_trace_is_bit_exact(dt):
    """Delta input: the cell's W << L is multiplied by kdivk(1.0, dt) for one step."""
    w, t_spike = 2.0, 5.0
    pop = _one_input(sim.IF_curr_delta(tau_m=20.0, cm=1.0, v_rest=-65.0, v_thresh=-50.0),
                     dt, w, t_spike, 20.0)
    ts = s1615(dt)
    shift = left_shift(SUMMED)
    cell_w = round(w * 2 ** (15 - shift))
    arrival = round(t_spike / dt) + round(1.0 / dt)
    r, exp_tc = kdivk(s1615(20.0), s1615(1.0)), expk(-kdivk(ts, s1615(20.0)))
    scale = kdivk(ONE, ts)
    v, expected = s1615(-65.0), []
    for tick in range(round(20.0 / dt)):
        expected.append(v)
        inp = (cell_w << shift) if tick == arrival else 0
        v = _lif(v, mulk(inp, scale), r, s1615(-65.0), exp_tc)
    assert _raw_v(pop)[:, 0].tolist() == expected
    # ~ w R (1 - exp(-dt/tau)) / dt; 1 - exp_TC has 15 bits (0.26 % low at 0.1 ms).
    jump = (expected[arrival + 1] - expected[arrival]) / ONE
    assert jump == pytest.approx(w * (20.0 / dt) * (1 - math.exp(-dt / 20.0)), rel=3e-3)


@pytest.mark.parametrize(("dt", "tau_syn"), [(1.0, 5.0), (0.1, 2.0)])
def test_if_curr_alpha_trace_is_bit_exact(dt, tau_syn):
    """Alpha shaping: lin * exp buffers, q kept, dt/tau**2 through a U0.32 (fraction)."""
    w, t_spike, duration = 1.0, 3.0, 40.0
    pop = _one_input(sim.IF_curr_alpha(tau_m=20.0, cm=1.0, v_rest=-65.0, v_thresh=-50.0,
                                       tau_syn_E=tau_syn, tau_syn_I=tau_syn),
                     dt, w, t_spike, duration)
    ts, tau = s1615(dt), s1615(tau_syn)
    shift = left_shift(SUMMED)
    decay = expulr(-kdivk(ts, tau))
    dtt2 = kdivk(ts, mulk(tau, tau)) & 0x7FFF
    r, exp_tc = kdivk(s1615(20.0), s1615(1.0)), expk(-kdivk(ts, s1615(20.0)))
    arrival = round(t_spike / dt) + round(1.0 / dt)
    v, lin, ex, q, expected = s1615(-65.0), 0, 0, 0, []
    for tick in range(round(duration / dt)):
        if tick == arrival:
            q = round(w * 2 ** (15 - shift)) << shift
            ex = wrap(decay_s1615(ex, decay) + ONE)
            lin = mulk(wrap(lin + mulk(q, dtt2)), wrap(ONE - kdivk(ONE, ex)))
        expected.append(v)
        v = _lif(v, mulk(lin, ex), r, s1615(-65.0), exp_tc)
        lin, ex = wrap(lin + mulk(q, dtt2)), decay_s1615(ex, decay)
    recorded = _raw_v(pop)[:, 0]
    assert recorded.tolist() == expected
    # The response integrates to q: peak PSP near R * q * dt... it is a real PSP.
    assert recorded.max() > s1615(-65.0) + ONE // 4


def test_if_curr_alpha_with_whole_dt_over_tau_squared_loses_its_input():
    """dt = 1 ms, tau_syn = 0.5 ms: dt/tau**2 = 4.0 keeps only its fraction (0): on SpiNNaker
    the synaptic input vanishes; the emulator reproduces it and says so."""
    pop = _one_input(sim.IF_curr_alpha(tau_syn_E=0.5, tau_syn_I=0.5), 1.0, 5.0, 3.0, 20.0)
    assert np.all(_raw_v(pop)[:, 0] == s1615(-65.0))
    assert any("alpha" in note for note in sim.repro_hardware_provenance()["notes"])


def _izh_step(v, u, a, b, h, current):
    magic = 1311
    pre = wrap((140 << 15) + current - u)
    alpha = wrap(pre + mulk(wrap((5 << 15) + mulk(magic, v)), v))
    eta = wrap(v + (mulk(h, alpha) >> 1))
    beta = mulk(mulk(h, wrap(mulk(b, v) - u)), a) >> 1
    v_new = wrap(v + mulk(h, wrap(pre - beta + mulk(wrap((5 << 15) + mulk(magic, eta)), eta))))
    u_new = wrap(u + mulk(mulk(a, h), wrap(-u - beta + mulk(b, eta))))
    return v_new, u_new


@pytest.mark.parametrize("dt", [1.0, 0.1])
def test_izhikevich_with_a_dc_step_is_bit_exact(dt):
    """RK2 midpoint, threshold 30 mV, reset c / u + d, one step of 1.85 h after a spike;
    the DCSource switches on at int(start * steps_per_ms)."""
    a, b, c, d, i_dc, start, stop, duration = 0.02, 0.2, -65.0, 8.0, 10.0, 20.37, 80.0, 100.0
    sim.setup(timestep=dt, rng_seed=1)
    pop = sim.Population(2, sim.Izhikevich(a=a, b=b, c=c, d=d, i_offset=0.0))
    sim.DCSource(amplitude=i_dc, start=start, stop=stop).inject_into(pop[0:1])
    pop.record(["v", "spikes"])
    sim.run(duration)
    steps_per_ms = 1000 / round(dt * 1000)
    on, off = int(start * steps_per_ms), int(stop * steps_per_ms)
    h0 = s1615(dt)
    v, u, h = s1615(-70.0), s1615(-14.0), h0
    expected, spikes = [], []
    for tick in range(round(duration / dt)):
        expected.append(v)
        current = s1615(i_dc) if on <= tick < off else 0
        v, u = _izh_step(v, u, s1615(a), s1615(b), h, current)
        h = h0
        if v >= s1615(30.0):
            v, u, h = s1615(c), wrap(u + s1615(d)), mulk(h0, 60620)
            spikes.append(tick)
    assert _raw_v(pop)[:, 0].tolist() == expected
    recorded = pop.get_data("spikes").segments[-1].spiketrains
    assert np.rint(recorded[0].magnitude / dt).astype(int).tolist() == spikes
    assert len(spikes) >= 2 and recorded[1].size == 0


def test_izhikevich_conductance_input_is_bit_exact():
    """IZK_cond_exp: exponential conductance (g * 1024, init wraps as in errata 8), the
    current g (E_rev - V) at the start of the step; L from M * 1024."""
    dt, w, t_spike, duration, tau = 1.0, 0.05, 5.0, 40.0, 5.0
    pop = _one_input(sim.IZK_cond_exp(tau_syn_E=tau, tau_syn_I=tau, e_rev_E=0.0),
                     dt, w, t_spike, duration)
    ts, tau_raw = s1615(dt), s1615(tau)
    shift = left_shift(SUMMED * 1024)
    decay = expulr(-kdivk(ts, tau_raw))
    init = ((kdivk(tau_raw, ts) * (0xFFFFFFFF - decay)) >> 15) & 0xFFFFFFFF
    arrival = round(t_spike / dt) + 1
    v, u, value, expected = s1615(-70.0), s1615(-14.0), 0, []
    for tick in range(round(duration / dt)):
        if tick == arrival:
            value = wrap(value + decay_s1615(round(w * 2 ** (15 - shift) * 1024) << shift,
                                             init))
        expected.append(v)
        current = mulk(value >> 10, wrap(s1615(0.0) - v))
        v, u = _izh_step(v, u, s1615(0.02), s1615(0.2), ts, current)
        assert v < s1615(30.0)
        value = decay_s1615(value, decay)
    recorded = _raw_v(pop)[:, 0]
    assert recorded.tolist() == expected
    assert recorded.max() > recorded[arrival]  # the input depolarised the cell


def test_step_current_source_takes_one_step_per_call_and_tick():
    """Two step times in one tick: neuron 0 takes the first in that tick, neuron 1 (the
    second call) the next; a source on one neuron only takes the second a tick later."""
    sim.setup(timestep=0.1, rng_seed=1)
    cell = sim.IF_curr_exp(tau_m=20.0, cm=1.0, v_rest=-65.0, v_thresh=100.0)
    pair = sim.Population(2, cell)
    single = sim.Population(2, cell)
    sim.StepCurrentSource(times=[1.0, 1.05, 3.0], amplitudes=[0.4, 0.8, 0.0]).inject_into(pair)
    sim.StepCurrentSource(times=[1.0, 1.05, 3.0], amplitudes=[0.4, 0.8, 0.0]).inject_into(
        single[0:1])
    pair.record("v")
    single.record("v")
    sim.run(5.0)
    ts = s1615(0.1)
    r, exp_tc = kdivk(s1615(20.0), s1615(1.0)), expk(-kdivk(ts, s1615(20.0)))

    def trace(amplitude_at):
        v, out = s1615(-65.0), []
        for tick in range(50):
            out.append(v)
            v = _lif(v, s1615(amplitude_at(tick)), r, s1615(-65.0), exp_tc)
        return out

    # times -> ticks int(t * 10): [10, 10, 30]
    first = trace(lambda t: 0.4 if 10 <= t < 11 else 0.8 if 11 <= t < 30 else 0.0)
    second = trace(lambda t: 0.8 if 10 <= t < 30 else 0.0)
    recorded = _raw_v(pair)
    assert recorded[:, 0].tolist() == first
    assert recorded[:, 1].tolist() == second
    assert _raw_v(single)[:, 0].tolist() == first


def test_ac_source_uses_ticks_and_an_s1615_sine():
    """ACSource: offset + amplitude * sin((t - start) * 2 pi f / 1000 + phase), t in ticks."""
    dt, amp, offset, freq, phase, start, stop = 1.0, 0.5, 0.1, 50.0, 90.0, 10.0, 60.0
    sim.setup(timestep=dt, rng_seed=1)
    pop = sim.Population(2, sim.IF_curr_exp(v_thresh=100.0))
    sim.ACSource(amplitude=amp, offset=offset, frequency=freq, phase=phase, start=start,
                 stop=stop).inject_into(pop)
    pop.record("v")
    sim.run(80.0)
    ts = s1615(dt)
    r, exp_tc = kdivk(s1615(20.0), s1615(1.0)), expk(-kdivk(ts, s1615(20.0)))
    f_raw, p_raw = s1615(freq * 2 * math.pi / 1000.0), s1615(phase * math.pi / 180.0)
    v, expected = s1615(-65.0), []
    for tick in range(80):
        expected.append(v)
        current = 0
        if 10 <= tick < 60:
            angle = wrap(mulk(wrap((tick << 15) - (10 << 15)), f_raw) + p_raw)
            current = wrap(s1615(offset) + mulk(s1615(amp), round(math.sin(angle / ONE) * ONE)))
        v = _lif(v, current, r, s1615(-65.0), exp_tc)
    assert _raw_v(pop)[:, 0].tolist() == expected


def test_dc_source_without_stop_never_switches_on_as_in_spynnaker():
    sim.setup(timestep=1.0, rng_seed=1)
    pop = sim.Population(2, sim.IF_curr_exp())
    sim.DCSource(amplitude=1.0, start=5.0).inject_into(pop)
    pop.record("v")
    sim.run(20.0)
    assert np.all(_raw_v(pop) == s1615(-65.0))
    assert any("DCSource" in n and "never" in n
               for n in sim.repro_hardware_provenance()["notes"])


def test_noisy_current_source_draws_per_neuron_and_tick():
    """Mean + stdev * z with a fresh z per neuron and tick: neurons diverge; the mean
    depolarisation follows the mean current (R * mean = 10 mV at steady state)."""
    sim.setup(timestep=1.0, rng_seed=4)
    pop = sim.Population(200, sim.IF_curr_exp(v_thresh=100.0))
    sim.NoisyCurrentSource(mean=0.5, stdev=0.5, start=0.0, stop=500.0, dt=1.0).inject_into(pop)
    pop.record("v")
    sim.run(300.0)
    v = _raw_v(pop) / ONE
    late = v[150:].mean()
    assert late == pytest.approx(-65.0 + 20.0 * 0.5, abs=0.1)
    assert v[-1].std() > 0.1
    with pytest.raises(ValueError, match="dt"):
        sim.setup(timestep=0.1, rng_seed=1)
        other = sim.Population(2, sim.IF_curr_exp())
        sim.NoisyCurrentSource(mean=0.5, stdev=0.1, stop=10.0, dt=1.0).inject_into(other)
        sim.run(1.0)


def test_gsyn_of_current_models_is_the_synaptic_input_in_na():
    pop = _one_input(sim.IF_curr_exp(tau_syn_E=5.0), 1.0, 1.0, 5.0, 20.0)
    pop.record("gsyn_exc")
    sim.reset()
    sim.run(20.0)
    gsyn = pop.get_data("gsyn_exc").segments[-1].analogsignals[0].magnitude[:, 0]
    # Sent at tick 5, delay 1: transferred at the start of tick 6, recorded after it.
    assert gsyn[:6].max() == 0.0
    assert gsyn[6] == pytest.approx(1.0 * 0.9062665, abs=1e-4)  # w * init (spec §4.1)


def test_poisson_rate_change_between_runs_and_max_rate():
    """sPyNNaker reloads changed rates between runs; max_rate is accepted (errata 10: it
    does not change the ring-buffer shift for Poisson sources)."""
    sim.setup(timestep=1.0, rng_seed=3)
    src = sim.Population(400, sim.SpikeSourcePoisson(rate=10.0),
                         additional_parameters={"max_rate": 100.0})
    src.record("spikes")
    sim.run(1000.0)
    src.set(rate=50.0)
    sim.run(1000.0)
    trains = src.get_data("spikes").segments[-1].spiketrains
    times = np.concatenate([t.magnitude for t in trains])
    first, second = (times < 1000).sum() / 400, (times >= 1000).sum() / 400
    # 400 sources x 1 s: Poisson SD of the mean count is sqrt(rate / 400) (0.16, 0.35).
    assert first == pytest.approx(10.0, abs=5 * math.sqrt(10.0 / 400))
    assert second == pytest.approx(50.0, abs=5 * math.sqrt(50.0 / 400))
    with pytest.raises(RuntimeError, match="reset"):
        sim.Population(2, sim.IF_curr_exp())


def test_spike_times_changed_between_runs_are_sent_from_the_current_tick():
    """sPyNNaker reloads a SpikeSourceArray's spike_times between runs (PyNN's
    update_spike_source_array example does it from a run() callback); times before the
    current tick are never sent."""
    sim.setup(timestep=1.0)
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[5.0, 15.0], [8.0]]))
    cell = sim.Population(1, sim.IF_curr_exp())
    sim.Projection(src, cell, sim.AllToAllConnector(), sim.StaticSynapse(weight=5.0))
    src.record("spikes")
    cell.record("gsyn_exc")
    sim.run(20.0)
    src.set(spike_times=[Sequence([3.0, 20.0, 31.5]), Sequence([])])
    sim.run(20.0)
    block = src.get_data("spikes")
    assert [list(t.magnitude) for t in block.segments[-1].spiketrains] == [
        [5.0, 15.0, 20.0, 32.0], [8.0]]
    gsyn = cell.get_data("gsyn_exc").segments[-1].analogsignals[0].magnitude[:, 0]
    assert gsyn[21] > 0.0 and gsyn[33] > gsyn[32]  # the new spikes reach the cell
    with pytest.raises(RuntimeError, match="reset"):
        cell.set(tau_m=10.0)


def test_hardware_only_features_are_refused_with_the_script_line():
    with pytest.raises(sim.UnsupportedFeatureError,
                       match=r"external_devices.activate_live_output_for \(at .*test_models.py"):
        sim.external_devices.activate_live_output_for("population")
