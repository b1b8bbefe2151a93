"""Smallest reproduction of the NEST 3.10 MPI bug that repro.site.nest_mpi_guard works around.

Connections created after ``nest.GetConnections()`` (which builds NEST's connection
infrastructure) mis-route spikes on 2 MPI processes when spikes are compressed (the default):
the 2-rank run's spikes differ from the 2-thread run's. Without the ``GetConnections()`` call,
or with ``nest.use_compressed_spikes = False``, both layouts agree. Pure NEST, no PyNN/repro.

Run with NEST built with MPI (``repro nest build --mpi``; PYTHONPATH to its site-packages)::

    python nest_mpi_compressed_spikes.py OUT threads  PROBE COMPRESS
    mpirun -np 2 python nest_mpi_compressed_spikes.py OUT ranks PROBE COMPRESS

PROBE 1 calls ``nest.GetConnections()`` between the two batches of connections; COMPRESS is
``use_compressed_spikes`` (1/0). Each process writes OUT.<rank>.json: the recorded
(node ID, spike time) pairs of its local neurons; compare the union over ranks.

The network: 20 parrot neurons A, each fired once (spike_generator) at 1.0, 1.1, ... ms, with
100 random A -> A connections (delays 20-40 ms; batch 1); then 20 more parrots B, fired at
50.0, 50.1, ... ms, connected one-to-one onto A (delay 1 ms; batch 2). Parrots repeat every
spike they receive, so every spike is determined by the connections alone.
"""

import json
import sys

import nest
import numpy as np

out, layout, probe, compress = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4] == "1"
n = 20
nest.ResetKernel()
if layout == "threads":
    nest.local_num_threads = 2
else:
    nest.total_num_virtual_procs = 2
nest.use_compressed_spikes = compress
a = nest.Create("parrot_neuron", n)
ga = nest.Create("spike_generator", n)
ga.set([{"spike_times": [1.0 + 0.1 * i]} for i in range(n)])
b = nest.Create("parrot_neuron", n)
gb = nest.Create("spike_generator", n)
gb.set([{"spike_times": [50.0 + 0.1 * i]} for i in range(n)])
nest.Connect(ga, a, "one_to_one")
nest.Connect(gb, b, "one_to_one")
rng = np.random.default_rng(1)
ids = np.array(a.tolist())
pre, post = rng.choice(ids, 5 * n), rng.choice(ids, 5 * n)
nest.Connect(pre, post, "one_to_one", {"delay": np.round(rng.uniform(20.0, 40.0, 5 * n), 1)})
if probe:
    nest.GetConnections()
nest.Connect(np.array(b.tolist()), ids, "one_to_one", {"delay": np.full(n, 1.0)})
recorder = nest.Create("spike_recorder")
nest.Connect(a, recorder)
nest.Simulate(100.0)
events = recorder.get("events")
spikes = sorted(zip(np.asarray(events["senders"]).tolist(), np.asarray(events["times"]).tolist(),
                    strict=True))
with open(f"{out}.{nest.Rank()}.json", "w") as handle:
    json.dump(spikes, handle)
