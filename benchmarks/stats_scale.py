"""Statistics at scale: the streamed path vs the in-memory path and Elephant, same run.

    python benchmarks/stats_scale.py [--spikes 1e6,1e7,1e8] [--neurons 100000]
                                     [--repeat 3] [--in-memory-max 1e7] [--elephant-max 0]

For each size a synthetic spike file (one population of ``--neurons`` neurons, gamma
distributed rates, ``--duration`` ms, times on a 0.1 ms grid) is written in chunks (never
held whole), then analysed with the default profile's settings by

* the streamed path (:func:`repro.compare.streaming.population_statistics_streaming`),
* the in-memory path (:func:`repro.site.spikefile.read_spikes` +
  :func:`repro.compare.statistics.population_statistics`), up to ``--in-memory-max``
  spikes, and
* Elephant's per-train loop (:func:`population_statistics_elephant`), up to
  ``--elephant-max`` spikes (off by default: it loops over all 100,000 neurons and takes
  tens of minutes; ``benchmarks/stats_speed.py`` measures it against the in-memory path).

Every measurement runs in a fresh process; wall time is the median over ``--repeat``
runs, peak memory is the process's maximum resident set size (``ru_maxrss``) minus the
resident size after imports, plus Python's own peak allocation (``tracemalloc``) for the
analysis. Streamed and in-memory results are checked to be identical before timing counts.
Results go to ``benchmarks/results/stats_scale.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def write_synthetic(path: Path, neurons: int, spikes: int, duration_ms: float, seed: int,
                    chunk_neurons: int = 2000) -> int:
    """Write a ``repro.spikes/1`` file of about ``spikes`` spikes, neuron chunk by chunk."""
    rng = np.random.default_rng(seed)
    weights = rng.gamma(2.0, 1.0, neurons)
    counts = rng.multinomial(spikes, weights / weights.sum())
    indptr = np.zeros(neurons + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    meta = {"format": "repro.spikes/1", "time_unit": "ms", "populations": [
        {"name": "exc", "size": neurons, "celltype": "IF_curr_exp", "t_start": 0.0,
         "t_stop": duration_ms, "key": "p0"}]}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in (("meta", np.array(json.dumps(meta))), ("p0_indptr", indptr)):
            with archive.open(f"{name}.npy", "w") as handle:
                np.lib.format.write_array(handle, array)
        header = {"descr": "<f8", "fortran_order": False, "shape": (int(indptr[-1]),)}
        with archive.open("p0_times.npy", "w", force_zip64=True) as handle:
            np.lib.format.write_array_header_1_0(handle, header)
            for first in range(0, neurons, chunk_neurons):
                stop = min(first + chunk_neurons, neurons)
                n = int(indptr[stop] - indptr[first])
                times = np.round(rng.uniform(0.0, duration_ms, n), 1)
                owner = np.repeat(np.arange(stop - first), counts[first:stop])
                handle.write(times[np.lexsort((times, owner))].tobytes())
    return int(indptr[-1])


def _peak_rss_kib() -> int:
    """Peak resident set size of this process image (``VmHWM``; unlike ``ru_maxrss`` it
    does not inherit the parent's peak across ``exec``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(mode: str, path: Path, chunk: int) -> dict:
    """Analyse ``path`` once in this process with ``mode``; timings and peak memory."""
    import tracemalloc

    import scipy.sparse  # noqa: F401 - imported lazily by the correlations; not timed

    from repro.compare.profiles import load_profile
    from repro.compare.statistics import population_statistics, population_statistics_elephant
    from repro.compare.streaming import population_statistics_streaming
    from repro.site.spikefile import read_spikes

    config = load_profile("default").statistics
    baseline_kib = _peak_rss_kib()
    tracemalloc.start()
    start = time.perf_counter()
    if mode == "streamed":
        result = population_statistics_streaming(path, "exc", config, chunk_spikes=chunk)
    elif mode == "in-memory":
        result = population_statistics(read_spikes(path)[0], config)
    else:
        result = population_statistics_elephant(read_spikes(path)[0], config)
    wall = time.perf_counter() - start
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"mode": mode, "wall_s": wall, "tracemalloc_peak_mib": traced / 2**20,
            "rss_growth_mib": (_peak_rss_kib() - baseline_kib) / 1024.0,
            "active": int(result.active.sum())}


