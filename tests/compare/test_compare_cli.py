"""`repro compare` and `repro regress` on real local NEST runs (acceptance of issue 3)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import xarray as xr

from tests.foundation.helpers import repro

pytestmark = pytest.mark.slow

SAME = ("experiment=balanced_random,seed=1-5", "experiment=balanced_random,seed=6-10")
STRONGER = ("experiment=balanced_random,seed=1-5", "experiment=balanced_random_w15")


def campaigns(store: Path) -> list[Path]:
    return sorted((store / "campaigns").glob("*")) if (store / "campaigns").is_dir() else []


def compare_json(store: Path, baseline: str, candidate: str, *extra: str):
    done = repro("compare", "-b", baseline, "-c", candidate, "--json", *extra, store=store)
    return done, (json.loads(done.stdout) if done.stdout.strip() else None)


def test_two_seed_sets_of_the_same_network_pass(comparison_runs):
    done, summary = compare_json(comparison_runs.store, *SAME, "--no-record")
    assert done.returncode == 0, done.stderr
    assert summary["overall"] == "pass"
    assert summary["k_baseline"] == summary["k_candidate"] == 5
    assert {c["verdict"] for c in summary["cells"]} == {"pass"}


def test_stronger_excitation_fails_and_names_statistics_and_populations(comparison_runs):
    done = repro("compare", "-b", STRONGER[0], "-c", STRONGER[1], "--no-record",
                 store=comparison_runs.store)
    assert done.returncode == 1, done.stderr
    assert "overall: FAIL" in done.stdout
    _, summary = compare_json(comparison_runs.store, *STRONGER, "--no-record")
    failed = {(c["population"], c["statistic"]) for c in summary["cells"]
              if c["verdict"] == "fail"}
    assert {("exc", "cv"), ("inh", "cv"), ("exc", "fano"), ("inh", "fano")} <= failed
    assert any(statistic == "rate" for _, statistic in failed)
    assert "exc" in done.stdout and "inh" in done.stdout
    assert any("w_exc: 1.0 -> 1.5" in note for note in summary["notes"])


def test_a_comparison_is_recorded_as_a_valid_provenance_run_crate(comparison_runs):
    from repro.records.run_crate import verify_crate
    from repro.records.validation import validate_crate

    done, summary = compare_json(comparison_runs.store, *STRONGER)
    crate = Path(summary["campaign_crate"])
    assert crate.parent == comparison_runs.store / "campaigns"
    assert verify_crate(crate) == []
    outcome = validate_crate(crate, "provenance-run-crate-0.5")
    assert outcome.passed, outcome.summary()
    verdicts = xr.load_dataset(crate / "verdicts.nc")
    assert verdicts.attrs["overall"] == "fail"
    assert verdicts.attrs["profile_sha256"] == summary["profile"]["sha256"]
    assert set(verdicts["population"].values) == {"exc", "inh"}
    statistics = xr.load_dataset(crate / "statistics.nc")
    assert sorted(statistics["seed"].values.tolist()) == [1, 2, 3, 4, 5, 11, 12, 13, 14, 15]
    assert json.loads((crate / "summary.json").read_text())["overall"] == "fail"
    metadata = (crate / "ro-crate-metadata.json").read_text()
    for run_id in comparison_runs.groups["baseline"] + comparison_runs.groups["variant"]:
        assert f"#run-{run_id}" in metadata


def test_compare_by_experiment_and_two_targets_needs_both_targets(comparison_runs):
    done = repro("compare", "-e", "balanced_random", "-t", "local", store=comparison_runs.store)
    assert done.returncode == 2
    assert "--targets BASELINE,CANDIDATE" in done.stderr


@pytest.mark.parametrize("sides, code", [(SAME, 0), (STRONGER, 1)], ids=["pass", "fail"])
def test_regress_exit_code_is_the_verdict(comparison_runs, sides, code):
    done = repro("regress", "--baseline", sides[0], "--candidate", sides[1], "--no-record",
                 store=comparison_runs.store)
    assert done.returncode == code, done.stdout + done.stderr
    assert "regression verdict" in done.stdout
    if code == 1:
        assert "what moved:" in done.stdout and "FAIL exc/cv" in done.stdout


def test_regress_without_candidate_is_a_usage_error(comparison_runs):
    done = repro("regress", "--baseline", SAME[0], store=comparison_runs.store)
    assert done.returncode == 2


@pytest.mark.parametrize("baseline, candidate, message", [
    ("experiment=nothing", SAME[1], "matches no completed run"),
    ("experiment=balanced_random,seed=1-5", "experiment=balanced_random,seed=4-8",
     "both sides"),
    ("seed=1-15", SAME[1], "different models"),
    ("colour=blue", SAME[1], "unknown selection key"),
], ids=["no-runs", "overlap", "mixed-models", "bad-key"])
def test_bad_selections_exit_2_with_one_line_and_write_nothing(comparison_runs, baseline,
                                                               candidate, message):
    before = campaigns(comparison_runs.store)
    for command in ("compare", "regress"):
        done = repro(command, "-b", baseline, "-c", candidate, store=comparison_runs.store)
        assert done.returncode == 2, done.stdout
        assert message in done.stderr
        assert done.stderr.strip().count("\n") == 0 or "error:" in done.stderr.splitlines()[0]
        assert "Traceback" not in done.stderr
    assert campaigns(comparison_runs.store) == before


def test_corrupt_spike_file_is_named_and_nothing_is_written(comparison_runs, tmp_path):
    copies = tmp_path / "copies"
    for crate in comparison_runs.crates("other"):
        shutil.copytree(crate, copies / crate.name)
    victim = copies / comparison_runs.crates("other")[2].name / "spikes.npz"
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    before = campaigns(comparison_runs.store)
    done = repro("regress", "-b", SAME[0], "-c", str(copies), store=comparison_runs.store)
    assert done.returncode == 2
    assert str(victim) in done.stderr and "corrupt spike file" in done.stderr
    assert "Traceback" not in done.stderr
    assert campaigns(comparison_runs.store) == before


def test_runs_of_different_duration_or_populations_cannot_be_compared(drift_runs):
    before = campaigns(drift_runs.store)
    done = repro("compare", "-b", "experiment=balanced_random,target=local,seed=1-5",
                 "-c", "experiment=balanced_random_short", store=drift_runs.store)
    assert done.returncode == 2 and "different durations" in done.stderr
    done = repro("compare", "-b", "experiment=balanced_random,target=local,seed=1-5",
                 "-c", "experiment=unseeded", store=drift_runs.store)
    assert done.returncode == 2 and "different populations" in done.stderr
    assert campaigns(drift_runs.store) == before


def test_reruns_with_identical_spike_files_count_once(drift_runs):
    done, summary = compare_json(drift_runs.store, "experiment=balanced_random,target=local,"
                                 "seed=1-5", SAME[1], "--no-record")
    assert done.returncode == 0, done.stderr
    assert summary["k_baseline"] == 5
    assert any("counted once" in note for note in summary["notes"])


def test_calibrate_writes_a_profile_that_compare_uses(comparison_runs, tmp_path):
    output = tmp_path / "cal.toml"
    done = repro("calibrate", "experiment=balanced_random,target=local,seed=1-10",
                 "--k", "2,3,5", "--splits", "30", "--output", str(output), "--json",
                 store=comparison_runs.store)
    assert done.returncode == 0, done.stderr
    table = json.loads(done.stdout)["table"]
    assert [row["k"] for row in table] == [2, 3, 5]
    assert all(row["r50"] <= row["r95"] <= row["r99"] for row in table)
    from repro.compare.profiles import load_profile

    calibrated = load_profile(output)
    assert calibrated.verdict.r_k == (2, 3, 5)
    assert calibrated.verdict.r_values == tuple(round(row["r99"], 3) for row in table)
    again = repro("compare", "-b", SAME[0], "-c", SAME[1], "--profile", str(output),
                  "--no-record", "--json", store=comparison_runs.store)
    assert json.loads(again.stdout)["profile"]["name"] == calibrated.name


def test_one_run_per_side_is_judged_by_margins_alone_with_low_confidence(comparison_runs):
    done, summary = compare_json(comparison_runs.store, "experiment=balanced_random,seed=1",
                                 "experiment=balanced_random,seed=6", "--no-record")
    assert done.returncode in (0, 1), done.stderr
    assert summary["low_confidence"] is True
    assert any("no seed-to-seed baseline" in note for note in summary["notes"])
    assert all(cell["r"] is None and cell["test"] == "none" for cell in summary["cells"])
