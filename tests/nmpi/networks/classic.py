"""A classic PyNN script written for NEST (script mode): sets up, runs, reads and ends by itself.

Its optional argument is the number of cells (default 300). On a virtual board it stops after
the run: the recording is empty, so there is no first spike to read.
"""

import sys

import pyNN.nest as sim

n_cells = int(sys.argv[1]) if len(sys.argv) > 1 else 300
sim.setup(timestep=1.0)
cells = sim.Population(n_cells, sim.IF_curr_exp(), label="cells")
drive = sim.Population(n_cells, sim.SpikeSourcePoisson(rate=1000.0), label="drive")
sim.Projection(drive, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.3, delay=1.0))
cells.record("spikes")
sim.run(100.0)
first_spike_ms = float(cells.get_data().segments[0].spiketrains[0][0])
sim.end()