def run_child(mode: str, path: Path, chunk: int) -> dict:
    """:func:`measure` in a fresh interpreter (clean peak-memory counters)."""
    command = [sys.executable, __file__, "--child", mode, "--file", str(path),
               "--chunk", str(chunk)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{mode} on {path} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def identical(path: Path, chunk: int) -> bool:
    """Whether the streamed and in-memory results are equal, element for element."""
    from repro.compare.profiles import load_profile
    from repro.compare.statistics import population_statistics
    from repro.compare.streaming import population_statistics_streaming
    from repro.site.spikefile import read_spikes

    config = load_profile("default").statistics
    a = population_statistics_streaming(path, "exc", config, chunk_spikes=chunk)
    b = population_statistics(read_spikes(path)[0], config)
    return all(np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True)
               for f in ("rate", "cv", "lv", "fano", "active", "corr_neurons", "corr",
                         "pop_rate"))


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spikes", default="1e6,1e7,1e8")
    parser.add_argument("--neurons", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=10_000.0, help="ms")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=1 << 20, help="spikes per chunk")
    parser.add_argument("--in-memory-max", type=float, default=1e7)
    parser.add_argument("--elephant-max", type=float, default=0.0)
    parser.add_argument("--output", type=Path, default=RESULTS / "stats_scale.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child, args.file, args.chunk)))
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="stats-scale-") as tmp:
        for size in (int(float(s)) for s in args.spikes.split(",")):
            path = Path(tmp) / f"spikes_{size}.npz"
            n_spikes = write_synthetic(path, args.neurons, size, args.duration, seed=1)
            same = identical(path, args.chunk) if size <= args.in_memory_max else None
            modes = ["streamed"] + (["in-memory"] if size <= args.in_memory_max else []) \
                + (["elephant"] if size <= args.elephant_max else [])
            for mode in modes:
                repeats = 1 if mode == "elephant" else args.repeat
                runs = [run_child(mode, path, args.chunk) for _ in range(repeats)]
                row = {"spikes": n_spikes, "mode": mode, "repeats": repeats,
                       "wall_s": statistics.median(r["wall_s"] for r in runs),
                       "rss_growth_mib": max(r["rss_growth_mib"] for r in runs),
                       "tracemalloc_peak_mib": max(r["tracemalloc_peak_mib"] for r in runs),
                       "identical_to_in_memory": same}
                rows.append(row)
                print(f"{n_spikes:>11,d} spikes {mode:9s}: {row['wall_s']:8.2f} s, "
                      f"+{row['rss_growth_mib']:7.1f} MiB RSS, "
                      f"{row['tracemalloc_peak_mib']:7.1f} MiB traced", flush=True)
            path.unlink()
    RESULTS.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    args.output.write_text(report(rows, args))
    print(report(rows, args))
    return 0


def report(rows: list[dict], args: argparse.Namespace) -> str:
    """Markdown table with ratios against the baselines of the same run."""
    by = {(r["spikes"], r["mode"]): r for r in rows}
    load = os.getloadavg()
    lines = [
        "# Statistics at scale: streamed vs in-memory vs Elephant",
        "",
        "Command: `python benchmarks/stats_scale.py"
        + (" " + " ".join(sys.argv[1:])).rstrip() + "`",
        "",
        f"- one population of {args.neurons:,d} neurons, {args.duration:g} ms, default "
        f"profile statistics (rate, CV, LV, Fano, correlations of 200 sampled neurons, "
        f"population rate); chunk {args.chunk:,d} spikes",
        f"- wall time: median of {args.repeat} fresh processes (Elephant: 1); peak memory: "
        "growth of the peak RSS (VmHWM) during the analysis and tracemalloc's peak",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs; "
        f"load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}: "
        "timings were taken under load, ratios within one size are from the same run",
        "",
        "| spikes | path | wall (s) | ns / spike | RSS growth (MiB) | traced peak (MiB) "
        "| vs in-memory | vs Elephant | identical |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        memory = by.get((row["spikes"], "in-memory"))
        elephant = by.get((row["spikes"], "elephant"))
        lines.append(
            f"| {row['spikes']:,d} | {row['mode']} | {row['wall_s']:.2f} | "
            f"{row['wall_s'] / row['spikes'] * 1e9:.0f} | {row['rss_growth_mib']:.0f} | "
            f"{row['tracemalloc_peak_mib']:.0f} | "
            + (f"{memory['wall_s'] / row['wall_s']:.2f}x" if memory else "-") + " | "
            + (f"{elephant['wall_s'] / row['wall_s']:.0f}x" if elephant else "-") + " | "
            + {True: "yes", False: "NO", None: "-"}[row["identical_to_in_memory"]] + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
