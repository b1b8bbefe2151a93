"""Helpers for the NMPI tests: bundles of the tiny networks and a run-to-the-end loop."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from repro.execution.bundle import build_bundle
from repro.site.runspec import RunSpec
from repro.targets.base import JobHandle, JobStatus, RunBundle, Target

NETWORKS = Path(__file__).parent / "networks"
TINY_PARAMS = {"n": 20, "rate": 2000.0, "weight": 0.5}


@pytest.fixture
def make_bundle(tmp_path: Path) -> Callable[..., RunBundle]:
    """``make_bundle(target, network="tiny", seed=1)`` -> a bundle prepared for ``target``."""
    counter = iter(range(1000))

    def make(target: Target, network: str = "tiny", seed: int = 1) -> RunBundle:
        index = next(counter)
        script_dir = tmp_path / f"experiment{index}"
        script_dir.mkdir()
        shutil.copy(NETWORKS / f"{network}.py", script_dir / "network.py")
        spec = RunSpec(experiment=f"nmpi-{network}", mode="build", script="network.py",
                       backend=target.backend, seed=seed, params=dict(TINY_PARAMS),
                       duration_ms=200.0, record=["cells"], model_hash="ab" * 32)
        spec = target.prepare(spec)
        return build_bundle(tmp_path / f"bundle{index}", spec, script_dir,
                            run_id=f"20260101T000000-{target.name}-s{seed}-{index:06x}")

    return make


def wait_until_terminal(target: Target, handle: JobHandle, timeout: float = 240.0
                        ) -> JobStatus:
    """Poll ``target`` as the dispatcher does until the job ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = target.status(handle)
        if status.state.terminal:
            return status
        time.sleep(0.05)
    raise AssertionError(f"job {handle.job_id} did not finish within {timeout} s")
