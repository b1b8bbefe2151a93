"""Run selections: key=value terms, seed ranges, paths, and clear errors."""

from __future__ import annotations

import pytest

from repro.compare.selection import parse_selection, resolve_selection
from repro.errors import SelectionError
from repro.records.store import Store


def test_terms_seed_ranges_and_continued_values():
    sel = parse_selection("experiment=balanced_random,t=local,seed=1-3,7,model=ab12")
    assert sel.filters == {"experiment": ["balanced_random"], "target": ["local"],
                           "seed": [1, 2, 3, 7]}
    assert sel.prefixes == {"model_hash": ["ab12"]}


def test_a_path_selects_crates(tmp_path):
    assert parse_selection(str(tmp_path)).path == tmp_path


@pytest.mark.parametrize("text, message", [
    ("", "empty selection"),
    ("colour=red", "unknown selection key"),
    ("seed=one", "cannot read seed"),
    ("seed=5-1", "cannot read seed"),
    ("/no/such/crate", "neither a crate path"),
    ("seed=", "empty value"),
])
def test_bad_selections_are_input_errors(text, message):
    with pytest.raises(SelectionError, match=message):
        parse_selection(text, "--baseline")


def test_a_selection_that_matches_nothing_says_where_it_looked(tmp_path):
    with pytest.raises(SelectionError, match="matches no completed run"):
        resolve_selection(Store(tmp_path / "crates"), parse_selection("experiment=nothing"))


def test_a_directory_without_crates_is_an_error(tmp_path):
    with pytest.raises(SelectionError, match="no run crates"):
        resolve_selection(Store(tmp_path), parse_selection(str(tmp_path)))
