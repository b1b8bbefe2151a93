"""Turning NESTML's log and compiler output into errors that name the model file and line."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from repro.errors import InputError, ReproError
from repro.nestml.build import compile_error
from repro.nestml.codegen import model_error
from repro.nestml.generator_worker import collect_messages
from repro.nestml.sources import NestmlSource


def position(line: int, column: int) -> SimpleNamespace:
    return SimpleNamespace(get_start_line=lambda: line, get_start_column=lambda: column)


def level(name: str) -> SimpleNamespace:
    return SimpleNamespace(name=name)


def test_log_entries_are_mapped_to_full_source_paths():
    sources = ["/exp/models/a.nestml", "/exp/models/b.nestml"]
    log = {
        0: ("", None, level("INFO"), level("START_PROCESSING_FILE"), None,
            'Start processing "/exp/models/a.nestml"!'),
        1: ("", None, level("ERROR"), None, position(14, 24), "Error occurred during parsing"),
        2: ("b.nestml", None, level("ERROR"), level("SYMBOL_NOT_RESOLVED"), position(57, 14),
            'Could not resolve symbol "V_resett"!'),
        3: ("b.nestml", None, level("INFO"), None, None, "fine"),
    }
    messages = collect_messages(log, sources)
    assert [(m["file"], m["line"], m["column"]) for m in messages] == [
        ("/exp/models/a.nestml", 14, 24), ("/exp/models/b.nestml", 57, 14)]
    assert messages[1]["code"] == "SYMBOL_NOT_RESOLVED"


def test_model_error_names_first_file_and_line_and_lists_the_rest():
    errors = [{"file": "/exp/a.nestml", "line": 3, "column": 5, "message": "first"},
              {"file": "/exp/b.nestml", "line": 9, "column": 1, "message": "second"}]
    error = model_error(errors, [])
    assert isinstance(error, InputError)
    assert (error.path, error.line) == ("/exp/a.nestml", 3)
    assert str(error).startswith("/exp/a.nestml:3: NESTML: first")
    assert "b.nestml:9: second" in str(error)


def source(tmp_path: Path, name: str, model: str) -> NestmlSource:
    return NestmlSource(tmp_path / name, name, "0" * 64, (model,))


def test_compiler_error_in_generated_model_code_names_the_model_file(tmp_path):
    output = ("/stage/generated/iaf_psc_exp_nestml.cpp:120:5: error: 'foo' was not declared "
              "in this scope\n")
    error = compile_error(output, ["/usr/bin/make"], [source(tmp_path, "m.nestml",
                                                              "iaf_psc_exp")], tmp_path / "log")
    assert isinstance(error, InputError)
    assert error.path == str(tmp_path / "m.nestml")
    assert "iaf_psc_exp_nestml.cpp:120: 'foo' was not declared" in str(error)


def test_missing_header_names_the_debian_package(tmp_path):
    output = ("/nest/include/nest/nest_types.h:30:10: fatal error: gsl/gsl_errno.h: No such "
              "file or directory\n")
    error = compile_error(output, ["/usr/bin/make"], [], tmp_path / "log")
    assert not isinstance(error, InputError)
    assert isinstance(error, ReproError)
    assert "libgsl-dev" in str(error)


def test_failure_without_compiler_messages_quotes_the_tool_output(tmp_path):
    error = compile_error("CMake Error: something odd\n", ["/usr/bin/cmake"], [],
                          tmp_path / "log")
    assert "cmake" in str(error)
    assert "CMake Error: something odd" in str(error)
