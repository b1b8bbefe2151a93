"""A tiny network for NMPI queue tests: Poisson-driven LIF cells, one projection."""


def build(sim, params, seed):
    """Return ``{"cells": Population}``."""
    cells = sim.Population(int(params["n"]), sim.IF_curr_exp(tau_m=20.0, cm=0.25, v_thresh=-50.0,
                                                              v_rest=-65.0, v_reset=-65.0),
                           label="cells")
    drive = sim.Population(int(params["n"]), sim.SpikeSourcePoisson(rate=params["rate"]),
                           label="drive")
    sim.Projection(drive, cells, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=params["weight"], delay=1.0),
                   receptor_type="excitatory")
    return {"cells": cells}
