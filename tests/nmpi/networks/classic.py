"""A classic PyNN script written for NEST (script mode): sets up, runs and ends by itself."""

import pyNN.nest as sim

sim.setup(timestep=1.0)
cells = sim.Population(300, sim.IF_curr_exp(), label="cells")
drive = sim.Population(300, sim.SpikeSourcePoisson(rate=1000.0), label="drive")
sim.Projection(drive, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.3, delay=1.0))
cells.record("spikes")
sim.run(100.0)
sim.end()
