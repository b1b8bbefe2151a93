"""Networks of the emulator's golden set and how one is run into plain arrays.

``python -m tests.spinnaker.golden.cases`` (from the repository root) runs every case with
the current emulator and writes ``<case>.npz`` next to this file: for each recorded
population the spikes (neuron index, tick) and the raw S16.15 codes of the recorded
signals (v, gsyn) of its first 8 neurons, plus the synaptic-event count of every projection.
The golden files were written by the emulator *before* its engine was made event-driven
(commit 3b148aa); ``test_golden.py`` checks that every later engine produces the same bits.

The cases cover both weight paths (on machine: generatable connectors with random
weights and delays; on host: ``FromListConnector``), time steps of 1 ms and 0.1 ms,
current and conductance input, ring-buffer saturation and weight wrap-around, Poisson
sources in all three regimes (packets carrying several spikes), spike-source arrays,
population views, delays longer than the ring buffer's default and runs in pieces.
"""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parents[2] / "experiments" / "balanced_random"


def _reference_build():
    spec = importlib.util.spec_from_file_location("balanced_random", REFERENCE / "network.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    params = tomllib.loads((REFERENCE / "experiment.toml").read_text())["params"]
    return module.build, params


def _balanced(n_neurons: int):
    def build(sim, seed):
        build_network, params = _reference_build()
        params["n_neurons"] = n_neurons
        pops = build_network(sim, params, seed)
        pops["exc"][:8].record("v")
        return {"exc": pops["exc"], "inh": pops["inh"]}
    return build


def _host_path(sim, seed):
    """FromListConnector projections (host-generated weights, delays 1..12 steps)."""
    rng = np.random.default_rng(seed)
    n = 200
    exc = sim.Population(160, sim.IF_curr_exp(tau_syn_E=2.0, tau_syn_I=4.0), label="exc")
    inh = sim.Population(40, sim.IF_curr_exp(tau_syn_E=2.0, tau_syn_I=4.0), label="inh")
    for pop in (exc, inh):
        pop.initialize(v=rng.uniform(-65.0, -52.0, pop.size))
    cells = {"exc": exc, "inh": inh}
    for pre_name, sign in (("exc", 1.0), ("inh", -5.0)):
        for post_name in ("exc", "inh"):
            pre, post = cells[pre_name], cells[post_name]
            m = int(0.1 * pre.size * post.size)
            conns = [(int(i), int(j), float(w), float(d)) for i, j, w, d in zip(
                rng.integers(0, pre.size, m), rng.integers(0, post.size, m),
                sign * rng.uniform(0.05, 0.4, m), rng.uniform(0.6, 12.4, m), strict=True)]
            sim.Projection(pre, post, sim.FromListConnector(conns, column_names=["weight",
                                                                                  "delay"]),
                           receptor_type="excitatory" if sign > 0 else "inhibitory")
    drive = sim.Population(n, sim.SpikeSourcePoisson(rate=rng.uniform(800.0, 1500.0, n)))
    sim.Projection(drive[:160], exc, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=0.35, delay=1.0))
    sim.Projection(drive[160:], inh, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=0.35, delay=1.0))
    exc[:5].record("v")
    return cells


def _conductance_saturation(sim, seed):
    """IF_cond_exp cells whose exc ring-buffer cells saturate (coincident inputs, fast
    and normal-regime Poisson sources sending several spikes per packet)."""
    burst = sim.Population(100, sim.SpikeSourceArray(spike_times=[5.0, 5.0, 20.0, 20.3, 40.0]))
    fast = sim.Population(30, sim.SpikeSourcePoisson(rate=3000.0))
    faster = sim.Population(10, sim.SpikeSourcePoisson(rate=25000.0, start=30.0,
                                                       duration=40.0))
    slow = sim.Population(50, sim.SpikeSourcePoisson(rate=4.0))
    post = sim.Population(20, sim.IF_cond_exp(tau_syn_E=3.0, tau_syn_I=6.0), label="post")
    post.initialize(v=-60.0)
    sim.Projection(burst, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.01,
                                                                            delay=1.0))
    sim.Projection(fast, post, sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(seed)),
                   sim.StaticSynapse(weight=0.004, delay=sim.RandomDistribution(
                       "uniform", (1.0, 6.0), rng=sim.NumpyRNG(seed + 1))))
    sim.Projection(faster, post, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.002, delay=2.0), receptor_type="inhibitory")
    sim.Projection(slow, post, sim.FixedNumberPreConnector(10, rng=sim.NumpyRNG(seed + 2)),
                   sim.StaticSynapse(weight=0.02, delay=3.0))
    post.record(["v", "gsyn_exc", "gsyn_inh"])
    return {"post": post}


