"""Cost of `repro run` over a bare PyNN script of the same network, as whole processes.

    python benchmarks/overhead.py [--pairs 5] [--neurons 500]

Each repeat runs, in alternating order and each in a fresh process:

- ``bare``: this file in ``--bare`` mode, a plain PyNN script (imports only pyNN and numpy)
  that builds the reference network ``balanced_random`` with PyNN's own connectors, runs it
  (experiment duration, 0.1 ms, seed 1, one thread), gets the spikes and saves them;
- ``repro``: ``repro run experiments/balanced_random -t local -s 1 --force`` into a
  scratch store (harness process, environment capture, RO-Crate, validation, store);
- ``repro-pynn-build``: the same with ``REPRO_FAST_CONNECT=0``, i.e. PyNN's build path as
  in the bare script, which isolates the harness overhead from the faster array build.

Reported: medians of wall-clock and CPU (user+sys of the whole process tree) seconds, and
the overhead repro - bare against the target max(1 s, 5 % of bare). The 1-minute load
average is recorded (the machine is shared). Results: ``benchmarks/results/overhead.md``
and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "experiments" / "balanced_random"
RESULTS = REPO / "benchmarks" / "results"
KINDS = ("bare", "repro", "repro-pynn-build")


def bare(experiment: Path, out: Path) -> None:
    """The bare script: what a user would write without repro."""
    import importlib.util
    import tomllib

    import numpy as np
    import pyNN.nest as sim

    spec = importlib.util.spec_from_file_location("network", experiment / "network.py")
    network = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(network)
    config = tomllib.loads((experiment / "experiment.toml").read_text())
    sim.setup(timestep=0.1, threads=1, rng_seed=1)
    populations = network.build(sim, config["params"], 1)
    for population in populations.values():
        population.record("spikes")
    sim.run(config["experiment"]["duration"])
    for name, population in populations.items():
        trains = population.get_data("spikes").segments[-1].spiketrains
        np.save(out / f"{name}.npy", np.concatenate([np.asarray(t) for t in trains]))
    sim.end()


def command(kind: str, experiment: Path, scratch: Path) -> tuple[list[str], dict[str, str]]:
    """argv and environment of one measurement."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p))
    if kind == "bare":
        return [sys.executable, __file__, "--bare", str(experiment), str(scratch)], env
    if kind == "repro-pynn-build":
        env["REPRO_FAST_CONNECT"] = "0"
    return [sys.executable, "-m", "repro", "run", str(experiment), "-t", "local", "-s", "1",
            "--force", "--store", str(scratch / "store")], env


def measure(kind: str, experiment: Path) -> dict:
    """One whole-process measurement: wall and CPU seconds of the process tree."""
    scratch = Path(tempfile.mkdtemp(prefix="repro-overhead-"))
    try:
        argv, env = command(kind, experiment, scratch)
        load = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False,
                              cwd=scratch)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise RuntimeError(f"{kind} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return {"kind": kind, "wall_s": wall, "cpu_s": cpu, "load": load}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def summarise(rows: list[dict]) -> dict:
    """Medians and overheads."""
    med = {k: {m: statistics.median(r[m] for r in rows if r["kind"] == k)
               for m in ("wall_s", "cpu_s")} for k in KINDS}
    out: dict = {"median": med, "load_1min": [round(min(r["load"] for r in rows), 1),
                                              round(max(r["load"] for r in rows), 1)]}
    allowed = max(1.0, 0.05 * med["bare"]["wall_s"])
    for kind in KINDS[1:]:
        over = med[kind]["wall_s"] - med["bare"]["wall_s"]
        out[kind] = {"wall_overhead_s": over,
                     "wall_ratio": med[kind]["wall_s"] / med["bare"]["wall_s"],
                     "cpu_overhead_s": med[kind]["cpu_s"] - med["bare"]["cpu_s"],
                     "cpu_ratio": med[kind]["cpu_s"] / med["bare"]["cpu_s"],
                     "allowed_s": allowed, "met": over <= allowed}
    return out


def report(rows: list[dict], summary: dict, args: argparse.Namespace) -> str:
    """Markdown."""
    med = summary["median"]
    lines = [
        "# `repro run` overhead against a bare PyNN script",
        "",
        f"`balanced_random` ({args.neurons} neurons), {args.pairs} alternating repeats, whole "
        f"processes, medians. Machine: {platform.machine()}, {os.cpu_count()} cores shared "
        f"with other jobs (1-minute load average: {summary['load_1min'][0]}-"
        f"{summary['load_1min'][1]}); CPU = user+sys of the process tree.",
        "",
        "| process | median wall (s) | median CPU (s) | walls (s) |",
        "|---|---|---|---|",
    ]
    for kind in KINDS:
        walls = ", ".join(f"{r['wall_s']:.1f}" for r in rows if r["kind"] == kind)
        lines.append(f"| {kind} | {med[kind]['wall_s']:.2f} | {med[kind]['cpu_s']:.2f} | "
                     f"{walls} |")
    lines.append("")
    for kind in KINDS[1:]:
        s = summary[kind]
        lines.append(
            f"- {kind} - bare: wall {s['wall_overhead_s']:+.2f} s (ratio "
            f"**{s['wall_ratio']:.3f}**), CPU {s['cpu_overhead_s']:+.2f} s (ratio "
            f"{s['cpu_ratio']:.3f}); target <= {s['allowed_s']:.2f} s: "
            f"{'met' if s['met'] else 'NOT met'}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--neurons", type=int, default=500)
    parser.add_argument("--bare", nargs=2, metavar=("EXPERIMENT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare:
        bare(Path(args.bare[0]), Path(args.bare[1]))
        return 0
    with tempfile.TemporaryDirectory(prefix="repro-overhead-exp-") as tmp:
        experiment = Path(tmp) / "balanced_random"
        shutil.copytree(REFERENCE, experiment)
        toml = experiment / "experiment.toml"
        toml.write_text(toml.read_text().replace("n_neurons = 500",
                                                 f"n_neurons = {args.neurons}"))
        rows = []
        for repeat in range(args.pairs):
            for kind in KINDS if repeat % 2 == 0 else KINDS[::-1]:
                row = measure(kind, experiment)
                print(f"{kind:17s} wall {row['wall_s']:6.2f} s  CPU {row['cpu_s']:6.2f} s  "
                      f"(load {row['load']:.1f})", flush=True)
                rows.append(row)
    summary = summarise(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "overhead.json").write_text(json.dumps({"rows": rows, "summary": summary},
                                                      indent=1))
    text = report(rows, summary, args)
    (RESULTS / "overhead.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
