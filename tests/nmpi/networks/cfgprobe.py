"""Tiny network that insists on finding the shipped spynnaker.cfg in its working directory."""

from pathlib import Path


def build(sim, params, seed):
    """Fail unless ./spynnaker.cfg holds the setting the target shipped."""
    cfg = Path("spynnaker.cfg")
    if "time_scale_factor = 4" not in (cfg.read_text() if cfg.is_file() else ""):
        raise RuntimeError("no shipped spynnaker.cfg in the working directory")
    cells = sim.Population(int(params["n"]), sim.IF_curr_exp(), label="cells")
    return {"cells": cells}
