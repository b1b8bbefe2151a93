"""A classic PyNN script written for NEST (script mode): sets up, runs, reads and ends by itself.

Its optional argument is the number of cells (default 300). On a virtual board it stops after
the run: the recording is empty, so there is no first spike to read; and a matrix generated on
the machine (option generate_on_machine) has no weights to read back.
"""

import sys

import pyNN.nest as sim

n_cells = int(sys.argv[1]) if len(sys.argv) > 1 else 300
sim.setup(timestep=1.0)
cells = sim.Population(n_cells, sim.IF_curr_exp(), label="cells")
drive = sim.Population(n_cells, sim.SpikeSourcePoisson(rate=1000.0), label="drive")
# all-to-all, not one-to-one: sPyNNaker builds one-to-one static synapses as a direct
# matrix on the host even on a real board
projection = sim.Projection(drive, cells, sim.AllToAllConnector(),
                            sim.StaticSynapse(weight=0.001, delay=1.0))
cells.record("spikes")
sim.run(100.0)
n_weights = len(projection.get("weight", format="list"))
first_spike_ms = float(cells.get_data().segments[0].spiketrains[0][0])
sim.end()
