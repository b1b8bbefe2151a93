"""Which real PyNN scripts run unmodified on which local target: the script-coverage table.

    python benchmarks/script_coverage.py CORPUS [--targets local,spinnaker_emulator]
        [--only PATTERN] [--timeout 900] [--out benchmarks/results/script_coverage.md]

CORPUS is an extracted copy of SpiNNakerManchester/PyNNExamples (nothing of it is kept in
this repository). Every script under ``balanced_random/`` and ``examples/`` (top level and
``extra_models_examples/``) runs with ``repro run --script FILE --targets T`` in a fresh
process and a fresh store, once per target. Outcomes:

* ``completed``: exit 0 and the run crate validates as a Process Run Crate;
* ``refused``: exit 2 before any run started, or a failed crate whose harness recorded a
  refusal (a feature the target cannot run), with the feature named;
* ``failed``: anything else, with the first line of the error.

The pseudo-target ``spinnaker_virtual`` asks how far sPyNNaker 7.4.1 itself takes each
script: ``repro targets check --script FILE --targets spinnaker_virtual`` runs it with
``pyNN.spiNNaker`` on a virtual SpiNN-5 board (setup, network, mapping, data generation;
nothing is loaded or run, so recordings come back empty). Outcomes: ``accepted`` (the script
ended normally), ``unjudged`` (a run mapped the network and generated its data, then the
script stopped outside ``run()``, typically on results a virtual board does not have, or
the mapping did not finish in time; read the detail: an error unrelated to the missing
results would stop the script on a real board too), ``rejected`` (sPyNNaker 7.4.1 raised
during setup, network construction, mapping or data generation: the script cannot run
there). A virtual board builds every synaptic matrix on the host; when that fails, the
script is checked again with the matrices sPyNNaker would expand on a real machine left to
it (option ``generate_on_machine``), and is ``unjudged`` if it then gets through. With this
column in the table, each target's share is also given over the scripts sPyNNaker 7.4.1
can run (accepted + unjudged).

``--combine A.json B.json`` writes one table from earlier runs of single targets (run them
as separate processes to use two cores) without running anything. ``--pynn`` runs PyNN's
own examples instead (a PyNN source tree's ``examples/``), giving each
the simulator argument through ``get_simulator``. Results go to the ``--out`` Markdown table
and a JSON file beside it.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
#: Folders of PyNNExamples in scope (relative to the corpus root) and whether recursively.
FOLDERS = (("balanced_random", True), ("examples", False),
           ("examples/extra_models_examples", False))
#: Script arguments PyNN's examples need besides the simulator (which repro fills in).
PYNN_ARGUMENTS = {"VAbenchmarks.py": ["CUBA"]}
#: The pseudo-target asking sPyNNaker 7.4.1 itself (virtual board), and its column title.
VIRTUAL = "spinnaker_virtual"
TITLES = {VIRTUAL: "sPyNNaker 7.4.1 (virtual board)"}
#: Outcomes of the virtual column that count a script as one sPyNNaker 7.4.1 can run.
RUNNABLE = ("accepted", "unjudged")


def corpus_scripts(root: Path, pynn: bool) -> list[Path]:
    """The scripts in scope, sorted by relative path."""
    if pynn:
        return sorted(p for p in (root / "examples").glob("*.py") if p.name != "__init__.py")
    found: list[Path] = []
    for folder, recursive in FOLDERS:
        pattern = "**/*.py" if recursive else "*.py"
        found.extend(p for p in (root / folder).glob(pattern) if p.name != "__init__.py")
    return sorted(set(found))


def _crate_dirs(store: Path) -> list[Path]:
    return sorted(p.parent for p in (store / "runs").glob("*/*/ro-crate-metadata.json"))


def run_one(script: Path, target: str, timeout_s: float, args: list[str]) -> dict:
    """Run one script on one target in a fresh store; classify the outcome."""
    from repro.records.validation import PROCESS_RUN_CRATE, validate_crate

    with tempfile.TemporaryDirectory(prefix="coverage-") as tmp:
        store = Path(tmp) / "store"
        command = [sys.executable, "-m", "repro", "run", "--script", str(script), "--targets",
                   target, "--store", str(store), "--force"]
        if args:
            command += ["--", *args]
        env = {**os.environ, "MPLBACKEND": "Agg", "DISPLAY": ""}
        t0 = time.perf_counter()
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s,
                                  env=env, cwd=tmp, check=False)
        except subprocess.TimeoutExpired:
            return {"outcome": "failed", "detail": f"timeout after {timeout_s:g} s",
                    "seconds": timeout_s}
        seconds = time.perf_counter() - t0
        stderr = done.stderr.strip()
        crates = _crate_dirs(store)
        result = {}
        if crates:
            result = json.loads((crates[0] / "result.json").read_text()) if (
                crates[0] / "result.json").is_file() else {}
        notes = result.get("portability", [])
        summary = {"seconds": round(seconds, 1), "notes": notes,
                   **({"no_spikes": True} if result.get("spikes_recorded") is False else {})}
        if done.returncode == 0 and crates:
            valid = validate_crate(crates[0], PROCESS_RUN_CRATE).passed
            return {**summary, "outcome": "completed" if valid else "failed",
                    "detail": "" if valid else "crate does not validate"}
        if done.returncode == 2 and not crates:
            lines = [ln for ln in stderr.splitlines() if "cannot run on" in ln]
            return {**summary, "outcome": "refused",
                    "detail": _feature_of(lines[0]) if lines else _last_line(stderr)}
        refusal = result.get("refusal")
        if refusal:
            return {**summary, "outcome": "refused",
                    "detail": f"{refusal['feature']} ({refusal['script_line']}, during run)"}
        error = result.get("error") or {}
        detail = error.get("message") or _last_line(stderr)
        where = error.get("script_line")
        return {**summary, "outcome": "failed",
                "detail": f"{error.get('type', 'error')}: {_first_line(detail)}"
                          + (f" ({where})" if where else "")}


def run_virtual(script: Path, timeout_s: float, args: list[str]) -> dict:
    """How far sPyNNaker 7.4.1 takes ``script`` on a virtual board (see the module doc)."""
    mapping, seconds = _virtual_mapping(script, timeout_s, args, on_machine=False)
    status, error = mapping["status"], _error_of(mapping)
    if status == "no report":
        return {"outcome": "failed", "seconds": seconds, "detail": f"no mapping report: {error}"}
    strict = sum(1 for w in mapping.get("warnings", []) if "is not supported in sPyNNaker" in w)
    summary = {"seconds": seconds, "status": status, "notes": [],
               "cores": mapping.get("application_cores", 0), "strict_warnings": strict}
    if status == "mapped":
        return {**summary, "outcome": "accepted", "detail": ""}
    if status == "stopped_after_mapping":
        return {**summary, "outcome": "unjudged", "detail": f"after the run: {error}"}
    if status == "crashed" and "did not finish" in error:
        return {**summary, "outcome": "unjudged", "detail": error}
    if status == "data_generation_failed":
        # A virtual board builds every synaptic matrix on the host; a real one expands those
        # sPyNNaker's rule allows on the machine, never running the host path that failed.
        again, more_s = _virtual_mapping(script, timeout_s, args, on_machine=True)
        summary["seconds"] = round(seconds + more_s, 1)
        if again["status"] in ("mapped", "stopped_after_mapping"):
            return {**summary, "outcome": "unjudged", "status": again["status"],
                    "detail": f"host-built synaptic data fails ({error}); with the matrices "
                              "generated on the machine as on a real board: "
                              + ("mapped" if again["status"] == "mapped" else
                                 f"mapped, then after the run: {_error_of(again)}")}
    return {**summary, "outcome": "rejected", "detail": f"{status}: {error}"}


def _virtual_mapping(script: Path, timeout_s: float, args: list[str], on_machine: bool
                     ) -> tuple[dict, float]:
    """The mapping report of ``repro targets check --script``, and the seconds it took.

    Status ``no report`` (with the last line of the command's error output) if it gave none.
    """
    with tempfile.TemporaryDirectory(prefix="coverage-") as tmp:
        tables = Path(tmp) / "targets.toml"
        tables.write_text(f'[{VIRTUAL}]\nkind = "{VIRTUAL}"\ntimeout = {timeout_s:g}\n'
                          f"generate_on_machine = {str(on_machine).lower()}\n")
        command = [sys.executable, "-m", "repro", "targets", "check", "--script", str(script),
                   "--targets", VIRTUAL, "--json"]
        if args:
            command += ["--", *args]
        env = {**os.environ, "MPLBACKEND": "Agg", "DISPLAY": "", "REPRO_TARGETS": str(tables)}
        t0 = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s + 120,
                              env=env, cwd=tmp, check=False)
        seconds = round(time.perf_counter() - t0, 1)
    try:
        return json.loads(done.stdout)[0]["mapping"], seconds
    except (ValueError, LookupError):
        return {"status": "no report", "error": _last_line(done.stderr)}, seconds


def _error_of(mapping: dict) -> str:
    where = mapping.get("script_line", "")
    return _first_line(mapping.get("error", "")) + (f" ({where})" if where else "")


def _feature_of(line: str) -> str:
    match = re.match(r"\s*(\S+:\d+): sim\.(\S+) cannot run on [^(]*\((.*)\); runs on", line)
    return f"{match.group(2)} ({match.group(1)}: {match.group(3)})" if match else line.strip()


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:200]


def _last_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[-1][:200]


def _cell(entry: dict) -> str:
    mark = {"completed": "ok", "refused": "refused", "failed": "FAILED",
            "not run": "not run", "accepted": "runs (a)", "unjudged": "not judged (c)",
            "rejected": "fails (b)"}[entry["outcome"]]
    effects = sum(1 for n in entry.get("notes", []) if n.get("numerical_effect"))
    extra = f" ({len(entry.get('notes', []))} notes, {effects} numeric)" if entry.get(
        "notes") and entry["outcome"] == "completed" else ""
    if entry.get("no_spikes") and entry["outcome"] == "completed":
        extra += ", no spikes recorded"
    if entry.get("from_log"):
        extra += " †"
    return f"{mark}{extra}"


def write_table(rows: list[dict], targets: list[str], out: Path, command: str) -> None:
    """The Markdown table and its JSON twin."""
    missing = {"outcome": "not run", "detail": ""}
    rows = [{**{t: missing for t in targets}, **row} for row in rows]
    lines = [f"# Script coverage: {len(rows)} scripts", "",
             f"Regenerate: `{command}`", "",
             f"Machine: {platform.platform()}, Python {platform.python_version()}.", ""]
    runnable = [row for row in rows if row.get(VIRTUAL, missing)["outcome"] in RUNNABLE]
    if VIRTUAL in targets:
        verdicts = [row[VIRTUAL]["outcome"] for row in rows]
        lines.append(f"- **{TITLES[VIRTUAL]}**: {len(runnable)}/{len(rows)} scripts it can "
                     f"run ({verdicts.count('accepted')} accepted (a), "
                     f"{verdicts.count('unjudged')} not judgeable on a virtual board (c)), "
                     f"{verdicts.count('rejected')} fail in sPyNNaker 7.4.1 itself (b)"
                     + (f", {verdicts.count('failed')} not checked" if "failed" in verdicts
                        else ""))
    for target in (t for t in targets if t != VIRTUAL):
        outcomes = [row[target]["outcome"] for row in rows]
        share = 100.0 * outcomes.count("completed") / max(len(rows), 1)
        line = (f"- **{target}**: {outcomes.count('completed')}/{len(rows)} completed "
                f"({share:.0f} %), "
                f"{outcomes.count('refused')} refused naming the feature, "
                f"{outcomes.count('failed')} failed"
                + (f", {outcomes.count('not run')} not run" if "not run" in outcomes else ""))
        if VIRTUAL in targets:
            done = sum(1 for row in runnable if row[target]["outcome"] == "completed")
            line += (f"; of the {len(runnable)} scripts sPyNNaker 7.4.1 can run: {done} "
                     f"completed ({100.0 * done / max(len(runnable), 1):.0f} %)")
        lines.append(line)
    lines += ["", "| script | " + " | ".join(TITLES.get(t, t) for t in targets) + " | notes |",
              "|---|" + "---|" * len(targets) + "---|"]
    for row in rows:
        details = "; ".join(f"{t}: {row[t]['detail']}" for t in targets if row[t]["detail"])
        lines.append(f"| {row['script']} | " + " | ".join(_cell(row[t]) for t in targets)
                     + f" | {details.replace('|', '/')} |")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    out.with_suffix(".json").write_text(json.dumps(rows, indent=1))


_LOG_LINE = re.compile(r"^(\S+) on (\S+): (completed|refused|failed) ?(.*) \(([\d.]+) s\)$")


def rows_from_log(path: Path) -> list[dict]:
    """Rows from the printed progress of an interrupted run (outcome and detail, no notes)."""
    rows = []
    for line in path.read_text().splitlines():
        match = _LOG_LINE.match(line)
        if match:
            script, target, outcome, detail, seconds = match.groups()
            rows.append({"script": script, target: {"outcome": outcome, "detail": detail,
                                                    "seconds": float(seconds), "notes": [],
                                                    "from_log": True}})
    return rows


def combine(paths: list[Path]) -> tuple[list[dict], list[str]]:
    """Rows of several single-target runs merged by script, and their targets in order.

    ``.log`` files are the printed progress of interrupted runs (see :func:`rows_from_log`).
    """
    merged: dict[str, dict] = {}
    targets: list[str] = []
    for path in paths:
        rows = rows_from_log(path) if path.suffix == ".log" else json.loads(path.read_text())
        for row in rows:
            merged.setdefault(row["script"], {"script": row["script"]}).update(row)
            targets.extend(t for t in row if t != "script" and t not in targets)
    return [merged[name] for name in sorted(merged)], targets


def main(argv: list[str] | None = None) -> int:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="extracted PyNNExamples (or PyNN) tree")
    parser.add_argument("--targets", default="local,spinnaker_emulator")
    parser.add_argument("--only", default="", help="regular expression on the relative path")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per run")
    parser.add_argument("--pynn", action="store_true", help="PyNN's own examples/")
    parser.add_argument("--out", type=Path, default=RESULTS / "script_coverage.md")
    parser.add_argument("--combine", type=Path, nargs="+", default=[],
                        help="JSON files of earlier runs to merge (nothing is run)")
    options = parser.parse_args(argv)
    targets = [t for t in options.targets.split(",") if t]
    shown = " ".join(["python benchmarks/script_coverage.py", *(
        sys.argv[1:] if argv is None else argv)])
    if options.combine:
        write_table(*combine(options.combine), options.out, shown)
        return 0
    root = options.corpus.resolve()
    rows = []
    for script in corpus_scripts(root, options.pynn):
        relative = str(script.relative_to(root))
        if options.only and not re.search(options.only, relative):
            continue
        row: dict = {"script": relative}
        for target in targets:
            args = PYNN_ARGUMENTS.get(script.name, []) if options.pynn else []
            run = run_virtual if target == VIRTUAL else functools.partial(run_one,
                                                                          target=target)
            if options.pynn and target == VIRTUAL:  # get_simulator's argument (repro fills
                args = ["spiNNaker", *args]         # it in on the targets that run)
            row[target] = run(script, timeout_s=options.timeout, args=args)
            print(f"{relative} on {target}: {row[target]['outcome']} "
                  f"{row[target]['detail']} ({row[target].get('seconds', 0)} s)", flush=True)
        rows.append(row)
        options.out.parent.mkdir(parents=True, exist_ok=True)
        options.out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    write_table(rows, targets, options.out, shown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
