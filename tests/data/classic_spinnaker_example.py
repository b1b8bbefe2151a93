"""A classic PyNN script in the style of the sPyNNaker examples, kept unmodified on purpose.

It imports the SpiNNaker backend, uses sPyNNaker-only extras, runs several times with rate
changes in between, and plots at the end.
"""

import matplotlib.pyplot as plt
import pyNN.spiNNaker as p
from pyNN.utility.plotting import Figure, Panel

p.setup(timestep=1.0, min_delay=1.0)
p.set_number_of_neurons_per_core(p.IF_curr_exp, 100)

n_neurons = 60
stimulus = p.Population(n_neurons, p.SpikeSourcePoisson(rate=30.0), label="stimulus",
                        additional_parameters={"seed": 42, "max_rate": 100.0})
excitatory = p.Population(n_neurons, p.IF_curr_exp(tau_syn_E=5.0), label="excitatory")
inhibitory = p.Population(n_neurons // 4, p.IF_curr_exp(), label="inhibitory")

p.Projection(stimulus, excitatory, p.OneToOneConnector(),
             p.StaticSynapse(weight=2.0, delay=1.0), receptor_type="excitatory")
p.Projection(excitatory, inhibitory, p.FixedProbabilityConnector(0.2),
             p.StaticSynapse(weight=0.5, delay=2.0), receptor_type="excitatory")
p.Projection(inhibitory, excitatory, p.FixedProbabilityConnector(0.2),
             p.StaticSynapse(weight=-0.5, delay=1.0), receptor_type="inhibitory")

excitatory.record(["spikes", "v"])
inhibitory.record("spikes")

p.run(200)
stimulus.set(rate=60.0)
p.run(200)
stimulus.set(rate=10.0)
p.run(100)

spikes = excitatory.get_data("spikes")
voltages = excitatory.get_data("v")
Figure(
    Panel(spikes.segments[0].spiketrains, yticks=True, markersize=0.5, xlim=(0, 500)),
    Panel(voltages.segments[0].filter(name="v")[0], ylabel="Membrane potential (mV)",
          yticks=True, xlim=(0, 500)),
    title="classic example",
)
plt.show()
p.end()
