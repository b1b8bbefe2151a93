"""Small test network for the HPC targets: optionally waits or fails before building.

``params.wait_s`` keeps the run busy without using a CPU (time-limit, cancellation and
node-failure tests); ``params.fail`` makes ``build`` raise (non-zero harness exit);
``params.write`` makes it write that text to ``written.txt`` and ``notes/written.txt`` in its
working directory (files a script writes, which every target brings back).
"""

import os
import time


def build(sim, params, seed):
    """A Poisson-driven population of ``params.n`` IF_curr_exp neurons, labelled ``exc``."""
    time.sleep(float(params.get("wait_s", 0)))
    if params.get("fail"):
        raise RuntimeError("the network was asked to fail (params.fail = true)")
    if params.get("write"):
        os.makedirs("notes", exist_ok=True)
        for path in ("written.txt", "notes/written.txt"):
            with open(path, "w") as out:
                out.write(str(params["write"]))
    n = int(params.get("n", 20))
    cells = sim.Population(n, sim.IF_curr_exp(), label="exc")
    drive = sim.Population(n, sim.SpikeSourcePoisson(rate=float(params.get("rate", 800.0))),
                           label="drive")
    sim.Projection(drive, cells, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=float(params.get("weight", 2.0)), delay=1.0))
    return [cells]
