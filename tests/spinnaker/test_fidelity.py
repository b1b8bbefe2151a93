"""Fidelity of the emulator against closed forms and against NEST (spinnaker-numerics.md §8)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import repro.spinnaker.pynn_backend as emu

LSB = 2.0 ** -15


def _first_spike(population) -> float:
    train = population.get_data("spikes").segments[-1].spiketrains[0]
    return float(train.magnitude[0])


def _relay_chain(sim, delay: float) -> tuple[float, float]:
    """Source spike at 10 ms -> neuron A -> neuron B, strong synapses; first spike of A and B."""
    # Two of each: PyNN's OneToOneConnector fails on single-cell populations.
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[10.0]))
    cell = sim.IF_curr_exp(tau_refrac=2.0)
    a = sim.Population(2, cell)
    b = sim.Population(2, cell)
    sim.Projection(src, a, sim.OneToOneConnector(), sim.StaticSynapse(weight=40.0, delay=1.0))
    sim.Projection(a, b, sim.OneToOneConnector(), sim.StaticSynapse(weight=40.0, delay=delay))
    a.record("spikes")
    b.record("spikes")
    sim.run(40.0)
    return _first_spike(a), _first_spike(b)


@pytest.mark.parametrize("delay", [1.0, 3.0])
def test_neuron_to_neuron_transmission_is_one_step_earlier_than_nest(delay):
    import pyNN.nest as nest_sim

    emu.setup(timestep=1.0, rng_seed=1)
    emu_a, emu_b = _relay_chain(emu, delay)
    nest_sim.setup(timestep=1.0, min_delay=1.0, rng_seed=1, spike_precision="on_grid")
    nest_a, nest_b = _relay_chain(nest_sim, delay)
    nest_sim.end()
    # SpiNNaker stamps the crossing detected in tick t as t, NEST as t + dt ...
    assert nest_a - emu_a == 1.0
    # ... and delivers at stamp + d, so the relay A -> B takes d on SpiNNaker, d + dt in NEST.
    assert emu_b - emu_a == delay
    assert nest_b - nest_a == delay + 1.0


def _constant_current_trace(timestep: float, current: float, duration: float, **params):
    emu.setup(timestep=timestep, rng_seed=1)
    cell = emu.IF_curr_exp(tau_m=20.0, cm=1.0, v_rest=-65.0, i_offset=current, **params)
    pop = emu.Population(1, cell, initial_values={"v": -65.0})
    pop.record(["v", "spikes"])
    emu.run(duration)
    signal = pop.get_data("v").segments[-1].analogsignals[0]
    return pop, np.asarray(signal.magnitude)[:, 0], np.asarray(signal.times.magnitude)


@pytest.mark.parametrize(("timestep", "exp_tc_raw"), [(1.0, 31170), (0.1, 32605)])
def test_membrane_under_constant_current_matches_the_closed_form(timestep, exp_tc_raw):
    """V(t) = V_rest + R I (1 - exp(-t/tau)) up to the quantisation of exp_TC and the floors."""
    current, r_m, tau = 0.5, 20.0, 20.0
    _, v, times = _constant_current_trace(timestep, current, 200.0, v_thresh=0.0)
    exact = -65.0 + r_m * current * (1.0 - np.exp(-times / tau))
    steps = np.rint(times / timestep)
    quantised = -65.0 + r_m * current * (1.0 - (exp_tc_raw / 32768.0) ** steps)
    floor_drift = LSB / (1.0 - exp_tc_raw / 32768.0)
    # Floors only ever shrink the distance to the asymptote: V sits at or above the
    # trajectory of the quantised decay factor, by at most the accumulated floors.
    assert np.all(v - quantised >= -1e-12)
    assert np.all(v - quantised <= floor_drift + 1e-12)
    bound = np.max(np.abs(quantised - exact)) + floor_drift
    assert np.max(np.abs(v - exact)) <= bound
    assert bound < (2e-3 if timestep == 1.0 else 0.05)


def test_first_spike_under_constant_current_is_stamped_at_the_start_of_the_step():
    current, r_m, tau, theta = 1.0, 20.0, 20.0, 15.0
    pop, _, _ = _constant_current_trace(1.0, current, 60.0, v_thresh=-50.0, tau_refrac=2.0)
    crossing = -tau * math.log(1.0 - theta / (r_m * current))  # 27.73 ms
    assert _first_spike(pop) == math.ceil(crossing) - 1.0


def test_weight_below_half_an_lsb_is_lost_and_counted():
    emu.setup(timestep=1.0, rng_seed=1)
    src = emu.Population(2, emu.SpikeSourceArray(spike_times=[5.0]))
    post = emu.Population(1, emu.IF_curr_exp())
    emu.Projection(src, post, emu.FromListConnector([(0, 0, 1.0, 1.0), (1, 0, 1e-5, 1.0)]),
                   emu.StaticSynapse())
    emu.run(10.0)
    (projection,) = emu.repro_hardware_provenance()["projections"]
    assert projection["weights_rounded_to_zero"] == 1
    assert projection["generated"] == "on host"


def test_conductance_ring_buffer_saturates_and_is_counted():
    """§5 pitfall: 100 coincident 0.01 uS inputs saturate an IF_cond_exp ring-buffer cell."""
    emu.setup(timestep=1.0, rng_seed=1)
    src = emu.Population(100, emu.SpikeSourceArray(spike_times=[5.0]))
    post = emu.Population(1, emu.IF_cond_exp())
    emu.Projection(src, post, emu.AllToAllConnector(), emu.StaticSynapse(weight=0.01, delay=1.0))
    post.record("gsyn_exc")
    emu.run(10.0)
    gsyn = post.get_data("gsyn_exc").segments[-1].analogsignals[0].magnitude[:, 0]
    provenance = emu.repro_hardware_provenance()
    assert provenance["populations"][1]["ring_buffer_left_shift"]["excitatory"] == 4
    # Errata 7: every addition reaching 0x10000 counts; W = 20992, so additions 4..100 do.
    assert provenance["projections"][0]["ring_buffer_saturations"] == 97
    cap = 0xFFFF * 2.0 ** (4 - 15) / 1024  # 0.031 uS instead of 100 * 0.01 uS
    assert gsyn.max() == pytest.approx(cap * 0.9062665, rel=1e-3)
    assert int(np.argmax(gsyn)) == 6  # sent in tick 5, delay 1: in the state of tick 6


def test_same_seed_gives_nest_and_the_emulator_the_same_connections():
    import pyNN.nest as nest_sim

    def build(sim):
        rng = sim.NumpyRNG(seed=7)
        a = sim.Population(30, sim.IF_curr_exp())
        b = sim.Population(20, sim.IF_curr_exp())
        a.initialize(v=sim.RandomDistribution("uniform", (-65.0, -55.0), rng=rng))
        weights = sim.RandomDistribution("normal_clipped", (0.5, 0.05, 0.0, 5.0), rng=rng)
        delays = sim.RandomDistribution("uniform", (1.0, 3.0), rng=rng)
        prj = sim.Projection(a, b, sim.FixedProbabilityConnector(0.2, rng=rng),
                             sim.StaticSynapse(weight=weights, delay=delays))
        return prj.get(["weight", "delay"], format="array"), np.asarray(a.get("tau_m"))

    emu.setup(timestep=0.1, rng_seed=1)
    (emu_w, emu_d), _ = build(emu)
    nest_sim.setup(timestep=0.1, rng_seed=1)
    (nest_w, nest_d), _ = build(nest_sim)
    nest_sim.end()
    assert np.array_equal(np.isnan(emu_w), np.isnan(nest_w))
    connected = ~np.isnan(emu_w)
    assert connected.sum() > 50
    np.testing.assert_allclose(emu_w[connected], nest_w[connected], rtol=1e-12)
    np.testing.assert_allclose(emu_d[connected], nest_d[connected], atol=0.05 + 1e-9)


def test_weights_above_the_planned_maximum_wrap_around():
    """With max_expected_summed_weight too small, W keeps only its low 16 bits (no clipping)."""
    emu.setup(timestep=1.0, rng_seed=1)
    src = emu.Population(2, emu.SpikeSourceArray(spike_times=[5.0]))
    post = emu.Population(2, emu.IF_curr_exp(), additional_parameters={
        "max_expected_summed_weight": [0.1, 0.1]})  # L = 0: one LSB is 2**-15 nA
    emu.Projection(src, post, emu.OneToOneConnector(), emu.StaticSynapse(weight=3.0, delay=1.0))
    post.record("v")
    emu.run(10.0)
    provenance = emu.repro_hardware_provenance()
    assert provenance["populations"][1]["ring_buffer_left_shift"]["excitatory"] == 0
    assert provenance["projections"][0]["weights_wrapped"] == 2
    # 3.0 nA -> W = 98304 -> 32768 in 16 bits: the synapse acts as 1.0 nA.
    v = post.get_data("v").segments[-1].analogsignals[0].magnitude[:, 0]
    emu.setup(timestep=1.0, rng_seed=1)
    src = emu.Population(2, emu.SpikeSourceArray(spike_times=[5.0]))
    ref = emu.Population(2, emu.IF_curr_exp(), additional_parameters={
        "max_expected_summed_weight": [0.1, 0.1]})
    emu.Projection(src, ref, emu.OneToOneConnector(), emu.StaticSynapse(weight=0.99, delay=1.0))
    ref.record("v")
    emu.run(10.0)
    v_ref = ref.get_data("v").segments[-1].analogsignals[0].magnitude[:, 0]
    assert v[-1] - v[0] == pytest.approx((v_ref[-1] - v_ref[0]) / 0.99, rel=1e-3)
