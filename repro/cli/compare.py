"""``repro compare``, ``repro regress``, ``repro drift`` and ``repro calibrate``.

Exit codes (all four): 0 = pass (or nothing found), 1 = fail (drift: an effect or
nondeterminism), 2 = bad usage or input (selection, profile, corrupt or failed runs). Input
problems are reported in one line and nothing is written. Codes leave through ``SystemExit``:
the entry point runs click without standalone mode, which would swallow ``typer.Exit`` codes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from repro.cli.common import (
    STORE_OPTION,
    ExperimentOption,
    JsonOption,
    ProfileOption,
    SeedsOption,
    TargetsOption,
    console,
    err_console,
    experiment_name,
    open_store,
    print_json,
)
from repro.compare.outcomes import Verdict
from repro.errors import InputError, ReproError
from repro.execution.campaign import record_comparison
from repro.records.store import Store
from repro.site.clock import utc_now

RECORD_OPTION = typer.Option(True, "--record/--no-record",
                             help="Record the comparison as a campaign crate in the store.")
USAGE_EXIT = 2


def _load_side(store: Store, text: str, option: str) -> list:
    from repro.compare.selection import parse_selection, resolve_selection
    from repro.compare.spikes import load_runs

    return load_runs(resolve_selection(store, parse_selection(text, option)))


def _guard(call) -> Any:
    """Run ``call``; any repro error becomes one line on stderr and exit code 2."""
    try:
        return call()
    except ReproError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise SystemExit(USAGE_EXIT) from None


def _verdict_table(result) -> Table:
    from repro.compare.runs import cell_rows

    k_a = result.verdicts.attrs["k_baseline"]
    k_b = result.verdicts.attrs["k_candidate"]
    design = result.verdicts.attrs.get("design", "unpaired")
    table = Table(title=f"{k_a} baseline vs {k_b} candidate runs ({design} design) — overall: "
                        f"{result.overall.upper()}")
    for column in ("population", "statistic", "verdict", "R (R*)", "p adj", "test",
                   "baseline", "candidate", "diff (margin)"):
        table.add_column(column, justify="left" if column in ("population", "statistic",
                                                               "verdict", "test") else "right")
    for row in cell_rows(result.verdicts):
        style = Verdict(row["verdict"]).style
        table.add_row(
            row["population"], row["statistic"], f"[{style}]{row['verdict']}[/]",
            _fmt(row["r"]) + (f" ({_fmt(row['r_threshold'])})" if row["r_threshold"] else ""),
            _fmt(row["p_adjusted"], 3), row["test"], _fmt(row["baseline_mean"], 4),
            _fmt(row["candidate_mean"], 4),
            f"{_fmt(row['difference'], 3)} ({_fmt(row['margin'], 3)})"
            + ("" if row["margin_ok"] else " !"))
    return table


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}g}" if abs(value) < 1e-2 and value != 0 else f"{value:.{digits}f}"


def _print_notes(notes: list[str]) -> None:
    for note in notes:
        console.print(f"note: {note}", highlight=False, markup=False)


def _moved_lines(result) -> list[str]:
    lines = []
    for cell in result.moved():
        reasons = []
        if cell["r"] is not None and cell["r_threshold"] is not None \
                and cell["r"] > cell["r_threshold"]:
            reasons.append(f"R {cell['r']:.2f} > {cell['r_threshold']:.2f}")
        if not cell["margin_ok"]:
            reasons.append(f"mean {cell['baseline_mean']:.4g} -> {cell['candidate_mean']:.4g} "
                           f"(margin {cell['margin']:.3g})")
        if cell["significant"]:
            reasons.append(f"p_adj {cell['p_adjusted']:.3g}")
        lines.append(f"{cell['verdict'].upper():4} {cell['population']}/{cell['statistic']}: "
                     + ", ".join(reasons or ["no data"]))
    return lines


def _exit_for(overall: str, fail_on_warn: bool = False) -> int:
    return 1 if overall == Verdict.FAIL or (fail_on_warn and overall == Verdict.WARN) else 0


def compare(
    baseline: str | None = typer.Option(
        None, "--baseline", "-b", help="Baseline runs: SEL (key=value,... or a crate path)."),
    candidate: str | None = typer.Option(
        None, "--candidate", "-c", help="Candidate runs: SEL."),
    experiment: ExperimentOption = None,
    targets: TargetsOption = None,
    seeds: SeedsOption = None,
    profile: ProfileOption = "default",
    as_json: JsonOption = False,
    record: bool = RECORD_OPTION,
    store: Path | None = STORE_OPTION,
) -> None:
    """Judge whether candidate runs match baseline runs within tolerance.

    Statistics per population (rate, CV ISI, LV, Fano factor, correlations, population rate,
    excluded fraction) are compared with the seed-to-seed variability as baseline: each
    cell passes, warns or fails (see docs/comparison-method.md). The comparison is recorded
    as a campaign crate unless --no-record. Exit code: 0 pass/warn, 1 fail, 2 bad input.

    SEL is comma-separated key=value terms (experiment, target, seed, kind, site, model,
    env, run) or a crate path. Examples:

      repro compare -b experiment=balanced_random,seed=1-5 -c experiment=balanced_random,seed=6-10

      repro compare -e balanced_random -t local,spinnaker_emulator

    With -e/--experiment (a name or an experiment file), -t/--targets names the baseline and
    the candidate target, in that order; -s/--seeds restricts both sides to those seeds.
    """
    run_store = open_store(store)
    started = utc_now()

    def work():
        from repro.compare.profiles import load_profile
        from repro.compare.runs import compare_runs

        base_sel, cand_sel = _sides(baseline, candidate, experiment_name(experiment), targets,
                                    seeds)
        chosen = load_profile(profile)
        result = compare_runs(_load_side(run_store, base_sel, "--baseline"),
                              _load_side(run_store, cand_sel, "--candidate"), chosen)
        return chosen, result

    chosen, result = _guard(work)
    crate = record_comparison(run_store, "comparison", f"compare {baseline or experiment} vs "
                    f"{candidate or targets}", result, chosen, started) if record else None
    summary = result.summary()
    if as_json:
        print_json({**summary, "campaign_crate": str(crate) if crate else None})
    else:
        console.print(_verdict_table(result))
        _print_notes(summary["notes"])
        if crate:
            console.print(f"recorded: {crate}", highlight=False)
    raise SystemExit(_exit_for(result.overall))


def _sides(baseline: str | None, candidate: str | None, experiment: str | None,
           targets: str | None, seeds: str | None) -> tuple[str, str]:
    """Baseline and candidate selections from either option style."""
    if baseline or candidate:
        if not (baseline and candidate):
            raise InputError("give both --baseline and --candidate", field="--candidate"
                             if baseline else "--baseline")
        if experiment or targets:
            raise InputError("use either --baseline/--candidate or --experiment/--targets",
                             field="--experiment")
        extra = f",seed={seeds}" if seeds else ""
        return baseline + (extra if "=" in baseline else ""), candidate + (
            extra if "=" in candidate else "")
    names = [t.strip() for t in (targets or "").split(",") if t.strip()]
    if not experiment or len(names) != 2:
        raise InputError("give --baseline SEL --candidate SEL, or --experiment NAME "
                         "--targets BASELINE,CANDIDATE", field="--targets")
    extra = f",seed={seeds}" if seeds else ""
    return (f"experiment={experiment},target={names[0]}{extra}",
            f"experiment={experiment},target={names[1]}{extra}")


def regress(
    baseline: str | None = typer.Option(None, "--baseline", "-b", help="Baseline runs (SEL)."),
    candidate: str | None = typer.Option(None, "--candidate", "-c",
                                         help="Candidate runs (SEL)."),
    profile: ProfileOption = "default",
    fail_on_warn: bool = typer.Option(False, "--fail-on-warn",
                                      help="Exit 1 on warn as well as on fail."),
    as_json: JsonOption = False,
    record: bool = RECORD_OPTION,
    store: Path | None = STORE_OPTION,
) -> None:
    """CI regression gate between two run sets (e.g. two ESD releases).

    Exit code 0 = pass, 1 = fail (the candidate moved beyond tolerance), 2 = usage or input
    error. Prints a one-screen summary: the verdict, what moved, and what changed in the
    environment between the two sides.

      repro regress --baseline env=3f2a91,experiment=balanced_random --candidate env=77c0de
    """
    run_store = open_store(store)
    started = utc_now()

    def work():
        from repro.compare.drift import environment_diff, environment_of
        from repro.compare.profiles import load_profile
        from repro.compare.runs import compare_runs

        for value, option in ((baseline, "--baseline"), (candidate, "--candidate")):
            if not value:
                raise InputError(f"missing {option} SEL (regress needs both sides)",
                                 field=option)
        chosen = load_profile(profile)
        result = compare_runs(_load_side(run_store, baseline, "--baseline"),
                              _load_side(run_store, candidate, "--candidate"), chosen)
        diff = environment_diff(environment_of(result.baseline),
                                environment_of(result.candidate))
        return chosen, result, diff

    chosen, result, diff = _guard(work)
    summary = {**result.summary(), "environment_changes": diff.as_dict()}
    crate = record_comparison(run_store, "regression", f"regress {baseline} -> {candidate}", result,
                    chosen, started, summary=summary) if record else None
    if as_json:
        print_json({**summary, "campaign_crate": str(crate) if crate else None})
    else:
        style = result.overall.style
        console.print(f"regression verdict: [{style}]{result.overall.upper()}[/] "
                      f"({len(result.baseline)} baseline vs {len(result.candidate)} candidate "
                      f"runs, profile {chosen.name} {chosen.version})")
        moved = _moved_lines(result)
        console.print("what moved:" if moved else "nothing moved beyond tolerance")
        for line in moved:
            console.print(f"  {line}", highlight=False, markup=False)
        changes = diff.lines()
        console.print("environment changes:" if changes else "environment: unchanged")
        for line in changes[:15]:
            console.print(f"  {line}", highlight=False, markup=False)
        if len(changes) > 15:
            console.print(f"  ... and {len(changes) - 15} more (see --json)")
        _print_notes(summary["notes"])
        if crate:
            console.print(f"recorded: {crate}", highlight=False)
    raise SystemExit(_exit_for(result.overall, fail_on_warn))


def drift(
    selection: str = typer.Argument(..., help="Runs to examine (SEL), e.g. "
                                              "experiment=balanced_random."),
    profile: ProfileOption = "default",
    as_json: JsonOption = False,
    store: Path | None = STORE_OPTION,
) -> None:
    """Classify environment drift between runs of the same model.

    Runs are grouped by model hash and execution environment (packages, container digest,
    ESD release, site, thread layout, simulator version and resolution). Each group with
    repeated seeds gets a strict check (identical environment + seed + threads must give
    identical spike files); each later environment is compared with the earliest one:
    consistent, benign-drift, drift-with-effect (changed packages next to the statistics that
    moved) or nondeterminism. Exit code 1 if any drift with effect or nondeterminism.
    """
    run_store = open_store(store)

    def work():
        from repro.compare.drift import drift_report
        from repro.compare.profiles import load_profile
        from repro.compare.selection import parse_selection, resolve_selection
        from repro.compare.spikes import load_runs

        runs = load_runs(resolve_selection(run_store, parse_selection(selection, "SEL")))
        return drift_report(runs, load_profile(profile))

    report = _guard(work)
    if as_json:
        print_json(report.as_dict())
    else:
        for line in report.lines():
            console.print(line, highlight=False, markup=False)
    raise SystemExit(1 if report.alarming else 0)


def calibrate(
    selection: str = typer.Argument(..., help="Runs of ONE target and model (SEL), >= 6."),
    ks: str = typer.Option("3,5,10", "--k", help="Seeds per side to calibrate for."),
    splits: int = typer.Option(200, "--splits", help="Random disjoint splits per k."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random splits."),
    profile: ProfileOption = "default",
    name: str | None = typer.Option(None, "--name",
                                    help="Name of the calibrated profile (default: "
                                         "<profile>-<model hash prefix>)."),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="Where to write it (default ./profiles/NAME.toml)."),
    as_json: JsonOption = False,
    store: Path | None = STORE_OPTION,
) -> None:
    """Derive R thresholds R*(k) from a target compared with itself on disjoint seed sets.

    The runs are split many times into two disjoint sets of k seeds; R of every
    (population, statistic) cell is the null distribution. Its 99th percentile becomes R*(k)
    in a new profile (a copy of --profile with the new thresholds, name and version).
    """
    run_store = open_store(store)

    def work():
        from repro.compare.calibration import calibrate_runs
        from repro.compare.profiles import load_profile
        from repro.compare.runs import single_model

        runs = _load_side(run_store, selection, "SEL")
        model = single_model(runs, "calibration")
        if len({r.target for r in runs}) != 1:
            raise InputError("calibrate runs of one target (add target=NAME)", field="SEL")
        try:
            k_list = sorted({int(k) for k in ks.split(",")})
        except ValueError:
            raise InputError(f"cannot read {ks!r} as a list of integers", field="--k") from None
        base = load_profile(profile)
        table = calibrate_runs(runs, base, k_list, splits, seed)
        profile_name = name or f"{base.name}-{model[:8]}"
        path = output or Path("profiles") / f"{profile_name}.toml"
        if path.exists():
            raise InputError("exists already; choose another --name or --output", path=path)
        return table, base, profile_name, path, model, runs

    table, base, profile_name, path, model, runs = _guard(work)
    from repro.compare.profiles import with_r_thresholds

    usable = [row for row in table if row["r99"] is not None]
    if len(usable) < 2:
        err_console.print(f"[bold red]error:[/] {len(runs)} runs allow fewer than two k values "
                          "(need 2k distinct seeds per k)")
        raise SystemExit(USAGE_EXIT)
    note = (f"calibrated {utc_now()} on {len(runs)} runs of model {model[:12]} (target "
            f"{runs[0].target}), {usable[0]['splits']} splits per k, from {base.name} "
            f"{base.version}")
    tables = {"verdict.r_threshold": ([row["k"] for row in usable],
                                      [row["r99"] for row in usable])}
    scalar_rows = [row for row in usable if row["scalar_r99"] is not None]
    if len(scalar_rows) >= 2:
        tables["verdict.r_threshold_scalar"] = ([row["k"] for row in scalar_rows],
                                                [row["scalar_r99"] for row in scalar_rows])
    text = with_r_thresholds(Path(base.source).read_text(), tables, name=profile_name,
                             version=f"{base.version}+cal.{datetime.now(UTC):%Y%m%d}",
                             note=note)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if as_json:
        print_json({"profile": str(path), "table": table, "note": note})
        return
    out = Table(title=f"null R ({len(runs)} runs, pooled over cells)")
    for column in ("k", "splits", "median", "95th", "99th = R*(k)", "scalar 99th"):
        out.add_column(column, justify="right")
    for row in table:
        out.add_row(str(row["k"]), str(row["splits"]), *(_fmt(row[c]) for c in
                                                         ("r50", "r95", "r99", "scalar_r99")))
    console.print(out)
    console.print(f"wrote {path} (use it with --profile {profile_name})", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``compare``, ``regress``, ``drift`` and ``calibrate``."""
    app.command()(compare)
    app.command()(regress)
    app.command()(drift)
    app.command()(calibrate)

