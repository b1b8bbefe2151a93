"""The PyNN backend: the PyNN API surface the reference network and classic scripts use."""

from __future__ import annotations

import numpy as np
import pytest

import repro.spinnaker.pynn_backend as sim
from repro.spinnaker.pynn_backend import UnsupportedFeatureError


@pytest.fixture(autouse=True)
def fresh_simulation():
    sim.setup(timestep=1.0, rng_seed=3)
    yield


def _driven(n: int = 20, rate: float = 2000.0):
    drive = sim.Population(n, sim.SpikeSourcePoisson(rate=rate), label="drive")
    cells = sim.Population(n, sim.IF_curr_exp(), label="cells")
    sim.Projection(drive, cells, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=1.0, delay=1.0))
    return drive, cells


def test_default_timestep_is_one_millisecond():
    sim.setup()
    assert sim.get_time_step() == 1.0


def test_run_advances_time_and_get_data_returns_neo_spiketrains():
    _, cells = _driven()
    cells.record("spikes")
    assert sim.run(100.0) == pytest.approx(100.0)
    assert sim.get_current_time() == pytest.approx(100.0)
    segment = cells.get_data("spikes").segments[-1]
    assert len(segment.spiketrains) == 20
    times = np.concatenate([st.magnitude for st in segment.spiketrains])
    assert times.size > 0
    assert np.allclose(times, np.round(times))  # stamped on the 1 ms grid
    assert float(segment.spiketrains[0].t_stop) == pytest.approx(100.0)


def test_runs_are_reproducible_for_a_seed_and_differ_between_seeds():
    def spikes(seed):
        sim.setup(timestep=1.0, rng_seed=seed)
        _, cells = _driven()
        cells.record("spikes")
        sim.run(200.0)
        return [st.magnitude.tolist() for st in cells.get_data("spikes").segments[-1].spiketrains]

    assert spikes(5) == spikes(5)
    assert spikes(5) != spikes(6)


def test_run_in_pieces_equals_one_run():
    def spikes(pieces):
        sim.setup(timestep=1.0, rng_seed=9)
        _, cells = _driven()
        cells.record("spikes")
        for piece in pieces:
            sim.run(piece)
        return [st.magnitude.tolist() for st in cells.get_data("spikes").segments[-1].spiketrains]

    assert spikes([150.0]) == spikes([50.0, 100.0])


def test_population_view_as_presynaptic_population():
    drive = sim.Population(30, sim.SpikeSourcePoisson(rate=3000.0))
    cells = sim.Population(10, sim.IF_curr_exp())
    sim.Projection(drive[20:], cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=1.0))
    cells.record("spikes")
    sim.run(100.0)
    provenance = sim.repro_hardware_provenance()
    assert provenance["projections"][0]["connections"] == 10
    assert cells.get_spike_counts()  # driven cells fire


def test_assembly_target_splits_into_populations():
    src = sim.Population(4, sim.SpikeSourceArray(spike_times=[1.0, 2.0]))
    a = sim.Population(3, sim.IF_curr_exp(), label="a")
    b = sim.Population(2, sim.IF_curr_exp(), label="b")
    sim.Projection(src, sim.Assembly(a, b), sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.5, delay=1.0), receptor_type="excitatory")
    sim.run(10.0)
    posts = sorted(p["post"] for p in sim.repro_hardware_provenance()["projections"])
    assert posts == ["a", "b"]


def test_record_v_samples_before_each_update():
    cells = sim.Population(3, sim.IF_curr_exp(), initial_values={"v": -60.0})
    cells.record("v")
    sim.run(5.0)
    signal = cells.get_data("v").segments[-1].analogsignals[0]
    assert signal.shape == (5, 3)
    assert np.allclose(signal.magnitude[0], -60.0)


def test_reset_starts_again_from_the_initial_state():
    _, cells = _driven()
    cells.record("spikes")
    sim.run(50.0)
    sim.reset()
    assert sim.get_current_time() == 0.0
    sim.run(50.0)
    block = cells.get_data("spikes")
    assert len(block.segments) == 2


