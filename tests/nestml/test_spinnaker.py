"""SpiNNaker target of NESTML models: generation with NESTML 8.2.0, layout, toolchain record."""

from __future__ import annotations

import time

import pytest

from repro.nestml.generator_env import SPINNAKER_NESTML
from repro.nestml.spinnaker import missing_toolchain, prepare_spinnaker, spynnaker_version
from tests.fixtures.nestml import EQUIVALENCE, EQUIVALENCE_MODELS


def test_missing_toolchain_names_every_absent_part(monkeypatch, tmp_path):
    monkeypatch.delenv("SPINN_DIRS", raising=False)
    monkeypatch.setenv("NEURAL_MODELLING_DIRS", str(tmp_path / "absent"))
    monkeypatch.setenv("PATH", str(tmp_path))
    missing = missing_toolchain("1!7.4.1")
    assert any(m.startswith("environment variable SPINN_DIRS") and m.endswith("(not set)")
               for m in missing)
    assert any("NEURAL_MODELLING_DIRS" in m and "1!7.4.1" in m and "is not a directory" in m
               for m in missing)
    assert any("arm-none-eabi-gcc" in m and "gcc-arm-none-eabi" in m for m in missing)


def test_present_parts_are_not_listed(monkeypatch, tmp_path):
    monkeypatch.setenv("SPINN_DIRS", str(tmp_path))
    monkeypatch.setenv("NEURAL_MODELLING_DIRS", str(tmp_path))
    missing = missing_toolchain("1!7.4.1")
    assert not any("SPINN_DIRS" in m or "NEURAL_MODELLING_DIRS" in m for m in missing)


def test_generation_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("REPRO_NESTML_SPINNAKER", "off")
    generation = prepare_spinnaker(EQUIVALENCE, EQUIVALENCE_MODELS)
    assert generation.status == "skipped"
    assert "REPRO_NESTML_SPINNAKER" in generation.error


@pytest.mark.slow
def test_both_models_are_generated_as_an_installable_tree(nestml_spinnaker):
    assert nestml_spinnaker.status == "generated", nestml_spinnaker.error
    assert nestml_spinnaker.nestml_version == SPINNAKER_NESTML
    root = nestml_spinnaker.install_dir
    for model in ("iaf_psc_exp_nestml", "iaf_psc_exp_adapt_nestml"):
        assert (root / "python_models8" / "neuron" / "builds" / f"{model}.py").is_file()
        assert (root / "python_models8" / "neuron" / "implementations"
                / f"{model}_impl.py").is_file()
        assert (root / "c_models" / "src" / "my_models" / "implementations"
                / f"{model}_impl.h").is_file()
        assert (root / "c_models" / "makefiles" / f"{model}_impl" / "Makefile").is_file()
    assert (root / "c_models" / "makefiles" / "extra.mk").is_file()
    assert set(nestml_spinnaker.files) == {
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_binary_status_is_recorded_precisely(nestml_spinnaker):
    binary = nestml_spinnaker.binary
    if binary["status"] == "platform-side":
        assert binary["missing"] or "ARM build failed" in binary["detail"]
        assert "must be built on the platform side" in binary["detail"]
    else:
        assert binary["status"] == "compiled"
        assert binary["aplx"]


@pytest.mark.slow
def test_generated_models_map_on_a_virtual_board(nestml_spinnaker):
    board = nestml_spinnaker.virtual_board
    if not spynnaker_version():
        assert board["status"] == "not-checked"
        pytest.skip("sPyNNaker is not installed (extra 'spinnaker')")
    assert board["status"] == "mapped", board.get("detail")
    assert board["imported"] == ["iaf_psc_exp_nestml", "iaf_psc_exp_adapt_nestml"]


@pytest.mark.slow
def test_second_generation_is_a_cache_hit(nestml_spinnaker, nestml_cache):
    start = time.perf_counter()
    again = prepare_spinnaker(EQUIVALENCE, EQUIVALENCE_MODELS, nestml_cache / "nestml")
    assert again.cache_hit
    assert time.perf_counter() - start < 1.0
    assert again.generated_sources_hash == nestml_spinnaker.generated_sources_hash
    assert again.bundle_files()["nestml/spinnaker/python_models8/__init__.py"].is_file()
