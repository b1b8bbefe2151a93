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
import json
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

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
    from repro.config.experiment import load_experiment
    from repro.execution.dispatch import run_experiment
    from repro.records.store import Store
    from repro.targets.tables import resolve_targets

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


def timing_features(run, t0: float = 200.0, bin_ms: float = 0.5) -> dict[str, float]:
    """A timing-sensitive feature of the pooled population rate (not used by the verdict):
    the spectral centroid (Hz) of the population rate in 0.5 ms bins, 20-1000 Hz."""
    times = np.concatenate([p.times for p in run.populations])
    t1 = run.populations[0].t_stop
    counts = np.histogram(times[times >= t0], bins=np.arange(t0, t1 + 1e-9, bin_ms))[0]
    x = counts - counts.mean()
    freq = np.fft.rfftfreq(x.size, d=bin_ms / 1000.0)
    power = np.abs(np.fft.rfft(x)) ** 2
    band = (freq >= 20) & (freq <= 1000)
    return {"centroid": float((freq[band] * power[band]).sum() / power[band].sum())}


def any_cell(verdicts, value: str) -> bool:
    """True when some cell of a verdict Dataset has this verdict."""
    return bool((verdicts["verdict"].values == value).any())


def judge_splits(cells, pairs, ids, profile):
    """Verdict Datasets for (baseline indices, candidate indices) pairs."""
    from repro.compare.comparison import judge

    out = []
    for base, cand in pairs:
        index = [*base, *cand]
        subset = {key: data.subset(index) for key, data in cells.items()}
        out.append(judge(subset, len(base), profile, [ids[i] for i in base],
                         [ids[i] for i in cand]))
    return out


def rates(verdicts_list) -> dict:
    """Shares of comparisons with any fail / any warn, and per-cell counts."""
    n = len(verdicts_list)
    per_cell: dict[str, dict[str, int]] = {}
    for v in verdicts_list:
        for pop in v["population"].values.tolist():
            for stat in v["statistic"].values.tolist():
                verdict = str(v["verdict"].sel(population=pop, statistic=stat).values)
                if verdict != "pass":
                    cell = per_cell.setdefault(f"{pop}/{stat}", {"warn": 0, "fail": 0})
                    cell[verdict] += 1
    return {"n": n,
            "any_fail": sum(any_cell(v, "fail") for v in verdicts_list) / n,
            "any_warn": sum(any_cell(v, "warn") for v in verdicts_list) / n,
            "overall_pass": sum(v.attrs["overall"] == "pass" for v in verdicts_list) / n,
            "per_cell": dict(sorted(per_cell.items()))}


