"""Render the validation report as one self-contained HTML page (inline CSS, embedded PNGs).

The page needs no network and no JavaScript: figures are ``data:`` URIs, styles are inline,
links to run crates are relative paths.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from repro import __version__
from repro.compare.outcomes import Verdict
from repro.report import figures
from repro.report.analysis import (
    DriftAssessment,
    moved_cells,
    number,
    reasons,
)
from repro.report.view import SIDES, CampaignView, RunView, seed_ranges
from repro.site.clock import utc_now

CSS = """
:root { --pass: #009E73; --warn: #E69F00; --fail: #D55E00; --ink: #1a1a1a; --muted: #5a5a5a;
        --line: #d0d0d0; --shade: #f4f4f4; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: var(--ink);
       margin: 0; background: #fff; line-height: 1.45; font-size: 15px; }
main { max-width: 1280px; margin: 0 auto; padding: 1.2em 1.6em 3em; }
h1 { font-size: 1.55em; margin: 0.2em 0 0.1em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 2px solid var(--line);
     padding-bottom: 0.2em; }
h3 { font-size: 1.05em; margin: 1.4em 0 0.4em; }
.subtitle { color: var(--muted); margin: 0 0 1em; }
nav { font-size: 0.9em; margin: 0.6em 0 1em; }
nav a { margin-right: 1.1em; }
.banner { border-radius: 6px; padding: 0.9em 1.2em; margin: 0.8em 0 1em; color: #fff;
          display: flex; gap: 1em; align-items: center; }
.banner .word { font-size: 2.1em; font-weight: bold; letter-spacing: 0.04em; }
.banner .text { font-size: 1.08em; }
.banner.pass { background: var(--pass); }
.banner.warn { background: var(--warn); color: #000; }
.banner.fail { background: var(--fail); }
.banner.none { background: #777; }
.badge { display: inline-block; border-radius: 4px; padding: 0.05em 0.45em; font-weight: bold;
         font-size: 0.85em; white-space: nowrap; }
.badge.pass { background: var(--pass); color: #fff; }
.badge.warn { background: var(--warn); color: #000; }
.badge.fail { background: var(--fail); color: #fff; }
.badge.class { background: #0072B2; color: #fff; }
.moved li { margin: 0.25em 0; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.15em 1.2em;
         font-size: 0.93em; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; font-family: "DejaVu Sans Mono", monospace; word-break: break-all; }
table { border-collapse: collapse; font-size: 0.86em; margin: 0.4em 0 1em; }
th, td { border: 1px solid var(--line); padding: 0.25em 0.5em; text-align: right;
         vertical-align: top; }
th { background: var(--shade); text-align: center; }
.scroll { overflow-x: auto; }
td.nowrap { white-space: nowrap; }
td.l, th.l { text-align: left; }
tr.fail td.v { background: #fbe3d6; }
tr.warn td.v { background: #fcefd0; }
td.mono, span.mono { font-family: "DejaVu Sans Mono", monospace; font-size: 0.92em; }
.note { background: #eef5fb; border-left: 4px solid #0072B2; padding: 0.4em 0.8em;
        margin: 0.4em 0; font-size: 0.93em; }
.problem { background: #fdf0e8; border-left: 4px solid var(--fail); padding: 0.4em 0.8em;
           margin: 0.4em 0; }
figure { margin: 0.6em 0 1.4em; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: var(--muted); font-size: 0.88em; margin-top: 0.2em; }
footer { color: var(--muted); font-size: 0.85em; margin-top: 3em; }
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _badge(verdict: str) -> str:
    return f'<span class="badge {_e(verdict)}">{_word(verdict)}</span>'


def _word(verdict: str) -> str:
    """``✔ PASS``: the verdict's symbol (none for a value that is no verdict) and word."""
    known = Verdict.of(verdict)
    return f"{known.symbol} {_e(verdict.upper())}" if known else f" {_e(verdict.upper())}"


def _stat_name(statistic: str) -> str:
    return figures.STAT_NAMES.get(statistic, statistic)


def _figure(fig, alt: str, caption: str) -> str:
    uri = figures.png_data_uri(fig)
    return (f'<figure><img src="{uri}" alt="{_e(alt)}"><figcaption>{caption}</figcaption>'
            "</figure>")


def _facts(items: Sequence[tuple[str, Any]]) -> str:
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v) if v not in (None, '') else '–'}</dd>"
                   for k, v in items)
    return f'<dl class="facts">{rows}</dl>'


def headline(view: CampaignView, labels: Mapping[str, str]) -> str:
    """One sentence under the verdict word."""
    cells = view.cells
    failing = [c for c in cells if c.get("verdict") == Verdict.FAIL]
    warning = [c for c in cells if c.get("verdict") == Verdict.WARN]
    base, cand = labels["baseline"], labels["candidate"]
    if view.overall == Verdict.FAIL:
        return (f"{cand} does not match {base} within tolerance: {len(failing)} of "
                f"{len(cells)} cells fail" + (f", {len(warning)} warn" if warning else ""))
    if view.overall == Verdict.WARN:
        return (f"No cell fails, but {len(warning)} of {len(cells)} cells of {cand} could not "
                f"be shown equivalent to {base}")
    if view.overall == Verdict.PASS:
        return f"{cand} matches {base} within tolerance in all {len(cells)} cells"
    return "This campaign records no verdict"


def moved_summary(view: CampaignView) -> str:
    """``exc: rate, CV ISI; inh: rate`` for the failing (else warning) cells."""
    moved = moved_cells(view.cells)
    worst = [c for c in moved if c.get("verdict") == Verdict.FAIL] or moved
    by_population: dict[str, list[str]] = {}
    for cell in worst:
        by_population.setdefault(str(cell["population"]), []).append(
            _stat_name(str(cell["statistic"])))
    return "; ".join(f"{p}: {', '.join(s)}" for p, s in by_population.items())


def summary_section(view: CampaignView, labels: Mapping[str, str],
                    drift: DriftAssessment) -> str:
    """Verdict banner, what moved, caveats."""
    overall = view.overall
    parts = [f'<div class="banner {_e(overall)}" id="verdict"><span class="word">'
             f'{_word(overall)}</span>'
             f'<span class="text">{_e(headline(view, labels))}</span></div>']
    moved = moved_cells(view.cells)
    if moved:
        kind = "moved" if any(c.get("verdict") == Verdict.FAIL for c in moved) else "to watch"
        parts.append(f'<p id="moved-summary"><strong>Populations and statistics {kind}:'
                     f"</strong> {_e(moved_summary(view))}</p>")
        items = "".join(
            f"<li>{_badge(str(c['verdict']))} <strong>{_e(c['population'])} · "
            f"{_e(_stat_name(str(c['statistic'])))}</strong> — {_e('; '.join(reasons(c)))}</li>"
            for c in moved)
        parts.append(f'<ul class="moved">{items}</ul>')
    summary = view.summary
    k_a, k_b = summary.get("k_baseline"), summary.get("k_candidate")
    profile = summary.get("profile") or {}
    parts.append(_facts([
        ("baseline", f"{labels['baseline']} — {k_a} runs, seeds "
                     f"{seed_ranges([r.seed for r in view.side_runs('baseline')])}"),
        ("candidate", f"{labels['candidate']} — {k_b} runs, seeds "
                      f"{seed_ranges([r.seed for r in view.side_runs('candidate')])}"),
        ("tolerance profile", f"{profile.get('name', '?')} {profile.get('version', '')} "
                              f"(sha256 {str(profile.get('sha256', ''))[:16]}…)"),
        ("drift class", f"{drift.classification} — {drift.explanation}"),
        ("confidence", "LOW: margins alone decided (fewer than 2 runs on a side)"
         if summary.get("low_confidence") else "seed-aware (R, permutation/Welch test, "
                                                "margins)"),
        ("design", DESIGN_TEXT.get(str(summary.get("design", "unpaired")), "unpaired")),
    ]))
    for note in summary.get("notes", []):
        parts.append(f'<div class="note">{_e(note)}</div>')
    for problem in view.problems:
        parts.append(f'<div class="problem">{_e(problem)}</div>')
    return "\n".join(parts)


#: How each comparison design decided (the notes say why it was chosen).
DESIGN_TEXT = {
    "unpaired": "unpaired: the sides' runs are independent (R, permutation/Welch test, BH)",
    "paired": "paired: runs on identical connectivity (topology fingerprints match) compared "
              "pair by pair (paired t / sign-flip test per cell, BH and a max-|t| test "
              "across cells)",
    "frozen": "frozen input: both sides replayed the same exported input on identical "
              "connectivity and are compared spike by spike",
}

VERDICT_COLUMNS = (
    ("population", "population", "l"), ("statistic", "statistic", "l"),
    ("verdict", "verdict", "l"), ("r", "R", ""), ("r_threshold", "R*", ""),
    ("median_between", "median distance between", ""),
    ("median_within", "median distance within", ""),
    ("baseline_mean", "baseline mean", ""), ("candidate_mean", "candidate mean", ""),
    ("difference", "difference", ""), ("margin", "margin ±", ""), ("margin_ok", "in margin", ""),
    ("test", "test", "l"), ("p_value", "p", ""), ("p_adjusted", "p (BH)", ""),
)


def verdict_table(view: CampaignView) -> str:
    """The verdict table: one row per (population, statistic) cell."""
    head = "".join(f'<th class="{cls}">{_e(title)}</th>' for _, title, cls in VERDICT_COLUMNS)
    rows = []
    for cell in view.cells:
        verdict = str(cell.get("verdict"))
        tds = []
        for key, _, cls in VERDICT_COLUMNS:
            value = cell.get(key)
            if key == "verdict":
                tds.append(f'<td class="l v">{_badge(verdict)}</td>')
            elif key == "statistic":
                tds.append(f'<td class="l">{_e(_stat_name(str(value)))}</td>')
            elif key == "margin_ok":
                tds.append(f"<td>{'yes' if value else '<strong>no</strong>'}</td>")
            elif key in ("population", "test"):
                tds.append(f'<td class="l">{_e(value)}</td>')
            else:
                tds.append(f'<td class="{cls}">{_e(number(value))}</td>')
        rows.append(f'<tr class="{_e(verdict)}">{"".join(tds)}</tr>')
    q = view.verdict_attrs.get("fdr_q", "the profile's level")
    return (f'<div class="scroll"><table id="verdict-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>'
            '<p class="subtitle">R = median between-target distance / median within-target '
            "(seed-to-seed) distance, each distance the IQR-scaled Wasserstein distance (plus "
            "KS D for per-neuron statistics); R* = the null 99th percentile for this many "
            "seeds. Means are run-level means (rates in spikes/s, other statistics "
            "dimensionless); the margin bounds |candidate − baseline|. p-values from the "
            f"permutation test over run labels (or Welch's t-test), Benjamini–Hochberg "
            f"corrected at q = {_e(number(q))} across all cells. pass: R ≤ R* and within margin; "
            "fail: significant and (R > R* or outside margin); warn: otherwise.</p>")


def distribution_section(view: CampaignView, labels: Mapping[str, str]) -> str:
    """Per population: overlaid distributions and run-level means."""
    stats = view.statistics
    groups = {labels[side]: [r.run_id for r in view.side_runs(side)
                             if r.run_id in stats["run"].values.tolist()] for side in SIDES}
    verdicts: dict[str, dict[str, str]] = {}
    for cell in view.cells:
        verdicts.setdefault(str(cell["population"]), {})[str(cell["statistic"])] = str(
            cell["verdict"])
    compared = list(dict.fromkeys(str(c["statistic"]) for c in view.cells)) or list(
        figures.DISTRIBUTION_STATISTICS)
    parts = []
    for population in stats["population"].values.tolist():
        cell_verdicts = verdicts.get(population, {})
        shown = [s for s in figures.DISTRIBUTION_STATISTICS if s in stats.data_vars]
        parts.append(f'<h3 id="population-{_e(population)}">Population {_e(population)}</h3>')
        fig = figures.distribution_figure(stats, population, groups, shown, cell_verdicts)
        parts.append(_figure(
            fig, f"distributions of {', '.join(shown)} in population {population}",
            f"Population {_e(population)}: distribution of each statistic over neurons "
            "(correlation: over sampled pairs) for every target; panel titles carry the "
            "cell's verdict."))
        fig = figures.run_means_figure(stats, population, groups, compared, cell_verdicts,
                                       ticks=list(SIDES))
        parts.append(_figure(
            fig, f"run-level means in population {population}",
            f"Population {_e(population)}: run-level mean of every compared statistic, one "
            "dot per seed, bar = mean over seeds. The verdict compares the spread within a "
            "target with the distance between targets."))
    return "\n".join(parts)


def raster_section(view: CampaignView, labels: Mapping[str, str],
                   load_spikes: Callable[[RunView], Any]) -> str:
    """One raster excerpt per side (its lowest seed)."""
    transient = float(view.statistics.attrs.get("config_transient_ms", 0.0))
    excerpts, missing = [], []
    for side in SIDES:
        runs = sorted((r for r in view.side_runs(side) if r.crate is not None),
                      key=lambda r: r.seed)
        if not runs:
            missing.append(side)
            continue
        try:
            spikes = load_spikes(runs[0])
        except Exception as exc:  # noqa: BLE001 - a broken run must not hide the report
            missing.append(f"{side} ({exc})")
            continue
        stop = min((p.t_stop for p in spikes.populations), default=transient + 300.0)
        t0 = min(transient, max(stop - 300.0, 0.0))
        excerpts.append(figures.raster_excerpt(
            spikes, f"{labels[side]} — seed {runs[0].seed}", t0, min(t0 + 300.0, stop)))
    parts = []
    if excerpts:
        parts.append(_figure(
            figures.raster_figure(excerpts), "raster excerpts",
            "300 ms after the discarded transient; a proportional subset of every population "
            "(first neurons by index). Bottom: population rate of all recorded neurons in 5 ms "
            "bins."))
    for side in missing:
        parts.append(f'<div class="problem">no raster for {_e(side)}: run crate not '
                     "available</div>")
    return "\n".join(parts)


def environment_section(view: CampaignView, labels: Mapping[str, str],
                        drift: DriftAssessment) -> str:
    """Drift class, changed facts and packages between the sides."""
    parts = [f'<p><span class="badge class">{_e(drift.classification)}</span> '
             f"{_e(drift.explanation)}.</p>"]
    if drift.model_changes:
        items = "".join(f"<li><span class='mono'>{_e(c)}</span></li>"
                        for c in drift.model_changes)
        parts.append(f"<p>Model parameters that differ between the sides:</p><ul>{items}</ul>")
    diff = drift.diff
    if diff is None:
        return "\n".join(parts)
    if diff.empty:
        parts.append("<p>The environment manifests of both sides are identical (packages, "
                     "site, ESD release, container, simulator, thread layout, time step).</p>")
        return "\n".join(parts)
    head = (f'<tr><th class="l">what</th><th class="l">{_e(labels["baseline"])}</th>'
            f'<th class="l">{_e(labels["candidate"])}</th></tr>')
    rows = "".join(f'<tr><td class="l">{_e(k)}</td><td class="l mono">{_e(a or "(none)")}</td>'
                   f'<td class="l mono">{_e(b or "(none)")}</td></tr>'
                   for k, (a, b) in diff.facts.items())
    if rows:
        parts.append(f"<h3>Execution facts that differ</h3><table>{head}{rows}</table>")
    limit = 60
    packages = list(diff.packages.items())
    if packages:
        rows = "".join(f'<tr><td class="l">{_e(k)}</td><td class="l mono">{_e(a)}</td>'
                       f'<td class="l mono">{_e(b)}</td></tr>' for k, (a, b) in packages[:limit])
        more = (f"<p>… and {len(packages) - limit} more packages (see the run crates' "
                "environment.json).</p>" if len(packages) > limit else "")
        parts.append(f"<h3>Packages that differ ({len(packages)})</h3><table>{head}{rows}"
                     f"</table>{more}")
    else:
        parts.append("<p>Installed packages are identical on both sides.</p>")
    return "\n".join(parts)


def _job_ids(run: RunView) -> str:
    keys = [k for k in sorted(run.job) if isinstance(run.job[k], str | int | float)
            and not isinstance(run.job[k], bool)]
    return ", ".join(f"{k}={run.job[k]}" for k in keys)


#: Hardware provenance counters shown in the run table (substring of the counter's name).
COUNTER_WORDS = ("dropped", "overrun", "saturat", "lost", "late", "overflow")


def _hardware(run: RunView) -> str:
    """Trouble counters of the hardware provenance (dropped packets, overruns, saturation):
    the non-zero ones, or how many were checked when all are zero."""
    counters: list[tuple[str, float]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(prefix, item)
        elif isinstance(value, dict):
            label = str(value.get("label") or value.get("name") or "")
            here = f"{prefix}{label} " if label else prefix
            for key, item in value.items():
                if isinstance(item, int | float) and not isinstance(item, bool):
                    if any(word in key.lower() for word in COUNTER_WORDS):
                        counters.append((f"{here}{key}", float(item)))
                else:
                    walk(here, item)

    walk("", run.hardware)
    parts = [f"emulation of {run.hardware['emulated']}"] if run.hardware.get("emulated") else []
    nonzero = [f"{name}={value:g}" for name, value in counters if value]
    if counters and not nonzero:
        parts.append(f"all {len(counters)} trouble counters 0")
    parts.extend(nonzero[:6])
    if len(nonzero) > 6:
        parts.append("…")
    # Emulator notes say where SpiNNaker's numbers differ from the request (rates, wraps).
    parts.extend([str(n) for n in run.hardware.get("notes", []) if "SpiNNaker" in str(n)][:5])
    return "; ".join(parts)


def _remote_faults(runs: list[RunView]) -> str:
    """Retries and outages the remote targets met, summed over the runs that count them."""
    counted = [r.job for r in runs if "remote_retries" in r.job]
    if not counted:
        return "not counted (no remote runs)"
    retries = sum(int(job.get("remote_retries", 0)) for job in counted)
    outages = sum(int(job.get("remote_outages", 0)) for job in counted)
    seconds = sum(float(job.get("remote_outage_s", 0)) for job in counted)
    return (f"{retries} retried requests, {outages} outages ({seconds:g} s without an "
            f"answer) over {len(counted)} remote runs")


def provenance_section(view: CampaignView, link: Callable[[RunView], str | None]) -> str:
    """Model, environments, sites, containers, job ids, timings and links to run crates."""
    models = sorted({r.model_hash for r in view.runs if r.model_hash})
    envs = sorted({r.env_digest for r in view.runs if r.env_digest})
    sites = sorted({str(r.facts.get("site")) for r in view.runs if r.facts.get("site")})
    containers = sorted({str(r.facts.get("container_digest")) for r in view.runs
                         if r.facts.get("container_digest")})
    releases = sorted({str(r.facts.get("esd_release")) for r in view.runs
                       if r.facts.get("esd_release")})
    settings = {k.removeprefix("config_"): v for k, v in view.statistics.attrs.items()
                if k.startswith("config_")}
    parts = [_facts([
        ("campaign", view.campaign_id),
        ("recorded", view.metadata.get("./", {}).get("datePublished", "")),
        ("model hash" + ("es" if len(models) > 1 else ""), ", ".join(models)),
        ("environment digests", ", ".join(envs)),
        ("sites", ", ".join(sites)),
        ("container digests", ", ".join(containers) or "none (no container)"),
        ("ESD releases", ", ".join(releases) or "none recorded"),
        ("remote faults", _remote_faults(view.runs)),
        ("statistics settings", ", ".join(f"{k}={v}" for k, v in settings.items())),
    ])]
    head = "".join(f"<th class='l'>{h}</th>" for h in (
        "side", "target", "seed", "site", "run crate", "simulator", "threads", "dt (ms)",
        "environment", "container", "job ids", "start (UTC)", "wall (s)", "simulate (s)",
        "hardware provenance"))
    rows = []
    for run in view.runs:
        href = link(run)
        crate = (f'<a href="{_e(href)}">{_e(run.run_id)}</a> '
                 f'(<a href="{_e(href)}ro-crate-metadata.json">metadata</a>)' if href
                 else f"{_e(run.run_id)} (crate not found)")
        timings = run.timings
        cells = [run.side, run.target, run.seed, run.facts.get("site", ""), None,
                 run.facts.get("simulator", ""), run.facts.get("threads", ""),
                 run.facts.get("timestep_ms", ""), run.env_digest[:12],
                 str(run.facts.get("container_digest", ""))[:19], _job_ids(run),
                 str(timings.get("start_time", ""))[:19].replace("T", " "),
                 number(timings.get("wall_s")), number(timings.get("simulate_s")),
                 _hardware(run)]
        tds = "".join(f'<td class="l">{crate}</td>' if value is None else
                      f'<td class="l mono{" nowrap" if i == 11 else ""}">{_e(value)}</td>'
                      for i, value in enumerate(cells))
        rows.append(f"<tr>{tds}</tr>")
    parts.append(f'<div class="scroll"><table id="runs-table"><thead><tr>{head}</tr></thead>'
                 f"<tbody>{''.join(rows)}</tbody></table></div>")
    return "\n".join(parts)


def render_report(view: CampaignView, drift: DriftAssessment,
                  load_spikes: Callable[[RunView], Any], report_dir: Path) -> str:
    """The complete HTML page.

    Parameters
    ----------
    view : CampaignView
        The campaign.
    drift : DriftAssessment
        Drift class and environment difference of the two sides.
    load_spikes : callable
        ``load_spikes(run) -> RunSpikes`` for the raster excerpts.
    report_dir : Path
        Directory the page is written to (run crate links are relative to it).
    """
    labels = view.side_labels()

    def link(run: RunView) -> str | None:
        if run.crate is None:
            return None
        return Path(os.path.relpath(run.crate, report_dir)).as_posix() + "/"

    title = f"Validation report: {view.title}"
    sections = [
        ("summary", "Summary", summary_section(view, labels, drift)),
        ("verdicts", "Verdict per population and statistic", verdict_table(view)),
        ("distributions", "Distributions per population and statistic",
         distribution_section(view, labels)),
        ("rasters", "Raster excerpts", raster_section(view, labels, load_spikes)),
        ("environment", "Environment difference and drift class",
         environment_section(view, labels, drift)),
        ("provenance", "Provenance and run crates", provenance_section(view, link)),
    ]
    nav = "".join(f'<a href="#{key}">{_e(name)}</a>' for key, name, _ in sections[1:])
    body = "\n".join(f'<section id="{key}">' + (f"<h2>{_e(name)}</h2>" if i else "")
                     + f"{html}</section>" for i, (key, name, html) in enumerate(sections))
    generated = utc_now()
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<meta name=\"generator\" content=\"repro {_e(__version__)}\">"
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body><main>"
        f"<h1>{_e(title)}</h1>"
        f'<p class="subtitle">campaign {_e(view.campaign_id)} · '
        f"{_e(labels['baseline'])} (baseline) vs {_e(labels['candidate'])} (candidate)</p>"
        f"<nav>{nav}</nav>{body}"
        f"<footer>Generated by repro {_e(__version__)} at {_e(generated)} from the campaign "
        "crate's summary.json and statistics.nc and the run crates it cites. Method: "
        "docs/comparison-method.md.</footer></main></body></html>\n")
