"""`repro drift` classifies real runs: consistent, benign drift, drift with effect,
nondeterminism."""

from __future__ import annotations

import json

import pytest

from tests.foundation.helpers import repro

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reference_drift(drift_runs):
    done = repro("drift", "experiment=balanced_random", "--json", store=drift_runs.store)
    assert done.returncode == 1, done.stderr  # the simulator change has an effect
    return json.loads(done.stdout)["findings"]


def finding(findings, classification, fact=None):
    found = [f for f in findings if f["classification"] == classification
             and (fact is None or fact in (f["changes"] or {}).get("facts", {}))]
    assert found, json.dumps(findings, indent=1)
    return found[0]


def test_repeated_seeds_in_one_environment_are_consistent(reference_drift):
    consistent = finding(reference_drift, "consistent")
    assert "bitwise identical" in consistent["details"][0]


def test_a_different_thread_count_is_benign_drift(reference_drift):
    benign = finding(reference_drift, "benign-drift", "threads")
    assert benign["changes"]["facts"]["threads"] == ["1", "2"]
    assert benign["verdict"] in ("pass", "warn")


def test_a_simulator_change_that_moves_statistics_is_drift_with_effect(reference_drift):
    effect = finding(reference_drift, "drift-with-effect", "simulator")
    old, new = effect["changes"]["facts"]["simulator"]
    assert old.startswith("NEST") and "emulator" in new
    assert effect["verdict"] == "fail" and effect["moved"]
    assert all(cell["verdict"] == "fail" for cell in effect["moved"])


def test_identical_environment_with_different_results_is_nondeterminism(drift_runs):
    done = repro("drift", "experiment=unseeded", store=drift_runs.store)
    assert done.returncode == 1
    assert "[nondeterminism]" in done.stdout
    assert "produced different spike files" in done.stdout


def test_one_environment_without_repeats_is_consistent_and_exits_0(comparison_runs):
    done = repro("drift", "experiment=balanced_random_w15", store=comparison_runs.store)
    assert done.returncode == 0, done.stderr
    assert "[consistent]" in done.stdout


def test_drift_with_no_runs_is_an_input_error(comparison_runs):
    done = repro("drift", "experiment=nothing", store=comparison_runs.store)
    assert done.returncode == 2 and "matches no completed run" in done.stderr


def test_environment_diff_lists_changed_added_and_removed_packages():
    from repro.compare.drift import Environment, environment_diff

    old = Environment({"numpy": "2.0", "nest-simulator": "3.9", "gone": "1"},
                      {"threads": "1", "site": "a"})
    new = Environment({"numpy": "2.0", "nest-simulator": "3.10", "added": "0.1"},
                      {"threads": "2", "site": "a"})
    diff = environment_diff(old, new)
    assert diff.packages == {"added": ("(absent)", "0.1"), "gone": ("1", "(absent)"),
                             "nest-simulator": ("3.9", "3.10")}
    assert diff.facts == {"threads": ("1", "2")}
    assert "threads: 1 -> 2" in diff.lines()
    assert environment_diff(old, old).empty
