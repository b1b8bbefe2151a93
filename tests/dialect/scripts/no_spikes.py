"""A connectivity study: it builds a network, saves its connections and never runs it.

Written for repro's tests, in the style of PyNN's examples/connections.py: a legitimate
script that records no spikes, and writes its own files (in its working directory and a
subdirectory; one of 80 kB, over the cap the test sets).
"""

import os

import numpy as np
from pyNN.utility import get_simulator

sim, options = get_simulator()
sim.setup(timestep=1.0)
pre = sim.Population(10, sim.IF_curr_exp(), label="pre")
post = sim.Population(10, sim.IF_curr_exp(), label="post")
projection = sim.Projection(pre, post, sim.FixedProbabilityConnector(0.5),
                            sim.StaticSynapse(weight=0.5, delay=1.0))
np.savetxt("connections.txt", np.array(projection.get("weight", format="list")))
os.makedirs("results", exist_ok=True)
with open("results/summary.txt", "w") as summary:
    summary.write(f"{len(projection)} connections\n")
np.save("weights.npy", np.asarray(projection.get("weight", format="array")).repeat(100, 0))
sim.end()
