"""Network build time on NEST: repro's array path against PyNN's own path, same run.

    python benchmarks/build_speed.py [--neurons 10000] [--repeats 3] [--duration 1000]

The reference network ``balanced_random`` (``n_neurons`` set, everything else unchanged, so
10,000 neurons have ~1,000 synapses each) is built on pyNN.nest, one thread, in a fresh
process per measurement, alternating PyNN's path (the baseline) and repro's array path
(:mod:`repro.site.fastconnect`). Build = ``build()`` plus ``record()``; simulate = ``run()``.
Both paths must give the same number of connections and identical spikes (checked). Reported:
medians over repeats, the ratio array build / PyNN build, and array build / simulation (the
target is <= 1). The 1-minute load average is recorded around every measurement (the machine
is shared). Results: ``benchmarks/results/build_speed_<neurons>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time

from reference_network import REPO, load_reference  # benchmarks/ is on sys.path

RESULTS = REPO / "benchmarks" / "results"
PATHS = ("pynn", "array")


def measure(path: str, n_neurons: int, duration: float, timestep: float, seed: int) -> dict:
    """Build and run the reference network once in this process with ``path``."""
    os.environ["REPRO_FAST_CONNECT"] = "1" if path == "array" else "0"
    import nest
    import pyNN.nest as sim

    from repro.site import fastconnect

    fastconnect.install(sim)
    network, params = load_reference(n_neurons)
    sim.setup(timestep=timestep, threads=1, rng_seed=seed)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    populations = network.build(sim, params, seed)
    for population in populations.values():
        population.record("spikes")
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sim.run(duration)
    run_s = time.perf_counter() - t0
    digest = hashlib.sha256()
    n_spikes = 0
    for name in sorted(populations):
        for train in populations[name].get_data("spikes").segments[-1].spiketrains:
            times = train.magnitude.astype(float)
            digest.update(times.tobytes())
            n_spikes += len(times)
    return {"path": path, "n_neurons": n_neurons, "duration_ms": duration,
            "timestep_ms": timestep, "build_s": build_s, "run_s": run_s,
            "connections": int(nest.GetKernelStatus("num_connections")),
            "n_spikes": n_spikes, "spikes_sha256": digest.hexdigest(),
            "load_before": load, "load_after": os.getloadavg()[0]}


def measure_in_child(path: str, args: argparse.Namespace) -> dict:
    """Run :func:`measure` in a fresh interpreter."""
    command = [sys.executable, __file__, "--child", path, "--neurons", str(args.neurons),
               "--duration", str(args.duration), "--timestep", str(args.timestep),
               "--seed", str(args.seed)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p), PYNEST_QUIET="1")
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{path} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarise(rows: list[dict], paths: tuple[str, ...]) -> dict:
    """Medians per path and the ratios."""
    med = {path: {key: statistics.median(r[key] for r in rows if r["path"] == path)
                  for key in ("build_s", "run_s")} for path in paths}
    both = "pynn" in med and "array" in med
    return {"median": med,
            "array_build_over_pynn_build": (med["array"]["build_s"] / med["pynn"]["build_s"]
                                            if both else None),
            "array_build_over_simulation": (med["array"]["build_s"] / med["array"]["run_s"]
                                            if "array" in med else None),
            "same_connections": len({r["connections"] for r in rows}) == 1,
            "same_spikes": len({r["spikes_sha256"] for r in rows}) == 1,
            "load_1min": [round(min(r["load_before"] for r in rows), 1),
                          round(max(r["load_after"] for r in rows), 1)]}


def report(rows: list[dict], summary: dict, args: argparse.Namespace,
           paths: tuple[str, ...]) -> str:
    """Markdown table."""
    med = summary["median"]
    lines = [
        "# Network build speed on NEST",
        "",
        f"`balanced_random` with {args.neurons} neurons, {args.duration:g} ms at "
        f"{args.timestep:g} ms, seed {args.seed}, one thread, {args.repeats} alternating "
        f"repeats, fresh process each. Machine: {platform.machine()}, {os.cpu_count()} cores "
        f"shared with other jobs (1-minute load average during the run: "
        f"{summary['load_1min'][0]}-{summary['load_1min'][1]}).",
        "",
        "| path | median build (s) | median simulate (s) | builds (s) |",
        "|---|---|---|---|",
    ]
    for path in paths:
        builds = ", ".join(f"{r['build_s']:.1f}" for r in rows if r["path"] == path)
        lines.append(f"| {path} | {med[path]['build_s']:.2f} | {med[path]['run_s']:.2f} | "
                     f"{builds} |")
    lines.append("")
    if summary["array_build_over_pynn_build"] is not None:
        ratio = summary["array_build_over_pynn_build"]
        lines.append(f"- array build / PyNN build: **{ratio:.3f}** ({1 / ratio:.1f}x faster)")
    if summary["array_build_over_simulation"] is not None:
        lines.append(f"- array build / simulation: "
                     f"**{summary['array_build_over_simulation']:.2f}** (target <= 1)")
    lines.append(f"- same number of connections in every run: {summary['same_connections']} "
                 f"({rows[0]['connections']}); identical spikes: {summary['same_spikes']} "
                 f"({rows[0]['n_spikes']} spikes)")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--neurons", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--duration", type=float, default=1000.0, help="biological ms")
    parser.add_argument("--timestep", type=float, default=1.0, help="ms")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--paths", default=",".join(PATHS),
                        help="comma-separated paths to measure (array alone: build vs "
                             "simulation only)")
    parser.add_argument("--child", choices=PATHS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child, args.neurons, args.duration, args.timestep,
                                 args.seed)))
        return 0
    paths = tuple(p for p in PATHS if p in args.paths.split(","))
    rows = []
    for repeat in range(args.repeats):
        for path in paths if repeat % 2 == 0 else paths[::-1]:
            row = measure_in_child(path, args)
            print(f"{path:6s} build {row['build_s']:7.2f} s  simulate {row['run_s']:7.2f} s  "
                  f"({row['connections']} connections, {row['n_spikes']} spikes, load "
                  f"{row['load_before']:.1f})", flush=True)
            rows.append(row)
    summary = summarise(rows, paths)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f"build_speed_{args.neurons}"
    (RESULTS / f"{stem}.json").write_text(json.dumps({"rows": rows, "summary": summary},
                                                     indent=1))
    text = report(rows, summary, args, paths)
    (RESULTS / f"{stem}.md").write_text(text)
    print(text)
    return 0 if summary["same_connections"] and summary["same_spikes"] else 1


if __name__ == "__main__":
    sys.exit(main())
