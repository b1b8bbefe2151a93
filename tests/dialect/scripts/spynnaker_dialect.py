"""An sPyNNaker-style script that uses every dialect feature repro translates for NEST.

Written for repro's tests (not taken from any corpus). It checks what it can itself and
raises AssertionError when a translation did not do what it should.
"""

import pyNN.spiNNaker as p
from pyNN.random import RandomDistribution

p.setup(timestep=1.0, min_delay=1.0, db_name="dialect.sqlite3", time_scale_factor=1)
p.set_number_of_neurons_per_core(p.IF_curr_exp, 16)
assert p.name() in ("NEST", "SpiNNaker emulator (sPyNNaker 7.4.1 numerics)")

source = p.Population(1, p.SpikeSourceArray(spike_times=[0.0, 20.0]), label="source")
cell = p.Population(1, p.IF_curr_exp(tau_refrac=0.0), label="cell")
p.Projection(source, cell, p.OneToOneConnector(), p.StaticSynapse(weight=5.0, delay=1.4))

seeded = p.Population(20, p.IF_curr_exp, label="seeded", seed=5,
                      additional_parameters={"spikes_per_second": 50.0})
seeded.initialize(v=RandomDistribution("uniform", low=-65.0, high=-55.0))
izk = p.Population(2, p.Izhikevich(a=0.02, b=0.2, c=-65.0, d=6.0, i_offset=10.0, v=-70.0,
                                   u=-14.0), label="izk")
delta = p.Population(2, p.extra_models.IFCurDelta(i_offset=1.0), label="delta")
p.Projection(seeded, seeded, p.extra_models.AllButMeConnector(),
             p.StaticSynapse(weight=0.1, delay=1.0), receptor_type="inhibitory")
# after connections exist, a delay beyond NEST's default max_delay (10 ms)
p.Projection(source, seeded, p.AllToAllConnector(), p.StaticSynapse(weight=2.0, delay=43.0))

for population in (source, cell, seeded, izk, delta):
    population.record("spikes")
izk.record("v")
p.run(60)

source_spikes = source.get_data("spikes").segments[0].spiketrains[0]
v0 = izk.get_data("v").segments[0].filter(name="v")[0][0, 0]
p.end()
if p.name() == "NEST":
    # moved off 0 ms to min_delay + one step (pyNN.nest emits one min_delay early)
    assert list(source_spikes.magnitude) == [2.0, 20.0], source_spikes
assert abs(float(v0) + 70.0) < 1e-6, v0  # Izhikevich v given as a parameter is the start
