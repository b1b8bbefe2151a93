"""Speed of the SpiNNaker emulator relative to biological real time, with NEST measured alongside.

    python benchmarks/emulator_speed.py [--sizes 500,10000] [--duration 1000] [--no-nest]

SpiNNaker runs in real time (time_scale_factor 1), so the emulator's cost is reported as
wall-clock time of ``run()`` divided by the simulated biological time: 1.0 means "as fast as
the hardware", 10 means ten times slower. The reference network ``balanced_random`` is built
with ``n_neurons`` set to each size (other parameters unchanged, so the 10,000-neuron
version has 1,000 synapses per neuron). Local NEST (pyNN.nest, same time step, one thread)
runs the same network in the same invocation as the baseline. Every measurement runs in a
fresh process. Results go to ``benchmarks/results/emulator_speed.md`` (and ``.json``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import subprocess
import sys
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "experiments" / "balanced_random"
RESULTS = REPO / "benchmarks" / "results"
BACKENDS = {"emulator": "repro.spinnaker.pynn_backend", "nest": "pyNN.nest"}


def measure(backend: str, n_neurons: int, duration: float, timestep: float, seed: int) -> dict:
    """Build and run the reference network once in this process; return timings and rates."""
    sim = importlib.import_module(BACKENDS[backend])
    spec = importlib.util.spec_from_file_location("network", REFERENCE / "network.py")
    network = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(network)
    params = tomllib.loads((REFERENCE / "experiment.toml").read_text())["params"]
    params["n_neurons"] = n_neurons
    sim.setup(timestep=timestep, threads=1, rng_seed=seed)
    t0 = time.perf_counter()
    populations = network.build(sim, params, seed)
    for population in populations.values():
        population.record("spikes")
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sim.run(duration)
    run_s = time.perf_counter() - t0
    rates = {}
    for name, population in populations.items():
        trains = population.get_data("spikes").segments[-1].spiketrains
        rates[name] = sum(len(t) for t in trains) / len(trains) / (duration / 1000.0)
    return {"backend": backend, "n_neurons": n_neurons, "duration_ms": duration,
            "timestep_ms": timestep, "build_s": build_s, "run_s": run_s,
            "real_time_ratio": run_s / (duration / 1000.0), "rates_hz": rates}


def measure_in_child(backend: str, n_neurons: int, args: argparse.Namespace) -> dict:
    """Run :func:`measure` in a fresh interpreter (clean simulator state, fair timing)."""
    command = [sys.executable, __file__, "--child", backend, "--sizes", str(n_neurons),
               "--duration", str(args.duration), "--timestep", str(args.timestep),
               "--seed", str(args.seed)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{backend} n={n_neurons} failed:\n{completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def report(rows: list[dict], args: argparse.Namespace) -> str:
    """Markdown table of the measurements."""
    lines = [
        "# SpiNNaker emulator speed",
        "",
        f"Reference network `balanced_random`, {args.duration:g} ms of biological time, "
        f"time step {args.timestep:g} ms, seed {args.seed}, one core. Machine: "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}.",
        "Real-time ratio = wall-clock time of `run()` / biological time (SpiNNaker: 1.0).",
        "",
        "| backend | neurons | build (s) | run (s) | x real time | run vs NEST | "
        "exc rate (Hz) | inh rate (Hz) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    nest = {r["n_neurons"]: r for r in rows if r["backend"] == "nest"}
    for row in rows:
        baseline = nest.get(row["n_neurons"])
        versus = f"{row['run_s'] / baseline['run_s']:.2f}" if baseline else "-"
        lines.append(
            f"| {row['backend']} | {row['n_neurons']} | {row['build_s']:.2f} | "
            f"{row['run_s']:.2f} | {row['real_time_ratio']:.2f} | {versus} | "
            f"{row['rates_hz']['exc']:.2f} | {row['rates_hz']['inh']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="500,10000", help="comma-separated n_neurons")
    parser.add_argument("--duration", type=float, default=1000.0, help="biological ms")
    parser.add_argument("--timestep", type=float, default=1.0, help="ms")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-nest", action="store_true", help="skip the NEST baseline")
    parser.add_argument("--child", choices=sorted(BACKENDS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.child:
        print(json.dumps(measure(args.child, sizes[0], args.duration, args.timestep, args.seed)))
        return 0
    rows = []
    for n_neurons in sizes:
        for backend in ("emulator",) + (() if args.no_nest else ("nest",)):
            row = measure_in_child(backend, n_neurons, args)
            print(f"{backend:8s} n={n_neurons:6d}: build {row['build_s']:.2f} s, run "
                  f"{row['run_s']:.2f} s = {row['real_time_ratio']:.2f} x real time",
                  flush=True)
            rows.append(row)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "emulator_speed.json").write_text(json.dumps(rows, indent=1))
    (RESULTS / "emulator_speed.md").write_text(report(rows, args))
    print(report(rows, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
