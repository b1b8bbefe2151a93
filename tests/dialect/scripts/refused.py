"""A script using sPyNNaker features that no local target can run."""

import pyNN.spiNNaker as sim

sim.setup(timestep=1.0)
stochastic = sim.Population(2, sim.extra_models.StocExp(), label="stoc")
sim.external_devices.activate_live_output_for(stochastic)
sim.run(10)
if sim.get_current_time() < 0:  # never taken: left to the run, not refused up front
    sim.CSAConnector(None)
