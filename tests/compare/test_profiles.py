"""Tolerance profiles: shipped default, lookup, validation errors, calibrated copies."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from repro.compare.profiles import (
    KNOWN_STATISTICS,
    PACKAGED_DIR,
    load_profile,
    parse_profile,
    with_r_thresholds,
)
from repro.errors import InputError

DEFAULT = PACKAGED_DIR / "default.toml"


def test_default_profile_carries_the_method_numbers_and_its_hash():
    profile = load_profile("default")
    assert profile.name == "default" and profile.version
    assert profile.sha256 == hashlib.sha256(DEFAULT.read_bytes()).hexdigest()
    assert profile.verdict.r_k == (3, 5, 10)
    assert profile.verdict.r_values == (2.3, 1.75, 1.35)
    assert profile.statistics.transient_ms == 200.0 and profile.statistics.min_spikes == 10
    assert set(profile.compare) <= set(KNOWN_STATISTICS)
    rate = profile.margins["rate"]
    assert (rate.relative, rate.absolute, rate.se_factor) == (0.10, 0.2, 4.0)
    assert profile.margins["cv"].absolute == 0.05
    assert profile.margins["corr"].relative == 0.20 and profile.margins["corr"].absolute == 0.002


def test_project_profiles_are_found_by_name(tmp_path, monkeypatch):
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "strict.toml").write_bytes(
        DEFAULT.read_bytes().replace(b'name = "default"', b'name = "strict"'))
    monkeypatch.chdir(tmp_path)
    assert load_profile("strict").name == "strict"


def test_unknown_profile_names_the_known_ones():
    with pytest.raises(InputError, match="known: .*default"):
        load_profile("no-such-profile")


def broken(replace: str, by: str) -> bytes:
    text = DEFAULT.read_text()
    assert replace in text
    return text.replace(replace, by, 1).encode()


def test_scalar_thresholds_default_to_the_distribution_table():
    text = DEFAULT.read_text()
    start = text.index("[verdict.r_threshold_scalar]")
    end = text.index("[margins.rate]")
    profile = parse_profile((text[:start] + text[end:]).encode(), source="x.toml")
    assert profile.verdict.r_values_scalar == profile.verdict.r_values


@pytest.mark.parametrize("old, new, field", [
    ("min_spikes = 10", "min_spikes = 2", "statistics"),
    ("min_spikes = 10", "min_spikes = 10.5", "statistics.min_spikes"),
    ("fdr_q = 0.05", "fdr_q = 1.5", "verdict.fdr_q"),
    ("k = [3, 5, 10]", "k = [3, 5]", "verdict.r_threshold"),
    ("[margins.cv]\nabsolute = 0.05", "[margins.cv]\nabsolut = 0.05", "margins.cv.absolut"),
    ("[margins.lv]\nabsolute = 0.05\nse_factor = 4.0\n", "", "margins.lv"),
    ('"rate", "cv"', '"rate", "cvv"', "statistics.compare"),
])
def test_invalid_profiles_name_file_and_field(old, new, field):
    with pytest.raises(InputError) as error:
        parse_profile(broken(old, new), source="profiles/x.toml")
    assert error.value.path == "profiles/x.toml"
    assert error.value.field == field


def test_not_toml_is_reported_with_the_file():
    with pytest.raises(InputError, match="not valid TOML") as error:
        parse_profile(b"[profile\nname=", source="bad.toml")
    assert error.value.path == "bad.toml"


def test_calibrated_copy_changes_only_thresholds_name_and_version(tmp_path):
    text = with_r_thresholds(DEFAULT.read_text(), {
        "verdict.r_threshold": ([3, 5], [2.5, 1.9]),
        "verdict.r_threshold_scalar": ([3, 5, 10], [3.5, 2.9, 2.0])},
        name="cal", version="1.0.0+cal", note="calibrated on 20 runs")
    path = Path(tmp_path / "cal.toml")
    path.write_text(text)
    calibrated, default = load_profile(path), load_profile("default")
    assert (calibrated.name, calibrated.version) == ("cal", "1.0.0+cal")
    assert calibrated.verdict.r_k == (3, 5) and calibrated.verdict.r_values == (2.5, 1.9)
    assert calibrated.verdict.r_values_scalar == (3.5, 2.9, 2.0)
    assert calibrated.verdict.r_threshold(5, scalar=True) == 2.9
    assert calibrated.margins == default.margins
    assert calibrated.statistics == default.statistics
    assert "calibrated on 20 runs" in text
    again = with_r_thresholds(text, {"verdict.r_threshold": ([3, 5], [2.0, 1.5])},
                              name="cal2", version="2", note="again")
    assert again.count("calibration =") == 1
