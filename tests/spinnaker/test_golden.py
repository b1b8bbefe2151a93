"""The emulator reproduces its golden set bit for bit (spikes, v and gsyn codes, events).

The golden files in ``tests/spinnaker/golden`` come from the emulator before its engine
became event-driven; any change to the engine's speed must leave every bit unchanged.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from repro.spinnaker import kernels as engine_kernels
from tests.spinnaker.golden.cases import CASES, HERE, run_case


@pytest.mark.parametrize("kernels", ["auto", "numpy"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_emulator_reproduces_the_golden_set(name, kernels, monkeypatch):
    """Both engine paths: numba's compiled kernels (where installed) and plain numpy."""
    monkeypatch.setenv("REPRO_EMULATOR_KERNELS", kernels)
    with np.load(HERE / f"{name}.npz") as golden:
        expected = {key: golden[key] for key in golden.files}
    produced = run_case(name)
    compiled = engine_kernels.compiled() is not None
    assert compiled == (kernels == "auto" and importlib.util.find_spec("numba") is not None)
    assert sorted(produced) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(produced[key], value, err_msg=f"{name}: {key}")
