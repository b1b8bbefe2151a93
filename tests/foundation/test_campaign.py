"""``repro campaign``: the main job runs both local targets, compares and reports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from repro.records.validation import PROCESS_RUN_CRATE, PROVENANCE_RUN_CRATE, validate_crate
from tests.foundation.helpers import repro, run_dirs, small_experiment

pytestmark = pytest.mark.slow


def test_campaign_runs_compares_and_prints_the_report(tmp_path: Path) -> None:
    experiment = small_experiment(tmp_path / "exp", n_neurons=100, duration=400.0,
                                  seeds="[1, 2]")
    store = tmp_path / "store"
    result = repro("campaign", str(experiment), "--targets", "local,spinnaker_emulator",
                   store=store)
    assert result.returncode == 0, result.stderr
    assert len(run_dirs(store)) == 4
    match = re.search(r"report:\s+(\S+report\.html)", result.stdout)
    assert match, result.stdout
    report = Path(match.group(1))
    assert report.is_file() and "<table" in report.read_text()
    verdict = re.search(r"local vs spinnaker_emulator: (PASS|WARN|FAIL)", result.stdout)
    assert verdict, result.stdout
    campaign = report.parent
    outcome = validate_crate(campaign, PROVENANCE_RUN_CRATE)
    assert outcome.passed, outcome.summary()
    emulated = next(p for p in run_dirs(store) if "spinnaker_emulator" in p.name)
    outcome = validate_crate(emulated, PROCESS_RUN_CRATE)
    assert outcome.passed, outcome.summary()


def test_campaign_with_one_target_says_there_is_nothing_to_compare(tmp_path: Path) -> None:
    experiment = small_experiment(tmp_path / "exp", n_neurons=50, duration=100.0)
    result = repro("campaign", str(experiment), "--targets", "local", store=tmp_path / "s")
    assert result.returncode == 0, result.stderr
    assert "nothing to compare" in result.stdout
