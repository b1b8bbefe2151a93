"""Noise-only pairs of the reference network (small): every connectivity seed with 2 noise seeds.

Usage: python noise_pairs.py OUT.npz N_SEEDS N_NEURONS DURATION_MS

Builds ``experiments/balanced_random/network.py`` with PyNN/NEST in one process (one kernel
reset per run: far cheaper than one harness process per run) and writes the spike trains of
``exc`` and ``inh`` for connectivity seeds 1..N, noise seeds ``seed`` and ``seed + 10**6``.
"""

import importlib.util
import sys
import tomllib
from pathlib import Path

import numpy as np
import pyNN.nest as sim

REFERENCE = Path(__file__).resolve().parents[3] / "experiments" / "balanced_random"


def main() -> None:
    out, n_seeds, n_neurons, duration = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
        float(sys.argv[4])
    params = tomllib.loads((REFERENCE / "experiment.toml").read_text())["params"]
    params["n_neurons"] = n_neurons
    spec = importlib.util.spec_from_file_location("network", REFERENCE / "network.py")
    network = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(network)
    arrays = {}
    for seed in range(1, n_seeds + 1):
        for replicate, noise in enumerate((seed, seed + 10**6)):
            sim.setup(timestep=0.1, threads=1, rng_seed=noise)
            pops = network.build(sim, dict(params), seed)
            for pop in pops.values():
                pop.record("spikes")
            sim.run(duration)
            for name, pop in pops.items():
                trains = pop.get_data("spikes").segments[-1].spiketrains
                arrays[f"{seed}/{replicate}/{name}/indptr"] = np.cumsum(
                    [0] + [len(t) for t in trains])
                arrays[f"{seed}/{replicate}/{name}/times"] = np.concatenate(
                    [np.asarray(t.magnitude) for t in trains] + [np.zeros(0)])
            sim.end()
    np.savez_compressed(out, **arrays)


if __name__ == "__main__":
    main()
