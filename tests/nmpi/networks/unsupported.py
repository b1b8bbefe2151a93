"""Tiny network using a cell type sPyNNaker does not implement."""


def build(sim, params, seed):
    """Return ``{"cells": Population}`` of Hodgkin-Huxley cells."""
    return {"cells": sim.Population(int(params["n"]), sim.HH_cond_exp(), label="cells")}
