"""experiment.toml validation: one clear message naming file, line and field; exit code 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from repro.config.experiment import load_experiment
from repro.errors import ExperimentError
from tests.foundation.helpers import REFERENCE, repro, run_dirs


@pytest.fixture
def experiment_dir(tmp_path: Path) -> Path:
    dest = tmp_path / "exp"
    shutil.copytree(REFERENCE, dest)
    return dest


def _edit(directory: Path, old: str, new: str) -> None:
    toml = directory / "experiment.toml"
    text = toml.read_text()
    assert old in text
    toml.write_text(text.replace(old, new))


def _line_containing(directory: Path, needle: str) -> int:
    lines = (directory / "experiment.toml").read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


def test_reference_experiment_loads() -> None:
    exp = load_experiment(REFERENCE)
    assert exp.name == "balanced_random"
    assert exp.record == ["exc", "inh"]
    assert exp.duration_ms == 1000.0
    assert exp.params["n_neurons"] == 500


def test_malformed_toml_names_file_and_line(experiment_dir: Path) -> None:
    _edit(experiment_dir, "duration = 1000.0", "duration = = 1000.0")
    with pytest.raises(ExperimentError) as info:
        load_experiment(experiment_dir)
    assert info.value.line == _line_containing(experiment_dir, "duration = =")
    assert str(experiment_dir / "experiment.toml") in str(info.value)


def test_unknown_key_names_field_and_line(experiment_dir: Path) -> None:
    _edit(experiment_dir, "seeds = [", "seedz = 3\nseeds = [")
    with pytest.raises(ExperimentError) as info:
        load_experiment(experiment_dir)
    assert info.value.field == "experiment.seedz"
    assert info.value.line == _line_containing(experiment_dir, "seedz")


def test_wrong_type_names_field(experiment_dir: Path) -> None:
    _edit(experiment_dir, "duration = 1000.0", 'duration = "long"')
    with pytest.raises(ExperimentError, match="expected an integer or a number") as info:
        load_experiment(experiment_dir)
    assert info.value.field == "experiment.duration"


def test_impossible_value_is_rejected(experiment_dir: Path) -> None:
    _edit(experiment_dir, "duration = 1000.0", "duration = -5.0")
    with pytest.raises(ExperimentError, match="positive") as info:
        load_experiment(experiment_dir)
    assert info.value.field == "experiment.duration"


def test_missing_script_is_reported(experiment_dir: Path) -> None:
    (experiment_dir / "network.py").unlink()
    with pytest.raises(ExperimentError, match="network.py not found") as info:
        load_experiment(experiment_dir)
    assert info.value.field == "experiment.script"


def test_missing_required_field_is_reported(experiment_dir: Path) -> None:
    _edit(experiment_dir, 'script = "network.py"\n', "")
    with pytest.raises(ExperimentError, match="required field 'script'"):
        load_experiment(experiment_dir)


def test_duplicate_seeds_are_rejected(experiment_dir: Path) -> None:
    _edit(experiment_dir, "seeds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", "seeds = [1, 1]")
    with pytest.raises(ExperimentError, match="duplicates"):
        load_experiment(experiment_dir)


def test_unknown_target_option_names_field(experiment_dir: Path, tmp_path: Path) -> None:
    _edit(experiment_dir, "[params]", '[targets.fast]\nkind = "local"\nthreds = 2\n\n[params]')
    result = repro("run", str(experiment_dir), "--targets", "fast", store=tmp_path / "store")
    assert result.returncode == 2
    assert "targets.fast.threds" in result.stderr
    assert "experiment.toml:" in result.stderr


def test_cli_bad_experiment_exits_2_and_writes_nothing(experiment_dir: Path,
                                                       tmp_path: Path) -> None:
    _edit(experiment_dir, "record = [", "record = 5\nrecord_old = [")
    store = tmp_path / "store"
    result = repro("run", str(experiment_dir), store=store)
    assert result.returncode == 2
    assert "error:" in result.stderr and "experiment.record" in result.stderr
    assert result.stderr.count("error:") == 1
    assert run_dirs(store) == []


def test_cli_unknown_target_exits_2(tmp_path: Path) -> None:
    result = repro("run", str(REFERENCE), "--targets", "nowhere", store=tmp_path / "s")
    assert result.returncode == 2
    assert "unknown target 'nowhere'" in result.stderr


def test_cli_bad_seeds_exit_2(tmp_path: Path) -> None:
    result = repro("run", str(REFERENCE), "--seeds", "3-1", store=tmp_path / "s")
    assert result.returncode == 2
    assert "--seeds" in result.stderr


def test_cli_usage_error_is_one_message_and_exit_2(tmp_path: Path) -> None:
    result = repro("run", "--no-such-option", store=tmp_path / "s")
    assert result.returncode == 2
    assert "No such option: --no-such-option" in result.stderr
    assert "Traceback" not in result.stderr
