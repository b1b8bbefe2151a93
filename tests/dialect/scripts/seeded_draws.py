"""Per-population seed and unseeded draws: what a run draws depends on the run's seed only.

Written for repro's tests. Writes the drawn initial values and connections to draws.json
in the working directory.
"""

import json

import pyNN.spiNNaker as p
from pyNN.random import RandomDistribution

p.setup(timestep=1.0)
pop = p.Population(10, p.IF_curr_exp(), label="pop", seed=3)
pop.initialize(v=RandomDistribution("uniform", low=-65.0, high=-55.0))
other = p.Population(10, p.IF_curr_exp(), label="other")
proj = p.Projection(pop, other, p.FixedProbabilityConnector(0.3),
                    p.StaticSynapse(weight=RandomDistribution("uniform", low=0.1, high=0.2)))
pop.record(["spikes", "v"])
p.run(10)
v_start = pop.get_data("v").segments[0].filter(name="v")[0][0, :]
draws = {"v": [round(float(x), 6) for x in v_start.magnitude],
         "connections": [[int(i), int(j), round(float(w), 9)] for i, j, w in
                         proj.get("weight", format="list")]}
with open("draws.json", "w") as handle:
    json.dump(draws, handle)
p.end()
