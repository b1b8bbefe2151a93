"""The model hash is canonical: formatting never changes it, content always does."""

from __future__ import annotations

import shutil
import tempfile
import tomllib
from pathlib import Path

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repro.config.experiment import load_experiment
from repro.config.hashes import canonical_json, model_hash
from tests.foundation.helpers import REFERENCE

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
scalars = st.one_of(st.integers(-10**6, 10**6), st.floats(-1e6, 1e6, allow_nan=False),
                    st.booleans(), st.text(max_size=8))
params_strategy = st.dictionaries(names, st.one_of(scalars, st.dictionaries(names, scalars,
                                                                             max_size=3)),
                                  min_size=1, max_size=6)
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _write_experiment(directory: Path, params: dict, *, header: str = "",
                      reverse: bool = False) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(REFERENCE / "network.py", directory / "network.py")
    meta = {"script": "network.py", "duration": 1000.0, "record": ["exc", "inh"]}
    ordered = dict(reversed(list(params.items()))) if reverse else params
    text = header + tomli_w.dumps({"experiment": meta, "params": ordered})
    (directory / "experiment.toml").write_text(text)
    return directory


def _reordered(value):
    if isinstance(value, dict):
        return {k: _reordered(value[k]) for k in reversed(list(value))}
    return value


@SETTINGS
@given(params=params_strategy)
def test_key_order_and_formatting_do_not_change_the_hash(params: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        a = _write_experiment(Path(tmp) / "a", params)
        b = _write_experiment(Path(tmp) / "b", _reordered(params),
                              header="# a comment\n\n\n", reverse=True)
        text = (b / "experiment.toml").read_text().replace(" = ", "   =   ")
        (b / "experiment.toml").write_text(text)
        assert model_hash(load_experiment(a)) == model_hash(load_experiment(b))


@SETTINGS
@given(params=params_strategy, data=st.data())
def test_any_parameter_change_changes_the_hash(params: dict, data) -> None:
    key = data.draw(st.sampled_from(sorted(params)))
    new_value = data.draw(scalars.filter(lambda v: canonical_json(v) != canonical_json(
        params[key])))
    changed = {**params, key: new_value}
    with tempfile.TemporaryDirectory() as tmp:
        a = _write_experiment(Path(tmp) / "a", params)
        b = _write_experiment(Path(tmp) / "b", changed)
        assert model_hash(load_experiment(a)) != model_hash(load_experiment(b))


@SETTINGS
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_any_script_byte_change_changes_the_hash(position: int, flip: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        a = _write_experiment(Path(tmp) / "a", {"x": 1})
        b = _write_experiment(Path(tmp) / "b", {"x": 1})
        script = bytearray((b / "network.py").read_bytes())
        script[position % len(script)] ^= flip
        (b / "network.py").write_bytes(bytes(script))
        assert model_hash(load_experiment(a)) != model_hash(load_experiment(b))


def test_numbers_hash_alike_however_written(tmp_path: Path) -> None:
    hashes = set()
    for index, spelling in enumerate(("1", "1.0", "1e0", "1.000")):
        directory = tmp_path / f"e{index}"
        _write_experiment(directory, {"w": 0})
        toml = directory / "experiment.toml"
        toml.write_text(toml.read_text().replace("w = 0", f"w = {spelling}"))
        hashes.add(model_hash(load_experiment(directory)))
    assert len(hashes) == 1


def test_duration_and_recording_are_part_of_the_model(tmp_path: Path) -> None:
    base = _write_experiment(tmp_path / "a", {"x": 1})
    other = _write_experiment(tmp_path / "b", {"x": 1})
    toml = other / "experiment.toml"
    original = tomllib.loads(toml.read_text())
    for key, value in (("duration", 999.0), ("record", ["exc"])):
        document = {**original, "experiment": {**original["experiment"], key: value}}
        toml.write_text(tomli_w.dumps(document))
        assert model_hash(load_experiment(base)) != model_hash(load_experiment(other))
