"""The array build path creates exactly the connections PyNN's own NEST path creates."""

from __future__ import annotations

import numpy as np
import pytest

from repro.site import fastconnect

pytestmark = pytest.mark.slow


def _connections(sim, projection_class, build):
    """Build a network with ``projection_class`` and return its connections, sorted."""
    import nest

    sim.setup(timestep=0.1, rng_seed=7)
    projections = build(sim, projection_class)
    through_arrays = [getattr(p, "repro_array_connections", 0) for p in projections]
    conns = nest.GetConnections()
    table = np.array([conns.get(key) for key in
                      ("source", "target", "weight", "delay", "receptor", "synapse_model")],
                     dtype=object).T if len(conns) else np.zeros((0, 6), dtype=object)
    sim.end()
    return sorted(map(tuple, table.tolist())), through_arrays


def _balanced(sim, Projection):
    """The reference network's connectivity: shared NumpyRNG, clipped normal weights/delays."""
    rng = sim.NumpyRNG(seed=11)
    cell = sim.IF_curr_exp()
    exc = sim.Population(160, cell, label="exc")
    inh = sim.Population(40, cell, label="inh")
    delays = sim.RandomDistribution("normal_clipped", (1.5, 0.5, 1.0, 3.0), rng=rng)
    connector = sim.FixedProbabilityConnector(0.1, rng=rng)
    made = []
    for pre, mean, receptor in ((exc, 1.0, "excitatory"), (inh, -6.0, "inhibitory")):
        low, high = sorted((0.0, 10.0 * mean))
        weights = sim.RandomDistribution("normal_clipped", (mean, abs(mean) * 0.1, low, high),
                                         rng=rng)
        for post in (exc, inh):
            made.append(Projection(pre, post, connector,
                                   sim.StaticSynapse(weight=weights, delay=delays),
                                   receptor_type=receptor))
    drive = sim.Population(exc.size, sim.SpikeSourcePoisson(rate=1000.0))
    made.append(Projection(drive, exc, sim.OneToOneConnector(),
                           sim.StaticSynapse(weight=0.3, delay=1.0)))
    return made


def _variants(sim, Projection):
    """Self-connections excluded, separate RNGs, conductance-based inhibition, views, and a
    plastic synapse and a callable weight that must keep PyNN's own path."""
    rng_map, rng_w = sim.NumpyRNG(seed=3), sim.NumpyRNG(seed=4)
    pop = sim.Population(60, sim.IF_cond_exp(), label="cond")
    weights = sim.RandomDistribution("uniform", (0.001, 0.01), rng=rng_w)
    delays = sim.RandomDistribution("uniform", (0.5, 2.0), rng=rng_w)
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(),
                             weight_dependence=sim.AdditiveWeightDependence(),
                             weight=0.004, delay=1.0)
    return [
        Projection(pop, pop,
                   sim.FixedProbabilityConnector(0.2, allow_self_connections=False, rng=rng_map),
                   sim.StaticSynapse(weight=weights, delay=0.5), receptor_type="inhibitory"),
        Projection(pop[:30], pop[30:], sim.FixedProbabilityConnector(0.3, rng=rng_map),
                   sim.StaticSynapse(weight=0.002, delay=delays), receptor_type="excitatory"),
        Projection(pop[::2], pop, sim.FixedProbabilityConnector(0.1, rng=rng_map), stdp),
        Projection(pop, pop, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=lambda d: 0.001 + 0.0001 * d, delay=1.0)),
    ]


@pytest.mark.parametrize(("build", "arrays"), [
    (_balanced, [True, True, True, True, True]),
    # a plastic synapse (parameters beyond weight and delay) keeps PyNN's per-cell path
    (_variants, [True, True, False, True]),
], ids=["balanced", "variants"])
def test_array_path_creates_pynns_connections(build, arrays):
    import pyNN.nest as sim

    reference, _ = _connections(sim, sim.Projection, build)
    fast, through_arrays = _connections(sim, fastconnect.make_projection_class(sim.Projection),
                                        build)
    assert len(reference) > 1000
    assert fast == reference
    # Not vacuous: the array path did create the projections it supports.
    assert [n > 0 for n in through_arrays] == arrays


def test_disabled_by_environment(monkeypatch):
    import pyNN.nest as sim

    monkeypatch.setenv("REPRO_FAST_CONNECT", "0")
    assert not fastconnect.install(sim)