def test_initialize_with_random_distribution_is_drawn_once():
    rng = sim.NumpyRNG(seed=11)
    cells = sim.Population(50, sim.IF_curr_exp())
    cells.initialize(v=sim.RandomDistribution("uniform", (-65.0, -55.0), rng=rng))
    first = cells.initial_array("v").copy()
    assert np.all((first >= -65.0) & (first <= -55.0)) and np.unique(first).size == 50
    cells.record("v")
    sim.run(1.0)
    v0 = cells.get_data("v").segments[-1].analogsignals[0].magnitude[0]
    np.testing.assert_allclose(v0, first, atol=2.0 ** -15)


def test_simulator_info_says_it_is_an_emulation():
    info = sim.repro_simulator_info()
    assert info["name"] == "sPyNNaker-emulator"
    assert info["emulation"] is True
    assert info["emulates"] == "sPyNNaker 7.4.1"
    assert info["timestep_ms"] == 1.0 and info["rng_seed"] == 3


def test_seed_from_entropy_is_reported():
    sim.setup(timestep=1.0)
    info = sim.repro_simulator_info()
    assert info["rng_seed_from_entropy"] is True and isinstance(info["rng_seed"], int)


def test_seeded_rngs_are_noted_and_can_be_refused_as_spynnaker_does():
    rng = sim.NumpyRNG(seed=1)
    _, cells = _driven()
    cells.initialize(v=sim.RandomDistribution("uniform", (-65.0, -55.0), rng=rng))
    sim.run(1.0)
    assert "error_on_non_spynnaker_pynn" in sim.repro_hardware_provenance()["notes"][0]
    sim.setup(timestep=1.0, rng_seed=1, error_on_non_spynnaker_pynn=True)
    cells = sim.Population(5, sim.IF_curr_exp())
    cells.initialize(v=sim.RandomDistribution("uniform", (-65.0, -55.0), rng=rng))
    with pytest.raises(RuntimeError, match="seeded RNGs"):
        sim.run(1.0)


@pytest.mark.parametrize("name", ["IF_cond_alpha", "EIF_cond_exp_isfa_ista", "HH_cond_exp"])
def test_unsupported_cell_types_are_named(name):
    with pytest.raises(UnsupportedFeatureError, match=name):
        getattr(sim, name)()


def test_unsupported_synapse_connector_and_receptor_are_named():
    a = sim.Population(5, sim.IF_curr_exp())
    with pytest.raises(UnsupportedFeatureError, match="TsodyksMarkramSynapse"):
        sim.TsodyksMarkramSynapse(U=0.5)
    with pytest.raises(UnsupportedFeatureError, match="FixedNumberPostConnector"):
        from pyNN.connectors import FixedNumberPostConnector

        sim.Projection(a, a, FixedNumberPostConnector(2), sim.StaticSynapse())
    with pytest.raises(UnsupportedFeatureError, match="GutigWeightDependence"):
        sim.GutigWeightDependence()


def test_unsupported_setup_option_is_named():
    with pytest.raises(TypeError, match="spike_precision"):
        sim.setup(timestep=1.0, spike_precision="off_grid")


def test_network_changes_after_run_need_a_reset():
    _, cells = _driven()
    sim.run(10.0)
    with pytest.raises(RuntimeError, match="reset"):
        sim.Population(2, sim.IF_curr_exp())
    sim.reset()
    sim.Population(2, sim.IF_curr_exp())


def test_gsyn_is_recordable_for_every_neuron_model_as_on_spinnaker():
    """sPyNNaker records gsyn_exc/gsyn_inh for current models too (the input in nA)."""
    for cell in (sim.IF_cond_exp(), sim.IF_curr_exp(), sim.IF_curr_alpha(),
                 sim.IF_curr_delta(), sim.Izhikevich()):
        sim.Population(2, cell).record(["v", "gsyn_exc", "gsyn_inh"])
    with pytest.raises(Exception, match="u"):
        sim.Population(2, sim.Izhikevich()).record("u")
