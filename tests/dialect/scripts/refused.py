"""A script using sPyNNaker features that no local target can run."""

import pyNN.spiNNaker as sim

sim.setup(timestep=1.0)
calcium = sim.Population(2, sim.extra_models.IFCurrExpCa2Adaptive(), label="ca")
sim.external_devices.activate_live_output_for(calcium)
sim.run(10)
