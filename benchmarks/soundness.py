"""Soundness study of the comparison verdict on the reference network (one command).

    python benchmarks/soundness.py            # runs what is missing, then analyses

Runs (real local NEST, cached in a run store outside the repository, default
``~/.cache/repro/soundness``; reruns reuse them through the run key):

* baseline ``balanced_random``: calibration seeds 1-20 and test seeds 21-60;
* variant B: recurrent excitatory weights x 1.10 (seeds 101-120);
* variant C: membrane time constant x 1.05 (seeds 201-220);
* variant D: every delay + 0.1 ms, one time step (seeds 301-320).

Analysis (``repro.compare`` exactly as ``repro compare`` uses it, on random splits):

1. calibration: null R on disjoint k + k splits of seeds 1-20 (k = 3, 5, 10), pooled over
   cells: median / 95th / 99th percentile;
2. false alarms: disjoint 5 + 5 splits of the test seeds 21-60, with the shipped default
   profile and with the thresholds calibrated in step 1: share of comparisons with any fail
   and with any warning;
3. power: 5 test-seed baseline runs vs 5 variant runs (B, C, D): share that fail;
4. timing: the population-rate spectrum peak (a timing-sensitive statistic the verdict does
   not use) compared with Welch's t-test, to show what would see the delay change D.

Results go to ``benchmarks/results/soundness.md`` (and ``.json``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "experiments" / "balanced_random"
DEFAULT_CACHE = Path.home() / ".cache" / "repro" / "soundness"
RESULTS = REPO / "benchmarks" / "results"

#: name -> (description, seeds, {experiment.toml text: replacement})
VARIANTS = {
    "B": ("recurrent excitatory weights x 1.10", range(101, 121),
          {"w_exc = 1.0 ": "w_exc = 1.1 "}),
    "C": ("membrane time constant x 1.05", range(201, 221), {"tau_m = 20.0": "tau_m = 21.0"}),
    "D": ("every delay + 0.1 ms (one time step)", range(301, 321),
          {"delay_mean = 1.5": "delay_mean = 1.6", "delay_min = 1.0": "delay_min = 1.1",
           "delay_max = 3.0": "delay_max = 3.1"}),
}
CALIBRATION_SEEDS = range(1, 21)
TEST_SEEDS = range(21, 61)


def experiment_copy(cache: Path, name: str, replacements: dict[str, str]) -> Path:
    """The reference experiment copied into the cache with text replacements."""
    dest = cache / "experiments" / name
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(REFERENCE, dest)
    toml = dest / "experiment.toml"
    text = toml.read_text().replace('name = "balanced_random"', f'name = "{name}"')
    for old, new in replacements.items():
        if old not in text:
            raise SystemExit(f"cannot make variant {name}: {old!r} not in experiment.toml")
        text = text.replace(old, new)
    toml.write_text(text)
    return dest


def ensure_runs(cache: Path) -> dict[str, list[Path]]:
    """Run (or reuse) every run of the study; return crate directories per group."""
    from repro.dispatch import run_experiment
    from repro.experiment import load_experiment
    from repro.store import Store
    from repro.targetconfig import resolve_targets

    store = Store(cache / "crates")
    plan = {"baseline": (REFERENCE, [*CALIBRATION_SEEDS, *TEST_SEEDS])}
    for name, (_, seeds, replacements) in VARIANTS.items():
        plan[name] = (experiment_copy(cache, f"balanced_random_{name}", replacements),
                      list(seeds))
    groups: dict[str, list[Path]] = {}
    for group, (directory, seeds) in plan.items():
        experiment = load_experiment(directory)
        started = time.perf_counter()
        outcomes = run_experiment(experiment, resolve_targets(["local"], experiment), seeds,
                                  store)
        failed = [o for o in outcomes if not o.ok]
        if failed:
            raise SystemExit(f"{len(failed)} runs of {group} failed, e.g. "
                             f"{failed[0].record.extra}")
        cached = sum(o.cached for o in outcomes)
        print(f"{group}: {len(outcomes)} runs ({cached} cached) in "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
        groups[group] = [store.crate_dir(o.record) for o in outcomes]
    return groups


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="run store and experiment copies (outside the repository)")
    parser.add_argument("--splits", type=int, default=200, help="random splits per scenario")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the random splits")
    parser.add_argument("--runs-only", action="store_true", help="only make sure runs exist")
    parser.add_argument("--output", type=Path, default=RESULTS / "soundness.md")
    args = parser.parse_args(argv)
    groups = ensure_runs(args.cache)
    if args.runs_only:
        return 0
    from benchmarks.soundness_analysis import analyse, write_report

    results = analyse(groups, splits=args.splits, seed=args.seed)
    write_report(results, args.output)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
