"""DistanceDependentProbabilityConnector on the emulator: drawn as sPyNNaker 7.4.1 draws it.

The exact equality with sPyNNaker's own ``create_synaptic_block`` needs sPyNNaker (a 5 s
import); it is checked in the report of this feature, not here. Here: the probability
follows the expression (a binned binomial test), the distances follow the Space, and what
sPyNNaker refuses is refused naming the script line.
"""

from __future__ import annotations

import numpy as np
import pytest
from pyNN.random import NumpyRNG
from pyNN.space import Grid2D, Space
from scipy import stats

import repro.spinnaker.pynn_backend as sim
from repro.spinnaker.pynn_backend import UnsupportedFeatureError

#: Distance bins (grid units) of the binomial test; every bin expects > 100 connections.
EDGES = (0.0, 1.5, 2.5, 3.5, 5.0, 7.0, 10.0, np.inf)
#: False-alarm rate of the test.
ALPHA = 1e-3


def _grid_projection(expression: str, seed: int, **space):
    """A 20 x 20 grid of sources onto the same grid of cells; (distances, connected)."""
    sim.setup(timestep=1.0, rng_seed=1)
    grid = Grid2D(dx=1.0, dy=1.0)
    src = sim.Population(400, sim.SpikeSourceArray(spike_times=[]), structure=grid)
    cells = sim.Population(400, sim.IF_curr_exp(), structure=grid,
                           additional_parameters={"neurons_per_core": 150})
    prj = sim.Projection(src, cells, sim.DistanceDependentProbabilityConnector(
        expression, rng=NumpyRNG(seed=seed)), sim.StaticSynapse(weight=0.1, delay=1.0),
        space=Space(**space))
    arrays = prj.connection_arrays()
    connected = np.zeros((400, 400), dtype=bool)
    connected[arrays["presynaptic_index"], arrays["postsynaptic_index"]] = True
    distances = Space(**space).distances(src.positions.T, cells.positions.T).reshape(400, 400)
    return distances, connected


def _chi_square(distances, connected, probability):
    """sum over bins of (count - mean)^2 / variance, the pairs independent Bernoulli trials;
    also the per-bin means and variances."""
    bins = np.digitize(distances, EDGES) - 1
    p = probability(distances)
    mean = np.bincount(bins.ravel(), p.ravel(), minlength=len(EDGES) - 1)
    variance = np.bincount(bins.ravel(), (p * (1 - p)).ravel(), minlength=len(EDGES) - 1)
    count = np.bincount(bins.ravel(), connected.ravel().astype(float),
                        minlength=len(EDGES) - 1)
    return float(np.sum((count - mean) ** 2 / variance)), mean, variance


def test_connection_probability_follows_the_expression():
    """Binned counts vs expectation (normal approximation, chi-square with 7 dof).

    Under the null (the connector connects each pair with exp(-d/2)), rejection has rate
    ALPHA = 0.001. Power against a 5 % longer length scale (exp(-d/2.1)) is computed below
    from the non-central chi-square and must be >= 0.99; the alternative is also drawn and
    must be rejected. The unit is the pair: pairs are independent draws by construction.
    """
    null = lambda d: np.exp(-d / 2.0)  # noqa: E731
    distances, connected = _grid_projection("exp(-d/2.0)", seed=7)
    statistic, mean, variance = _chi_square(distances, connected, null)
    critical = stats.chi2.ppf(1 - ALPHA, df=len(EDGES) - 1)
    assert mean.min() > 100
    assert statistic < critical, (statistic, critical)
    _, alternative_mean, _ = _chi_square(distances, connected, lambda d: np.exp(-d / 2.1))
    noncentrality = float(np.sum((alternative_mean - mean) ** 2 / variance))
    power = stats.ncx2.sf(critical, df=len(EDGES) - 1, nc=noncentrality)
    assert power >= 0.99, power
    distances, connected = _grid_projection("exp(-d/2.1)", seed=8)
    assert _chi_square(distances, connected, null)[0] > critical


def test_periodic_space_and_self_connections():
    sim.setup(timestep=1.0, rng_seed=1)
    cells = sim.Population(100, sim.IF_curr_exp(), structure=Grid2D(dx=1.0, dy=1.0),
                           additional_parameters={"neurons_per_core": 100})
    torus = Space(periodic_boundaries=((0, 10), (0, 10), None))
    prj = sim.Projection(cells, cells, sim.DistanceDependentProbabilityConnector(
        "d < 1.5", allow_self_connections=False), sim.StaticSynapse(), space=torus)
    pre, post = prj.connection_arrays()["presynaptic_index"], \
        prj.connection_arrays()["postsynaptic_index"]
    # 8 neighbours on the torus, corners included, never itself.
    assert np.all(np.bincount(post, minlength=100) == 8) and not np.any(pre == post)
    assert any("unseeded NumpyRNG" in note for note in prj.notes)


@pytest.mark.parametrize(("expression", "why"), [
    ("np.exp(-d)", "NameError: name 'np'"), ("0.5", "not one value per pair"),
    ("2*exp(-d)", "largest probability is 2.0"), ("d[0] < 1", "cannot reshape"),
    ("1 if d < 1 else 0", "truth value")])
def test_what_spynnaker_refuses_is_refused_with_the_line(expression, why):
    sim.setup(timestep=1.0, rng_seed=1)
    cells = sim.Population(9, sim.IF_curr_exp(), structure=Grid2D())
    with pytest.raises(UnsupportedFeatureError, match=why) as refused:
        sim.Projection(cells, cells, sim.DistanceDependentProbabilityConnector(expression),
                       sim.StaticSynapse())
    assert "test_distance_connector.py:" in str(refused.value)


def test_views_unstructured_populations_and_n_connections_are_refused():
    sim.setup(timestep=1.0, rng_seed=1)
    plain = sim.Population(9, sim.IF_curr_exp())
    grid = sim.Population(9, sim.IF_curr_exp(), structure=Grid2D())
    connector = sim.DistanceDependentProbabilityConnector("d < 2")
    with pytest.raises(UnsupportedFeatureError, match="unstructured"):
        sim.Projection(plain, grid, connector, sim.StaticSynapse())
    with pytest.raises(UnsupportedFeatureError, match="PopulationView"):
        sim.Projection(grid[:4], grid, connector, sim.StaticSynapse())
    plain.positions = grid.positions
    assert sim.Projection(plain, grid, connector, sim.StaticSynapse()).size() > 0
    with pytest.raises(UnsupportedFeatureError, match="n_connections"):
        sim.DistanceDependentProbabilityConnector("d < 2", n_connections=3)
