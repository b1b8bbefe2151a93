"""Tiny network drawing weights with rng= (sPyNNaker 7.4.1 rejects this by default)."""


def build(sim, params, seed):
    """Return ``{"cells": Population}``."""
    rng = sim.NumpyRNG(seed=seed)
    cells = sim.Population(int(params["n"]), sim.IF_curr_exp(), label="cells")
    drive = sim.Population(int(params["n"]), sim.SpikeSourcePoisson(rate=params["rate"]),
                           label="drive")
    weights = sim.RandomDistribution("uniform", (0.1, params["weight"]), rng=rng)
    sim.Projection(drive, cells, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=weights, delay=1.0), receptor_type="excitatory")
    return {"cells": cells}
