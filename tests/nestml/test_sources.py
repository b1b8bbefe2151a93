"""NESTML source files: resolution, model names, errors that name the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from repro.errors import InputError
from repro.nestml.sources import NestmlSource, model_source, resolve_sources, sources_digest

MODEL = "model {name}:\n    state:\n        V_m mV = -70 mV\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_relative_paths_resolve_against_the_experiment_and_list_their_models(tmp_path):
    write(tmp_path / "models" / "a.nestml", MODEL.format(name="a") + MODEL.format(name="b"))
    [source] = resolve_sources(tmp_path, ["models/a.nestml"])
    assert source.path == tmp_path / "models" / "a.nestml"
    assert source.models == ("a", "b")
    assert len(source.sha256) == 64


def test_missing_file_is_an_input_error_naming_file_and_field(tmp_path):
    with pytest.raises(InputError) as info:
        resolve_sources(tmp_path, ["models/absent.nestml"])
    assert info.value.path.endswith("models/absent.nestml")
    assert info.value.field == "experiment.nestml"


def test_file_without_a_model_is_rejected_at_line_one(tmp_path):
    write(tmp_path / "empty.nestml", "# only a comment\n")
    with pytest.raises(InputError) as info:
        resolve_sources(tmp_path, ["empty.nestml"])
    assert info.value.line == 1
    assert "declares no model" in str(info.value)


def test_two_files_with_one_name_are_rejected(tmp_path):
    write(tmp_path / "x" / "m.nestml", MODEL.format(name="a"))
    write(tmp_path / "y" / "m.nestml", MODEL.format(name="b"))
    with pytest.raises(InputError, match="two NESTML files are named m.nestml"):
        resolve_sources(tmp_path, ["x/m.nestml", "y/m.nestml"])


def test_empty_list_is_rejected(tmp_path):
    with pytest.raises(InputError, match="no NESTML files"):
        resolve_sources(tmp_path, [])


def test_model_source_finds_the_declaring_file(tmp_path):
    write(tmp_path / "a.nestml", MODEL.format(name="alpha"))
    write(tmp_path / "b.nestml", MODEL.format(name="beta"))
    sources = resolve_sources(tmp_path, ["a.nestml", "b.nestml"])
    assert model_source(sources, "beta").name == "b.nestml"
    assert model_source(sources, "gamma") is None


names = st.lists(st.from_regex(r"[a-z]{1,8}\.nestml", fullmatch=True), min_size=1,
                 max_size=5, unique=True)


@given(names=names, data=st.data())
def test_sources_digest_does_not_depend_on_order(names, data):
    sources = [NestmlSource(Path(n), n, data.draw(st.text(min_size=64, max_size=64)), ("m",))
               for n in names]
    shuffled = data.draw(st.permutations(sources))
    assert sources_digest(sources) == sources_digest(shuffled)


def test_sources_digest_changes_with_content():
    a = NestmlSource(Path("a.nestml"), "a.nestml", "0" * 64, ("m",))
    b = NestmlSource(Path("a.nestml"), "a.nestml", "1" * 64, ("m",))
    assert sources_digest([a]) != sources_digest([b])
