"""Worked examples in docstrings: every public statistics function has one, and all of them hold."""

from __future__ import annotations

import doctest
import inspect
import types

import pytest

from repro.compare import (
    numerics,
    outcomes,
    paired,
    paired_verdict,
    pairing,
    spike_match,
    statistics,
)
from repro.site import clock, fingerprints

#: Modules whose docstring examples run in the suite.
DOCTESTED = (statistics, outcomes, clock, paired, pairing, paired_verdict, spike_match,
             numerics, fingerprints)


def _public_functions(module: types.ModuleType) -> list[str]:
    return [name for name, obj in vars(module).items()
            if inspect.isfunction(obj) and obj.__module__ == module.__name__
            and not name.startswith("_")]


@pytest.mark.parametrize("module", [statistics, paired], ids=lambda m: m.__name__)
def test_every_public_statistics_function_has_an_example(module) -> None:
    with_examples = {test.name.rsplit(".", 1)[-1]
                     for test in doctest.DocTestFinder().find(module) if test.examples}
    missing = [name for name in _public_functions(module) if name not in with_examples]
    assert _public_functions(module) and not missing, f"no example in: {missing}"


@pytest.mark.parametrize("module", DOCTESTED, ids=lambda m: m.__name__)
def test_docstring_examples_hold(module: types.ModuleType) -> None:
    outcome = doctest.testmod(module, report=False)
    assert outcome.attempted > 0 and outcome.failed == 0, f"{outcome.failed} example(s) failed"