def analyse(groups: dict[str, list[Path]], splits: int, seed: int,
            profile_name: str = "default") -> dict:
    """Calibration, false alarms, power and the timing check (see the module docstring)."""
    from scipy.stats import ttest_ind

    from repro.compare.calibration import null_ratios, percentiles
    from repro.compare.comparison import cell_inputs
    from repro.compare.dataset import statistics_dataset
    from repro.compare.profiles import SCALAR_STATISTICS, load_profile
    from repro.compare.spikes import load_runs

    started = time.perf_counter()
    profile = load_profile(profile_name)
    runs = {group: load_runs(paths) for group, paths in groups.items()}
    ordered = [r for group in runs.values() for r in group]
    ids = [r.run_id for r in ordered]
    position = {run_id: i for i, run_id in enumerate(ids)}
    members = {group: [position[r.run_id] for r in group_runs]
               for group, group_runs in runs.items()}
    seeds_of = {r.run_id: r.seed for r in ordered}
    calibration = [i for i in members["baseline"] if seeds_of[ids[i]] in CALIBRATION_SEEDS]
    test = [i for i in members["baseline"] if seeds_of[ids[i]] in TEST_SEEDS]
    stats = statistics_dataset(ordered, profile.statistics)
    cells = cell_inputs(stats, ids, profile.compare)
    print(f"statistics and distances of {len(ids)} runs: "
          f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
    rng = np.random.default_rng(seed)
    results: dict = {"splits": splits, "seed": seed, "profile": profile.identity(),
                     "profile_r": {"k": list(profile.verdict.r_k),
                                   "r": list(profile.verdict.r_values),
                                   "r_scalar": list(profile.verdict.r_values_scalar)},
                     "runs": {g: len(m) for g, m in members.items()}}

    calibration_cells = {key: data.subset(calibration) for key, data in cells.items()}
    scalar = np.array([stat in SCALAR_STATISTICS for _, stat in calibration_cells])
    table, per_statistic = [], {}
    for k in (3, 5, 10):
        ratios = null_ratios(calibration_cells, k, splits, rng, profile)
        table.append({"k": k, **percentiles(ratios[:, ~scalar]),
                      **{f"scalar_{key}": value
                         for key, value in percentiles(ratios[:, scalar]).items()}})
        for col, (_, statistic) in enumerate(calibration_cells):
            per_statistic.setdefault(statistic, {}).setdefault(k, []).extend(
                ratios[:, col].tolist())
    results["calibration"] = table
    results["calibration_per_statistic"] = {
        stat: {k: percentiles(np.array(v))["r99"] for k, v in by_k.items()}
        for stat, by_k in per_statistic.items()}
    calibrated = replace(profile, name="calibrated-seeds-1-20", verdict=replace(
        profile.verdict, r_k=tuple(row["k"] for row in table),
        r_values=tuple(row["r99"] for row in table),
        r_k_scalar=tuple(row["k"] for row in table),
        r_values_scalar=tuple(row["scalar_r99"] for row in table)))

    def null_pairs(k: int) -> list:
        return [(list(p[:k]), list(p[k:2 * k])) for p in
                (rng.permutation(test) for _ in range(splits))]

    def power_pairs(variant: str, k: int) -> list:
        return [(list(rng.choice(test, k, replace=False)),
                 list(rng.choice(members[variant], k, replace=False))) for _ in range(splits)]

    results["false_alarms"] = {}
    for k in (3, 5, 10):
        pairs = null_pairs(k)
        for name, chosen in (("default", profile), ("calibrated", calibrated)):
            results["false_alarms"][f"k={k} {name}"] = rates(
                judge_splits(cells, pairs, ids, chosen))
        print(f"false alarms k={k}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    results["power"] = {}
    for variant in VARIANTS:
        pairs = power_pairs(variant, 5)
        for name, chosen in (("default", profile), ("calibrated", calibrated)):
            results["power"][f"{variant} k=5 {name}"] = rates(
                judge_splits(cells, pairs, ids, chosen))
        print(f"power {variant}: {time.perf_counter() - started:.0f} s", file=sys.stderr)

    features = {run_id: timing_features(run) for run_id, run in zip(ids, ordered, strict=True)}
    timing = {}
    for label, pairs in (("null (test vs test)", null_pairs(5)),
                         *((f"{v} vs baseline", power_pairs(v, 5)) for v in VARIANTS)):
        row = {}
        for feature in ("centroid",):
            hits = 0
            for base, cand in pairs:
                a = np.array([features[ids[i]][feature] for i in base])
                b = np.array([features[ids[i]][feature] for i in cand])
                p = ttest_ind(a, b, equal_var=False).pvalue
                hits += bool(np.isfinite(p) and p < 0.05)
            row[feature] = hits / len(pairs)
        timing[label] = row
    results["timing"] = timing
    groups_idx = (("baseline (test seeds)", test), *((v, members[v]) for v in VARIANTS))
    results["timing_means"] = {
        group: {"centroid": float(np.mean([features[ids[i]]["centroid"] for i in idx]))}
        for group, idx in groups_idx}
    run_means = {}
    for group, idx in groups_idx:
        row = {}
        for population in ("exc", "inh"):
            for statistic in ("rate", "cv", "fano", "corr"):
                values = stats[statistic].sel(population=population).isel(run=idx)
                means = values.mean(dim=[d for d in values.dims if d != "run"], skipna=True)
                row[f"{population}/{statistic}"] = (float(means.mean()),
                                                    float(means.std(ddof=1)))
        run_means[group] = row
    results["run_means"] = run_means
    results["seconds"] = time.perf_counter() - started
    return results


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def write_report(results: dict, output: Path) -> None:
    """Write the Markdown report (and the raw numbers next to it as JSON)."""
    lines = [
        "# Soundness of the comparison verdict (balanced_random, local NEST)",
        "",
        "Reproduce: `python benchmarks/soundness.py` (runs are cached in "
        "`~/.cache/repro/soundness`; the analysis uses `repro.compare` exactly as "
        "`repro compare` does). Raw numbers: `soundness.json`.",
        "",
        f"Runs: {results['runs']} (500 neurons, 1 s, NEST 3.10; baseline seeds 1-20 for "
        f"calibration, 21-60 for testing; variants on their own seeds). {results['splits']} "
        f"random splits per row, split seed {results['seed']}. Profile under test: "
        f"{results['profile']['name']} {results['profile']['version']} "
        f"(sha256 {results['profile']['sha256'][:12]}).",
        "",
        "## 1. Null distribution of R (seeds 1-20, disjoint k + k splits, pooled over the "
        "14 cells)",
        "",
        "| k | median | 95th | 99th | scalar cells: median / 95th / 99th | default R*(k) |",
        "|---|---|---|---|---|---|",
    ]
    default = dict(zip(results["profile_r"]["k"], results["profile_r"]["r"], strict=True))
    for row in results["calibration"]:
        lines.append(f"| {row['k']} | {row['r50']:.2f} | {row['r95']:.2f} | {row['r99']:.2f} | "
                     f"{row['scalar_r50']:.2f} / {row['scalar_r95']:.2f} / "
                     f"{row['scalar_r99']:.2f} | {default.get(row['k'], '-')} |")
    lines += ["", "99th percentile per statistic (both populations pooled):", "",
              "| statistic | k=3 | k=5 | k=10 |", "|---|---|---|---|"]
    for stat, by_k in results["calibration_per_statistic"].items():
        lines.append(f"| {stat} | " + " | ".join(f"{by_k[k]:.2f}" for k in (3, 5, 10)) + " |")
    lines += ["", "## 2. False alarms (test seeds 21-60, disjoint splits; target at k = 5: "
              "<= 2 % any fail, <= 10 % any warning)", "",
              "| k, profile | any fail | any warning | all pass | cells that warned/failed "
              "most |", "|---|---|---|---|---|"]
    for label, row in results["false_alarms"].items():
        lines.append(f"| {label} | {_pct(row['any_fail'])} | {_pct(row['any_warn'])} | "
                     f"{_pct(row['overall_pass'])} | {_top_cells(row)} |")
    lines += ["", "## 3. Power (5 test-seed baseline runs vs 5 variant runs; target >= 90 % "
              "fail)", "", "| variant, profile | fail | warn or fail | cells that failed most |",
              "|---|---|---|---|"]
    for label, row in results["power"].items():
        name = VARIANTS[label.split()[0]][0]
        lines.append(f"| {label} ({name}) | {_pct(row['any_fail'])} | "
                     f"{_pct(1 - row['overall_pass'])} | {_top_cells(row, 'fail')} |")
    base = results["run_means"]["baseline (test seeds)"]
    lines += ["", "## 4. Why power is low: seed-to-seed variability of run-level means", "",
              "Mean (sd over runs) of the run-level means, and the variant's shift in units "
              "of the baseline's seed-to-seed sd:", "",
              "| cell | baseline | B | C | D |", "|---|---|---|---|---|"]
    for cell, (mean, sd) in base.items():
        row = [f"{mean:.4g} ({sd:.2g})"]
        for variant in VARIANTS:
            v_mean, _ = results["run_means"][variant][cell]
            row.append(f"{v_mean:.4g} ({(v_mean - mean) / sd:+.1f} sd)")
        lines.append(f"| {cell} | " + " | ".join(row) + " |")
    lines += ["", "Most of this variability comes from the connectivity realisation each seed "
              "draws. With 5 runs per side an effect of about 1.5 sd rarely reaches "
              "Benjamini-Hochberg significance across 14 cells, so such changes end as warn, "
              "not fail. More seeds (k = 10), fewer cells, or a paired design (the same seeds "
              "on both sides share connectivity and Poisson input, which removes most of "
              "this variance) would raise power; the paired test is not implemented yet.", ""]
    d_row = results["power"]["D k=5 default"]
    null_row = results["false_alarms"]["k=5 default"]
    lines += ["## 5. The one-time-step delay change (D)", "",
              f"At k = 5 the verdict failed {_pct(d_row['any_fail'])} of D comparisons "
              f"(equivalent runs: {_pct(null_row['any_fail'])}) and warned or failed in "
              f"{_pct(1 - d_row['overall_pass'])} (equivalent runs: "
              f"{_pct(1 - null_row['overall_pass'])}). Distribution statistics do not "
              "reliably see a 0.1 ms shift of every delay: it changes *when* spikes happen "
              "far more than how many or how irregularly. A timing-sensitive feature, the "
              "spectral centroid of the pooled population rate (0.5 ms bins, 20-1000 Hz), "
              "compared with Welch's t-test (p < 0.05, 5 vs 5 runs):", "",
              "| comparison | centroid differs |", "|---|---|"]
    for label, row in results["timing"].items():
        lines.append(f"| {label} | {_pct(row['centroid'])} |")
    lines += ["", "Mean centroid: " + "; ".join(
        f"{g}: {m['centroid']:.1f} Hz" for g, m in results["timing_means"].items()) + ".", "",
        "Even this feature is neither specific (B moves it too) nor sensitive enough at "
        "k = 5. What would see a one-step delay change: frozen-input replay (connectivity "
        "and Poisson input exported once and replayed on both sides), where spike times "
        "can be compared spike by spike, or cross-correlograms and spectra at "
        "sub-millisecond resolution with many more seeds.",
        "", f"Analysis time: {results['seconds']:.0f} s.", ""]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(lines))
    output.with_suffix(".json").write_text(json.dumps(results, indent=1, default=float))


def _top_cells(row: dict, kind: str | None = None) -> str:
    counts = {cell: (c["fail"] if kind == "fail" else c["warn"] + c["fail"])
              for cell, c in row["per_cell"].items()}
    top = sorted(((n, cell) for cell, n in counts.items() if n), reverse=True)[:4]
    return ", ".join(f"{cell} {_pct(n / row['n'])}" for n, cell in top) or "-"


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="run store and experiment copies (outside the repository)")
    parser.add_argument("--splits", type=int, default=200, help="random splits per scenario")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the random splits")
    parser.add_argument("--runs-only", action="store_true", help="only make sure runs exist")
    parser.add_argument("--profile", default="default", help="tolerance profile to test")
    parser.add_argument("--output", type=Path, default=RESULTS / "soundness.md")
    args = parser.parse_args(argv)
    groups = ensure_runs(args.cache)
    if args.runs_only:
        return 0
    results = analyse(groups, splits=args.splits, seed=args.seed, profile_name=args.profile)
    write_report(results, args.output)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
