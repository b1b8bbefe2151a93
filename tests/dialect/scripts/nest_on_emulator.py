"""A pyNN.nest script that picks its simulator from the command line, as PyNN's examples do.

Written for repro's tests: ``python nest_on_emulator.py nest --cells 7``.
"""

import json

from pyNN.utility import get_simulator

sim, options = get_simulator(("--cells", "number of cells", {"type": int, "default": 3}))
sim.setup(timestep=1.0, spike_precision="on_grid", verbosity="error")
source = sim.Population(options.cells, sim.SpikeSourceArray(spike_times=[5.0, 15.0]),
                        label="source")
cells = sim.Population(options.cells, sim.IF_curr_exp(), label="cells")
sim.Projection(source, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=1.0))
cells.record("spikes")
sim.run(40.0)
with open("options.json", "w") as handle:
    json.dump({"simulator": options.simulator, "cells": options.cells}, handle)
sim.end()
