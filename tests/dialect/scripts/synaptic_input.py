"""An sPyNNaker-style script recording synaptic input NEST's cell models do not record.

Written for repro's tests (not taken from any corpus). It checks what it can itself and
raises AssertionError when a translation did not do what it should.
"""

import numpy as np
import pyNN.spiNNaker as p
from spynnaker.pyNN.utilities import neo_convertor

p.setup(timestep=1.0, min_delay=1.0)
source = p.Population(2, p.SpikeSourceArray(spike_times=[5.0, 15.0]), label="source")
delta = p.Population(2, p.IF_curr_delta(i_offset=0.1), label="delta")
exp = p.Population(2, p.IF_curr_exp(), label="exp")
for target in (delta, exp):
    p.Projection(source, target, p.OneToOneConnector(),
                 p.StaticSynapse(weight=1.5, delay=2.0), receptor_type="excitatory")
    p.Projection(source, target, p.AllToAllConnector(),
                 p.StaticSynapse(weight=0.5, delay=4.0), receptor_type="inhibitory")
delta.record("all")
exp.record(["spikes", "gsyn_exc"])
p.run(30)

segment = delta.get_data().segments[0]
gsyn_exc = segment.filter(name="gsyn_exc")[0]
gsyn_inh = segment.filter(name="gsyn_inh")[0]
times = np.asarray(gsyn_exc.times)
expected_exc = np.where(np.isin(times, [7.0, 17.0]), 1.5, 0.0)[:, None] * np.ones(2)
expected_inh = np.where(np.isin(times, [9.0, 19.0]), 1.0, 0.0)[:, None] * np.ones(2)
assert np.allclose(np.asarray(gsyn_exc), expected_exc), np.asarray(gsyn_exc)
assert np.allclose(np.asarray(gsyn_inh), expected_inh), np.asarray(gsyn_inh)
assert len(segment.filter(name="v")) == 1
current = np.asarray(exp.get_data("gsyn_exc").segments[0].filter(name="gsyn_exc")[0])
assert current.max() > 1.0 and current[:7].max() == 0.0, current
rows = neo_convertor.convert_spikes(exp.get_data("spikes"))
spiketrains = exp.get_data("spikes").segments[0].spiketrains
assert rows.shape[1] == 2 and neo_convertor.count_spiketrains(spiketrains) == len(rows)
p.end()
