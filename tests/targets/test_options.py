"""Target options: declared once, old names accepted with a note, docs generated and current."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from repro.errors import InputError
from repro.targets import TARGET_KINDS, options_markdown, target_class
from repro.targets.options import time_limit_minutes

DOCS = Path(__file__).resolve().parents[2] / "docs" / "targets.md"


def test_docs_are_generated_from_the_declarations_and_current():
    assert DOCS.read_text(encoding="utf-8") == options_markdown(), (
        "docs/targets.md is stale: run `repro targets docs --output docs/targets.md`")


def test_one_name_per_concept_across_kinds():
    names = {kind: set(target_class(kind).declared) for kind in TARGET_KINDS}
    for old in ("token_env", "verify", "retries", "time_minutes", "tasks", "project"):
        assert not any(old in declared for declared in names.values()), old
    for shared in ("token_variable", "verify_tls", "attempts", "poll_interval", "poll_max",
                   "outage_limit"):
        assert shared in names["unicore"] and shared in names["nmpi"], shared
    for shared in ("time", "ntasks", "account", "nodes", "partition", "outage_limit"):
        unicore, slurm = (replace(target_class(k).declared[shared], aliases=())
                          for k in ("unicore", "slurm"))
        assert unicore == slurm, shared  # same type, default, unit, meaning, identity


@pytest.mark.parametrize("kind, old, value, new, expected", [
    ("nmpi", "retries", 2, "attempts", 3),          # retries counted retries
    ("unicore", "retries", 4, "attempts", 4),       # retries counted attempts
    ("nmpi", "token_env", "MY_TOKEN", "token_variable", "MY_TOKEN"),
    ("nmpi", "verify", False, "verify_tls", False),
    ("unicore", "time_minutes", 20, "time", 20),
    ("unicore", "tasks", 2, "ntasks", 2),
    ("unicore", "project", "p42", "account", "p42"),
])
def test_old_names_still_work_with_a_deprecation_note(kind, old, value, new, expected):
    base = {"nmpi": {"collab": "c"},
            "unicore": {"url": "https://h:1/S/rest/core", "module": "ebrains/24.10"}}[kind]
    with pytest.warns(FutureWarning, match=f"'{old}' is now called '{new}'"):
        target = target_class(kind)(f"old-{kind}", {**base, old: value})
    assert target.option(new) == expected and old not in target.options
    assert any(f"'{old}' is now called '{new}'" in note for note in target.notes)


def test_the_new_name_wins_over_the_old_one():
    with pytest.warns(FutureWarning):
        target = target_class("nmpi")("both", {"collab": "c", "retries": 1, "attempts": 9})
    assert target.option("attempts") == 9


@pytest.mark.parametrize("kind, options, field", [
    ("slurm", {"time": "ten minutes"}, "time"),
    ("slurm", {"ntasks": 0}, "ntasks"),
    ("unicore", {"url": "https://h:1/S/rest/core", "module": "m", "time": "1:2:3:4"}, "time"),
    ("unicore", {"url": "https://h:1/S/rest/core", "module": "m", "retries": 0}, "retries"),
    ("nmpi", {"collab": "c", "poll_max": 0}, "poll_max"),
    ("local", {"threads": True}, "threads"),
    ("local", {"no_such_option": 1}, "no_such_option"),
])
def test_bad_values_name_the_option_as_the_user_wrote_it(kind, options, field):
    with pytest.raises(InputError, match=rf"targets\.bad\.{field}'"):
        target_class(kind)("bad", options)


def test_slurm_time_limits_in_minutes():
    assert [time_limit_minutes(t) for t in (1, "5", "00:30:00", "1-0", "0:59")] == [
        1, 5, 30, 1440, 1]
