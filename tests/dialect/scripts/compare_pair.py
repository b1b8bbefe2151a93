"""A small sPyNNaker-style network for comparing a NEST run with an emulator run.

Written for repro's tests. ``tau_refrac=0.0`` is shorter than a time step: NEST needs the
adaptation (clamped to one step, which changes numerics), the emulator does not.
"""

import pyNN.spiNNaker as p

p.setup(timestep=1.0)
drive = p.Population(20, p.SpikeSourcePoisson(rate=80.0), label="drive", seed=7)
cells = p.Population(20, p.IF_curr_exp(tau_refrac=0.0, tau_syn_E=5.0), label="cells")
p.Projection(drive, cells, p.OneToOneConnector(), p.StaticSynapse(weight=2.0, delay=1.0))
cells.record("spikes")
p.run(300)
p.end()
