"""The new emulator models next to NEST's iaf_psc_alpha, iaf_psc_delta and izhikevich.

The differences are the documented ones (docs/spinnaker-numerics-models.md): sPyNNaker's
alpha PSC integrates to the weight (q t/tau**2 e^(-t/tau)), NEST's peaks at it (charge
w e tau), so NEST gets w / (e tau); SpiNNaker's delta input acts through the membrane
step (a jump of w (tau/dt)(1 - e^(-dt/tau)), one step later than NEST's immediate jump);
Izhikevich integrates with RK2 midpoint on SpiNNaker, with Izhikevich's split Euler step
in NEST. Each test states its measured deviation bound.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import repro.spinnaker.pynn_backend as emu

T_SPIKE, DURATION = 10.0, 80.0


def _nest_trace(model: str, params: dict, dt: float, weight: float, current_pa: float = 0.0,
                duration: float = DURATION, start: float = 0.0):
    import nest

    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.resolution = dt
    cell = nest.Create(model, params=params)
    if weight:
        gen = nest.Create("spike_generator", params={"spike_times": [T_SPIKE]})
        nest.Connect(gen, cell, syn_spec={"weight": weight, "delay": 1.0})
    if current_pa:
        dc = nest.Create("dc_generator", params={"amplitude": current_pa, "start": start})
        nest.Connect(dc, cell)
    meter = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": dt})
    nest.Connect(meter, cell)
    spikes = nest.Create("spike_recorder")
    nest.Connect(cell, spikes)
    nest.Simulate(duration + dt)
    events = meter.get("events")
    order = np.argsort(events["times"])
    return (np.asarray(events["times"])[order], np.asarray(events["V_m"])[order],
            np.asarray(spikes.get("events")["times"]))


def _emu_trace(cell, dt: float, weight: float, duration: float = DURATION, dc=None):
    emu.setup(timestep=dt, rng_seed=1)
    src = emu.Population(2, emu.SpikeSourceArray(spike_times=[T_SPIKE]))
    pop = emu.Population(2, cell)
    if weight:
        emu.Projection(src, pop, emu.OneToOneConnector(),
                       emu.StaticSynapse(weight=weight, delay=1.0))
    if dc is not None:
        emu.DCSource(amplitude=dc[0], start=dc[1], stop=duration + 1.0).inject_into(pop)
    pop.record(["v", "spikes"])
    emu.run(duration)
    seg = pop.get_data().segments[-1]
    v = np.asarray(seg.filter(name="v")[0].magnitude)[:, 0]
    return v, np.asarray(seg.spiketrains[0].magnitude)


def _on_nest_grid(times, values, dt, n):
    """NEST's V at t = k dt (k = 0..n-1; V(0) is the initial value)."""
    out = np.full(n, values[0])
    index = np.rint(times / dt).astype(int)
    keep = index < n
    out[index[keep]] = values[keep]
    return out


LIF = {"tau_m": 20.0, "v_rest": -65.0, "v_reset": -65.0, "v_thresh": -50.0, "cm": 1.0}
NEST_LIF = {"tau_m": 20.0, "E_L": -65.0, "V_reset": -65.0, "V_th": -50.0, "C_m": 1000.0,
            "V_m": -65.0}


@pytest.mark.parametrize(("dt", "bound_mv"), [(1.0, 0.04), (0.1, 0.012)])
def test_alpha_psp_matches_nest_with_the_charge_convention(dt, bound_mv):
    """A 1 nA alpha input (tau 5 ms): peak PSP ~0.55 mV; measured max |dV| 0.035 mV at
    1 ms (one-step later onset and step-average current), 0.0086 mV at 0.1 ms."""
    tau = 5.0
    v_emu, _ = _emu_trace(emu.IF_curr_alpha(tau_syn_E=tau, **LIF), dt, 1.0)
    times, v, _ = _nest_trace("iaf_psc_alpha", {**NEST_LIF, "tau_syn_ex": tau}, dt,
                              1000.0 / (math.e * tau))
    v_nest = _on_nest_grid(times, v, dt, v_emu.size)
    deviation = np.max(np.abs(v_emu - v_nest))
    assert deviation <= bound_mv
    assert np.max(v_emu) + 65.0 == pytest.approx(np.max(v_nest) + 65.0, rel=0.02)


@pytest.mark.parametrize("dt", [1.0, 0.1])
def test_delta_jump_matches_nest_one_step_later(dt):
    """A 2 mV delta input: SpiNNaker's jump is w (tau/dt)(1 - exp_TC) (2.5 % short at 1 ms,
    0.5 % at 0.1 ms) and lands one step after NEST's; after that both decay alike."""
    v_emu, _ = _emu_trace(emu.IF_curr_delta(**LIF), dt, 2.0)
    times, v, _ = _nest_trace("iaf_psc_delta", NEST_LIF, dt, 2.0)
    v_nest = _on_nest_grid(times, v, dt, v_emu.size)
    shifted = v_nest[:-1]  # NEST one step earlier
    deviation = np.max(np.abs(v_emu[1:] - shifted))
    # jump shortfall w dt / (2 tau) plus the 15-bit exp_TC: 2**-15 / (dt / tau) relative
    # (measured: 0.049 mV at 1 ms, 0.0103 mV at 0.1 ms)
    assert deviation <= 2.0 * (dt / (2 * 20.0) + 2.0 ** -15 / (dt / 20.0)) * 1.1
    arrival = round((T_SPIKE + 1.0) / dt)
    assert v_nest[arrival] > -65.0 + 1.9 and v_emu[arrival] == -65.0
    assert v_emu[arrival + 1] > -65.0 + 1.9


@pytest.mark.parametrize(("dt", "first_ms", "isi_ms"), [(1.0, 3.5, 3.5), (0.1, 1.5, 1.0)])
def test_izhikevich_spike_times_match_nest_within_the_integration_difference(
        dt, first_ms, isi_ms):
    """Regular spiking (a=0.02, b=0.2, c=-65, d=8) under a 10 (mV/ms) step from 20 ms.
    Measured: first spike 23.4 vs 24.7 ms at 0.1 ms (23 vs 26 at 1 ms), then inter-spike
    intervals within 0.8 ms (0.1 ms) and 3 ms (1 ms): RK2 midpoint with the 1.85 h step
    after a spike against NEST's forward Euler. sPyNNaker adds i_offset to dv/dt unscaled
    (NEST's I_e is in pA: 10 here, i.e. i_offset = 0.01 nA in PyNN-on-NEST terms)."""
    params = {"a": 0.02, "b": 0.2, "c": -65.0, "d": 8.0}
    _, s_emu = _emu_trace(emu.Izhikevich(**params), dt, 0.0, duration=200.0, dc=(10.0, 20.0))
    _, _, s_nest = _nest_trace("izhikevich", {**params, "V_m": -70.0, "U_m": -14.0},
                               dt, 0.0, current_pa=10.0, duration=200.0, start=20.0)
    n = min(s_emu.size, s_nest.size)
    assert n >= 4 and s_emu.size == s_nest.size
    assert abs(s_emu[0] - s_nest[0]) <= first_ms
    assert np.max(np.abs(np.diff(s_emu[:n]) - np.diff(s_nest[:n]))) <= isi_ms
