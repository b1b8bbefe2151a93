"""Helpers for the NMPI tests: bundles of the tiny networks."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from repro.site.runspec import RunSpec
from repro.targets.base import RunBundle, Target
from tests.targets.jobs import script_bundle

NETWORKS = Path(__file__).parent / "networks"
TINY_PARAMS = {"n": 20, "rate": 2000.0, "weight": 0.5}


@pytest.fixture
def make_bundle(tmp_path: Path) -> Callable[..., RunBundle]:
    """``make_bundle(target, network="tiny", seed=1)`` -> a bundle prepared for ``target``."""
    counter = iter(range(1000))

    def make(target: Target, network: str = "tiny", seed: int = 1) -> RunBundle:
        script_dir = tmp_path / f"experiment{next(counter)}"
        script_dir.mkdir()
        shutil.copy(NETWORKS / f"{network}.py", script_dir / "network.py")
        spec = RunSpec(experiment=f"nmpi-{network}", mode="build", script="network.py",
                       backend=target.backend, seed=seed, params=dict(TINY_PARAMS),
                       duration_ms=200.0, record=["cells"], model_hash="ab" * 32)
        return script_bundle(target, spec, script_dir, tmp_path)

    return make
