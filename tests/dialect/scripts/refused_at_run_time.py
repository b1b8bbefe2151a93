"""A script that reaches an sPyNNaker model only at run time (so only the run can refuse)."""

import pyNN.spiNNaker as sim

sim.setup(timestep=1.0)
name = "Izhikevich" + "_cond"
model = getattr(sim.extra_models, name)
cells = sim.Population(2, model(), label="izk")
cells.record("spikes")
sim.run(10)
