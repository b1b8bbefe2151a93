"""Speed of the SpiNNaker emulator relative to biological real time (SpiNNaker's own speed).

    python benchmarks/emulator_speed.py [--sizes 500,10000] [--duration 1000] [--repeat 3]
                                        [--kernels numba,numpy] [--nest]

SpiNNaker runs in real time (time_scale_factor 1), so the baseline is the biological time
itself: the speed-up is biological time / wall-clock time of ``run()`` (10 means ten times
faster than the hardware, below 1 slower). The reference network ``balanced_random`` is
built with ``n_neurons`` set to each size (other parameters unchanged, so the
10,000-neuron version has 1,000 synapses per neuron). The engine (and numba's kernels) are
built by a ``run(0)`` before the timed ``run()``; build times are reported separately.
Each engine path (``--kernels``: numba's compiled kernels, plain numpy) is measured in
``--repeat`` fresh processes; the table gives medians, and the CPU time of ``run()`` next
to the wall time, because the machine may be shared. ``--nest`` adds local NEST (pyNN.nest,
one thread) on the same network. Results go to ``benchmarks/results/emulator_speed.md``
(and ``.json``).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
import timeit

import numpy as np
from reference_network import REPO, load_reference  # benchmarks/ is on sys.path

RESULTS = REPO / "benchmarks" / "results"
BACKENDS = {"emulator": "repro.spinnaker.pynn_backend", "nest": "pyNN.nest"}


def numpy_op_us() -> float:
    """Time of one small numpy operation (multiply of 500 int64) in us, median of 9
    rounds: how loaded the machine is (an idle core of this kind takes well under 1 us)."""
    values = np.arange(500, dtype=np.int64)
    times = timeit.repeat(lambda: values * values, number=2000, repeat=9)
    return statistics.median(times) / 2000 * 1e6


def measure(backend: str, n_neurons: int, duration: float, timestep: float, seed: int,
            profile: bool = False) -> dict:
    """Build and run the reference network once in this process; return timings and rates
    (with ``profile``, cProfile's top entries of ``run()`` instead of fair timings)."""
    sim = importlib.import_module(BACKENDS[backend])
    network, params = load_reference(n_neurons)
    sim.setup(timestep=timestep, threads=1, rng_seed=seed)
    t0 = time.perf_counter()
    populations = network.build(sim, params, seed)
    for population in populations.values():
        population.record("spikes")
    if backend == "emulator":
        sim.run(0.0)  # builds the engine (and loads the kernels) without a tick
    build_s = time.perf_counter() - t0
    op_us = numpy_op_us()
    profiler = cProfile.Profile() if profile else None
    t0, c0 = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    sim.run(duration)
    run_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    top = ""
    if profiler:
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
        top = out.getvalue()
    rates = {}
    for name, population in populations.items():
        trains = population.get_data("spikes").segments[-1].spiketrains
        rates[name] = sum(len(t) for t in trains) / len(trains) / (duration / 1000.0)
    return {"backend": backend, "n_neurons": n_neurons, "duration_ms": duration,
            "timestep_ms": timestep, "build_s": build_s, "run_s": run_s, "cpu_s": cpu_s,
            "rates_hz": rates, "numpy_op_us": op_us, "profile": top}


def measure_in_child(backend: str, kernels: str, n_neurons: int,
                     args: argparse.Namespace, profile: bool = False) -> dict:
    """Run :func:`measure` in a fresh interpreter (clean simulator state, fair timing)."""
    command = [sys.executable, __file__, "--child", backend, "--sizes", str(n_neurons),
               "--duration", str(args.duration), "--timestep", str(args.timestep),
               "--seed", str(args.seed)] + (["--profile"] if profile else [])
    env = {**os.environ, "REPRO_EMULATOR_KERNELS": "numpy" if kernels == "numpy" else "auto"}
    completed = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if completed.returncode != 0:
        raise RuntimeError(f"{backend} n={n_neurons} failed:\n{completed.stderr[-2000:]}")
    return {**json.loads(completed.stdout.strip().splitlines()[-1]), "kernels": kernels}


def median_row(runs: list[dict]) -> dict:
    """One row of medians over repeated measurements of one configuration."""
    row = dict(runs[0])
    for key in ("build_s", "run_s", "cpu_s", "numpy_op_us"):
        row[key] = statistics.median(r[key] for r in runs)
    row["repeats"] = len(runs)
    row["run_s_all"] = [round(r["run_s"], 3) for r in runs]
    bio_s = row["duration_ms"] / 1000.0
    row["speedup_wall"] = bio_s / row["run_s"]
    row["speedup_cpu"] = bio_s / row["cpu_s"]
    return row


def report(rows: list[dict], args: argparse.Namespace, load: tuple) -> str:
    """Markdown table of the measurements."""
    lines = [
        "# SpiNNaker emulator speed",
        "",
        "Command: `python benchmarks/emulator_speed.py"
        + (" " + " ".join(sys.argv[1:])).rstrip() + "`",
        "",
        f"Reference network `balanced_random`, {args.duration:g} ms of biological time, "
        f"time step {args.timestep:g} ms, seed {args.seed}, one core. Machine: "
        f"{platform.machine()}, {os.cpu_count()} cores shared with other jobs, Python "
        f"{platform.python_version()}. Load average before / after: "
        f"{load[0]:.1f} / {load[1]:.1f}: **timings were taken under load**; the CPU-time "
        "column is less affected by it than the wall time.",
        "Speed-up = biological time / time of `run()` (SpiNNaker's real time is 1.0; the "
        f"target is >= 10 at 500 neurons and >= 1 at 10,000). Medians of {args.repeat} fresh "
        "processes; build includes making the engine and loading numba's kernels.",
        "",
        "Load gauge: the time of one small numpy operation (multiply of 500 int64) in the "
        "same process, well under 1 us on an idle core of this kind.",
        "",
        "| backend | engine path | neurons | build (s) | run wall (s) | run CPU (s) | "
        "x real time (wall) | x real time (CPU) | numpy op (us) | exc rate (Hz) | "
        "inh rate (Hz) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['backend']} | {row['kernels']} | {row['n_neurons']} | "
            f"{row['build_s']:.2f} | {row['run_s']:.2f} | {row['cpu_s']:.2f} | "
            f"{row['speedup_wall']:.2f} | {row['speedup_cpu']:.2f} | "
            f"{row['numpy_op_us']:.2f} | "
            f"{row['rates_hz']['exc']:.2f} | {row['rates_hz']['inh']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="500,10000", help="comma-separated n_neurons")
    parser.add_argument("--duration", type=float, default=1000.0, help="biological ms")
    parser.add_argument("--timestep", type=float, default=1.0, help="ms")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per row")
    parser.add_argument("--kernels", default="numba,numpy",
                        help="engine paths to measure: numba (compiled kernels), numpy")
    parser.add_argument("--nest", action="store_true", help="add local NEST alongside")
    parser.add_argument("--profile", action="store_true",
                        help="also write cProfile's top entries of run() per size and path")
    parser.add_argument("--child", choices=sorted(BACKENDS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.child:
        print(json.dumps(measure(args.child, sizes[0], args.duration, args.timestep, args.seed,
                                 args.profile)))
        return 0
    before = os.getloadavg()[0]
    configurations = [("emulator", k) for k in args.kernels.split(",")] \
        + ([("nest", "-")] if args.nest else [])
    rows = []
    for n_neurons in sizes:
        for backend, kernels in configurations:
            runs = [measure_in_child(backend, kernels, n_neurons, args)
                    for _ in range(args.repeat)]
            row = median_row(runs)
            print(f"{backend:8s} {kernels:6s} n={n_neurons:6d}: build {row['build_s']:.2f} s, "
                  f"run {row['run_s']:.2f} s wall / {row['cpu_s']:.2f} s CPU = "
                  f"{row['speedup_wall']:.2f}x / {row['speedup_cpu']:.2f}x real time "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)
            rows.append(row)
    load = (before, os.getloadavg()[0])
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.profile:
        sections = ["# Where the emulator's run() spends its time (cProfile, tottime)", ""]
        for n_neurons in sizes:
            for backend, kernels in configurations:
                if backend == "emulator":
                    row = measure_in_child(backend, kernels, n_neurons, args, profile=True)
                    sections += [f"## {n_neurons} neurons, {kernels} path", "", "```",
                                 row["profile"].strip(), "```", ""]
        (RESULTS / "emulator_profile.md").write_text("\n".join(sections))
    (RESULTS / "emulator_speed.json").write_text(json.dumps(
        {"load_average": load, "rows": rows}, indent=1))
    (RESULTS / "emulator_speed.md").write_text(report(rows, args, load))
    print(report(rows, args, load))
    return 0


if __name__ == "__main__":
    sys.exit(main())
