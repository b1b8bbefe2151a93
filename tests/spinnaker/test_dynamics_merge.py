"""The emulator merges the synapse dynamics of projections into one population as sPyNNaker
7.4.1 does (``PopulationVertex.synapse_dynamics``), and refuses what sPyNNaker refuses."""

from __future__ import annotations

import inspect

import pytest

import repro.spinnaker.pynn_backend as sim
from repro.spinnaker.pynn_backend.dynamics_merge import SynapticConfigurationError


def _here() -> str:
    """``file:line`` of the caller's next line (where the projection under test is made)."""
    frame = inspect.currentframe().f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno + 1}"


def _pair(tau_plus: float = 20.0, weight: float = 0.5, delay: float = 1.0):
    return sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=tau_plus, tau_minus=20.0, A_plus=0.01,
                                            A_minus=0.012),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=1.0),
        weight=weight, delay=delay)


def _recurrent(dual_fsm: bool):
    return sim.STDPMechanism(
        timing_dependence=sim.TimingDependenceRecurrent(accumulator_depression=-3,
                                            accumulator_potentiation=3, dual_fsm=dual_fsm),
        weight_dependence=sim.MultiplicativeWeightDependence(w_min=0.0, w_max=1.0),
        weight=0.2)


def test_projections_whose_dynamics_spynnaker_cannot_merge_are_refused_naming_both():
    sim.setup(timestep=1.0)
    source = sim.Population(2, sim.SpikeSourceArray(spike_times=[2.0]), label="source")
    post = sim.Population(2, sim.IF_curr_exp(), label="post")
    first = _here()
    sim.Projection(source, post, sim.AllToAllConnector(), _pair(), label="plastic")
    sim.Projection(source, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.3))
    with pytest.raises(SynapticConfigurationError) as caught:
        refused = _here()
        sim.Projection(source, post[0:1], sim.OneToOneConnector(), _pair(10.0), label="other")
    assert str(caught.value) == (
        f"STDPMechanism of projection 'other' (at {refused}) differs from that of "
        f"projection 'plastic' (at {first}) onto the same population 'post' (tau_plus 20.0 "
        "vs 10.0). sPyNNaker 7.4.1 refuses this network too (\"Synapse dynamics must match "
        "exactly when using multiple edges to the same population\"), so the SpiNNaker "
        "emulator does not run it")
    assert len(sim.simulator.state.projections) == 2  # a refused projection is not made
    # the rule is per population: another population may learn with another rule
    sim.Projection(source, sim.Population(1, sim.IF_curr_exp()), sim.AllToAllConnector(),
                   _pair(10.0))
    sim.Projection(source, post, sim.AllToAllConnector(), sim.Neuromodulation(weight=0.1),
                   receptor_type="reward")
    with pytest.raises(SynapticConfigurationError,
                       match=r"Neuromodulation of projection .* \(tau_c 1000.0 vs 500.0\)\. "
                             r"sPyNNaker 7\.4\.1 refuses .*Neuromodulation must match"):
        sim.Projection(source, post, sim.AllToAllConnector(),
                       sim.Neuromodulation(weight=0.1, tau_c=500.0), receptor_type="reward")
    sim.end()


def test_static_and_stdp_that_spynnaker_merges_run_with_the_merged_rule():
    """Static with STDP, and STDP rules sPyNNaker's ``is_same_as`` finds equal (weights,
    delays and RecurrentRule's ``dual_fsm`` are not compared): the population runs the
    last rule merged, for every plastic projection into it."""
    sim.setup(timestep=1.0)
    source = sim.Population(2, sim.SpikeSourceArray(spike_times=[2.0]), label="source")
    post = sim.Population(2, sim.IF_curr_exp(), label="post")
    learner = sim.Population(2, sim.IF_curr_exp(), label="learner")
    sim.Projection(source, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.3))
    sim.Projection(source, post, sim.AllToAllConnector(), _pair(weight=0.2, delay=2.0))
    sim.Projection(source, post, sim.OneToOneConnector(), _pair(weight=0.4))
    sim.Projection(source, learner, sim.AllToAllConnector(), _recurrent(dual_fsm=True))
    sim.Projection(source, learner, sim.OneToOneConnector(), _recurrent(dual_fsm=False))
    sim.run(3.0)
    rules = [spec.plasticity for spec in sim.simulator.state.engine.network.projections]
    assert rules[0] is None and rules[1] == rules[2] and rules[1].tau_plus == 20.0
    assert [rule.timing for rule in rules[3:]] == ["recurrent_pre_stochastic"] * 2
    sim.end()
