"""Check: the emulator's DistanceDependentProbabilityConnector draws the connections of
sPyNNaker 7.4.1's own ``create_synaptic_block`` (same seeded NumpyRNG, same core slices).

Needs sPyNNaker (``pip install .[spinnaker]``); not a test because importing it takes ~5 s.
Run: ``PYTHONPATH=. python benchmarks/ddpc_vs_spynnaker.py``; prints one line per case and
exits non-zero when a case differs.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

from pyNN.random import NumpyRNG
from pyNN.space import Cuboid, Grid2D, Grid3D, RandomStructure, Space

import repro.spinnaker.pynn_backend as sim
from repro.spinnaker.cores import core_slices

#: (structure, space, expression, allow_self_connections, neurons per core, size)
CASES = [
    (Grid2D(dx=1.0, dy=1.0), Space(), "exp(-d/2.0)", False, 64, 100),
    (Grid3D(dx=1.0, dy=1.0, dz=1.0, fill_order="sequential"),
     Space(periodic_boundaries=((0, 5), (0, 5), (0, 5))), "d < 1.8", True, 50, 125),
    (RandomStructure(Cuboid(10, 10, 10), rng=NumpyRNG(seed=3)),
     Space(axes="xy", scale_factor=1.5), "exp(-d**2/20) * (d > 0.5)", False, 256, 300),
]


def emulator_pairs(structure, space, expression, self_ok, per_core, size):
    """Connections of the emulator, and the positions it used."""
    sim.setup(timestep=1.0, rng_seed=1)
    pop = sim.Population(size, sim.IF_curr_exp(), structure=structure,
                         additional_parameters={"neurons_per_core": per_core})
    prj = sim.Projection(pop, pop, sim.DistanceDependentProbabilityConnector(
        expression, allow_self_connections=self_ok, rng=NumpyRNG(seed=11)),
        sim.StaticSynapse(), space=space)
    arrays = prj.connection_arrays()
    pairs = set(zip(arrays["presynaptic_index"].tolist(),
                    arrays["postsynaptic_index"].tolist(), strict=True))
    return pairs, pop.positions.T


def spynnaker_pairs(positions, space, expression, self_ok, per_core, size):
    """Connections of sPyNNaker 7.4.1's connector, slice by slice."""
    from pacman.model.graphs.common import Slice
    from spynnaker.pyNN.models.neural_projections.connectors import (
        DistanceDependentProbabilityConnector,
    )

    connector = DistanceDependentProbabilityConnector(
        expression, allow_self_connections=self_ok, rng=NumpyRNG(seed=11))
    connector.set_space(space)
    population = SimpleNamespace(positions=positions)
    info = SimpleNamespace(
        pre_population=population, post_population=population, n_pre_neurons=size,
        n_post_neurons=size, weights=0.5, delays=1.0,
        pre_vertex=SimpleNamespace(get_key_ordered_indices=lambda index: index))
    connector._set_probabilities(info)
    pairs = set()
    for start, stop in core_slices(size, per_core):
        block = connector.create_synaptic_block([], Slice(start, stop - 1), 0, info)
        pairs |= set(zip(block["source"].tolist(), (block["target"] + start).tolist(),
                         strict=True))
    return pairs


def main() -> int:
    differ = 0
    for structure, space, expression, self_ok, per_core, size in CASES:
        mine, positions = emulator_pairs(structure, space, expression, self_ok, per_core, size)
        theirs = spynnaker_pairs(positions, space, expression, self_ok, per_core, size)
        same = mine == theirs
        differ += not same
        print(f"{type(structure).__name__} {expression!r} self={self_ok} per_core={per_core}: "
              f"emulator {len(mine)}, sPyNNaker {len(theirs)} connections, "
              f"{'identical' if same else 'DIFFERENT'}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