def _current_saturation(sim, seed):
    """IF_curr_exp with a too-small planned maximum: saturating cells and wrapped weights,
    a population view as source and a recurrent all-to-all projection."""
    src = sim.Population(40, sim.SpikeSourceArray(
        spike_times=[[float(t) for t in range(3 + i % 5, 120, 7 + i % 3)] + [50.0, 50.0]
                     for i in range(40)]))
    post = sim.Population(10, sim.IF_curr_exp(tau_refrac=1.0), label="post",
                          additional_parameters={"max_expected_summed_weight": [0.5, 2.0]})
    sim.Projection(src[:30], post, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.3, delay=1.0))
    sim.Projection(src[30:], post, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=1.2, delay=4.0))  # W wraps (above 0.5 nA plan)
    sim.Projection(post, post, sim.AllToAllConnector(allow_self_connections=False),
                   sim.StaticSynapse(weight=-0.4, delay=sim.RandomDistribution(
                       "uniform", (1.0, 20.0), rng=sim.NumpyRNG(seed))),
                   receptor_type="inhibitory")
    post.record("v")
    return {"post": post}


#: name -> (builder, seed, time step in ms, run pieces in ms)
CASES = {
    "balanced500_dt1_seed1": (_balanced(500), 1, 1.0, (300.0,)),
    "balanced500_dt1_seed4": (_balanced(500), 4, 1.0, (120.0, 80.0)),
    "balanced500_dt01_seed2": (_balanced(500), 2, 0.1, (60.0,)),
    "balanced1500_dt1_seed3": (_balanced(1500), 3, 1.0, (100.0,)),
    "host_path_dt1_seed5": (_host_path, 5, 1.0, (200.0,)),
    "host_path_dt01_seed6": (_host_path, 6, 0.1, (40.0,)),
    "cond_saturation_dt1_seed7": (_conductance_saturation, 7, 1.0, (100.0,)),
    "cond_saturation_dt01_seed8": (_conductance_saturation, 8, 0.1, (50.0,)),
    "curr_saturation_dt1_seed9": (_current_saturation, 9, 1.0, (60.0, 70.0)),
}


def run_case(name: str) -> dict[str, np.ndarray]:
    """Run one case with the emulator; return its arrays (spikes and raw signal codes)."""
    import repro.spinnaker.pynn_backend as sim
    from repro.spinnaker.pynn_backend import simulator

    build, seed, timestep, pieces = CASES[name]
    sim.setup(timestep=timestep, rng_seed=seed)
    pops = build(sim, seed)
    for pop in pops.values():
        pop.record("spikes")
    for piece in pieces:
        sim.run(piece)
    engine = simulator.state.engine
    arrays: dict[str, np.ndarray] = {}
    for label, pop in pops.items():
        index = simulator.state.populations.index(pop)
        neurons, times = engine.spike_data(index)
        arrays[f"{label}/spike_index"] = neurons.astype(np.int32)
        arrays[f"{label}/spike_tick"] = np.round(times / engine.timing.ms).astype(np.int32)
        for variable in sorted(engine.groups[index].recorded):
            # The first 8 neurons (the engine samples whole populations).
            codes = np.round(engine.signal_data(index, variable)[:, :8] * 2 ** 15)
            arrays[f"{label}/{variable}"] = codes.astype(np.int32)
    projections = engine.provenance()["projections"]
    arrays["synaptic_events"] = np.array([p["synaptic_events"] for p in projections],
                                         dtype=np.int64)
    sim.end()
    return arrays


def main() -> int:
    """Write every case's golden file."""
    for name in CASES:
        arrays = run_case(name)
        np.savez_compressed(HERE / f"{name}.npz", **arrays)
        spikes = sum(v.size for k, v in arrays.items() if k.endswith("spike_index"))
        print(f"{name}: {spikes} spikes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
