"""Model constants against the worked examples of spinnaker-numerics.md (§3-§7 and errata)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from repro.spinnaker import lif, shifts, synapses
from repro.spinnaker.shifts import ProjectionEstimate
from repro.spinnaker.sources import spike_ticks
from repro.spinnaker.timing import Timing


def _lif(tau_m, cm, dt, tau_refrac=2.0):
    params = {"v_rest": [-65.0], "cm": [cm], "tau_m": [tau_m], "i_offset": [0.0],
              "v_reset": [-65.0], "tau_refrac": [tau_refrac], "v_thresh": [-50.0]}
    return lif.lif_constants({k: np.array(v) for k, v in params.items()}, dt)


@pytest.mark.parametrize(("tau_m", "cm", "dt", "exp_tc", "r_membrane"), [
    (20.0, 1.0, 1.0, 31170, 20.0),
    (10.0, 0.25, 0.1, 32442, 40.0),
    (20.0, 1.0, 0.1, 32605, 20.0),
])
def test_membrane_decay_factor_and_resistance(tau_m, cm, dt, exp_tc, r_membrane):
    c = _lif(tau_m, cm, dt)
    assert int(c.exp_tc[0]) == exp_tc
    assert c.r_membrane[0] / 32768 == r_membrane


@pytest.mark.parametrize(("tau_m", "dt", "tau_eff"), [(20.0, 1.0, 20.0015), (10.0, 0.1, 10.0015)])
def test_effective_membrane_time_constant(tau_m, dt, tau_eff):
    """Errata 3: the effective tau_m implied by the quantised exp_TC."""
    c = _lif(tau_m, 1.0, dt)
    assert -dt / math.log(c.exp_tc[0] / 32768) == pytest.approx(tau_eff, abs=5e-5)


@pytest.mark.parametrize(("tau_refrac", "dt", "steps"), [(2.0, 0.1, 20), (0.1, 1.0, 1),
                                                         (2.0, 1.0, 2)])
def test_refractory_steps(tau_refrac, dt, steps):
    assert int(_lif(20.0, 1.0, dt, tau_refrac).refract_steps[0]) == steps


@pytest.mark.parametrize(("tau", "dt", "decay", "init"), [
    (5.0, 1.0, 0.8187467, 0.9062665),
    (0.5, 0.1, 0.8187217, 0.9063361),
    (5.0, 0.1, 0.9802105, 0.9894126),
])
def test_synaptic_decay_and_init(tau, dt, decay, init):
    c = synapses.synapse_constants(np.array([tau]), dt)
    assert c.decay[0] / 2 ** 32 == pytest.approx(decay, abs=5e-8)
    assert c.init[0] / 2 ** 32 == pytest.approx(init, abs=5e-8)


def test_weight_shift_worked_example_current():
    """100 inputs of 0.1 nA, constant delay, 30 Hz, dt = 1 ms: L = 4, W = 205."""
    est = [ProjectionEstimate(0, 100, 0.1, 0.0, 0.1, 0.0)]
    summed = shifts.max_summed_weights(est, 1, 1.0)
    assert summed[0] == pytest.approx(10.0)
    shift = shifts.left_shift(summed[0])
    assert shift == 4
    scale = shifts.weight_scale(shift, 1)
    assert scale == 2048
    w = synapses.host_weight_integers(np.array([0.1]), scale)[0]
    assert w == 205
    assert w * 2.0 ** (shift - 15) == pytest.approx(0.10009766, abs=1e-8)


def test_conductance_shift_ignores_fan_in():
    """7.4.1 pitfall: 100 all-to-all 0.01 uS gives L = 4 for IF_cond_exp, L = 1 for curr."""
    est = [ProjectionEstimate(0, 100, 0.01, 0.0, 0.01, 0.0)]
    cond = shifts.left_shift(shifts.max_summed_weights(est, 1024, 1.0)[0])
    curr = shifts.left_shift(shifts.max_summed_weights(est, 1, 1.0)[0])
    assert (cond, curr) == (4, 1)
    assert shifts.weight_scale(cond, 1024) == 2 ** 21
    assert synapses.host_weight_integers(np.array([0.01]), 2 ** 21)[0] == 20972
    assert synapses.host_weight_integers(np.array([0.01]), shifts.weight_scale(1, 1))[0] == 164


def test_on_machine_weights_are_s1615_first():
    """Errata 6: the expander rounds 0.01 uS to S16.15 first, giving 20992."""
    raw = np.array([328])  # s1615(0.01)
    assert synapses.machine_weight_integers(raw, 4, 1024)[0] == 20992


def test_weight_below_half_an_lsb_is_lost():
    scale = shifts.weight_scale(8, 1)  # LSB 2**-7 nA
    weights = synapses.host_weight_integers(np.array([0.0039, 0.0040]), scale)
    assert list(weights) == [0, 1]


def test_shift_adds_a_bit_when_the_maximum_is_a_power_of_two():
    assert shifts.left_shift(8.0) == 4
    assert shifts.left_shift(7.9) == 3
    assert shifts.left_shift(0.0) == 0


@pytest.mark.parametrize(("delay", "steps"), [(0.3, 2), (0.9, 8), (1.3, 12), (0.1, 1),
                                              (0.7, 7), (1.2, 12)])
def test_on_machine_delays_truncate(delay, steps):
    raw = np.array([round(delay * 32768)])
    assert synapses.machine_delay_steps(raw, Timing.from_ms(0.1).steps_per_ms)[0] == steps


def test_host_delays_round_to_nearest_even():
    steps = synapses.host_delay_steps(np.array([0.3, 0.9, 1.25, 1.35]), 10.0)
    assert list(steps) == [3, 9, 12, 14]


def test_spike_source_array_ticks_round_up():
    """Errata 5: T = 1.05 ms at dt = 0.1 ms is sent in tick 11."""
    assert list(spike_ticks(np.array([1.05, 1.0, 0.0]), Timing.from_ms(0.1))) == [11, 10, 0]


def test_timestep_is_whole_microseconds():
    assert Timing.from_ms(0.1).timestep_us == 100
    assert Timing.from_ms(0.1001).timestep_us == 101


def test_membrane_resistance_and_refractory_count_wrap_with_a_warning():
    """Errata 9: R >= 65536 MOhm and tau_refrac/dt >= 65536 wrap as on the chip."""
    params = {"v_rest": [-65.0], "cm": [0.001], "tau_m": [100.0], "i_offset": [0.0],
              "v_reset": [-65.0], "tau_refrac": [7000.0], "v_thresh": [-50.0]}
    with pytest.warns(RuntimeWarning, match="wraps"):
        c = lif.lif_constants({k: np.array(v) for k, v in params.items()}, 0.1)
    r_true = (3276800 << 15) // 33  # 100 ms / s1615(0.001) = 33 raw
    assert c.r_membrane[0] == r_true - (1 << 32) < 0
    refract_true = ((7000 * 32768) << 15) // 3277
    assert refract_true >= 1 << 31
    wrapped = refract_true - (1 << 32)
    assert c.refract_steps[0] == (wrapped >> 15) + bool(wrapped & 0x7FFF) < 0
    assert len(c.notes) == 2
