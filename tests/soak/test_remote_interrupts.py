"""SIGINT and SIGTERM stop ``repro run`` on the UNICORE and NMPI targets within 10 s, cancel
the job on the server and keep no crate (the CLI in a child process, SIGINT ignored in its
parent as for a background job)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.foundation.helpers import run_dirs, signal_repro_run, wait_while_alive
from tests.foundation.test_interrupts import STOP_WITHIN_S, sleepy

pytestmark = [pytest.mark.slow, pytest.mark.infra]


def _interrupt(experiment: Path, target: str, env: dict[str, str], signum: int,
               running: Callable[[], bool]) -> tuple[int, float, str]:
    code, elapsed, stderr, _ = signal_repro_run(
        ["run", str(experiment), "--targets", target], env, signum,
        lambda process: wait_while_alive(process, running, "the job"))
    return code, elapsed, stderr


def _eventually(check: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def _assert_stopped(code: int, elapsed: float, stderr: str, signum: int, store: Path) -> None:
    name = signal.Signals(signum).name
    assert code == 128 + signum, stderr[-2000:]
    assert elapsed < STOP_WITHIN_S, f"{name}: exited {elapsed:.1f} s after the signal"
    assert f"interrupted ({name})" in stderr and "not confirmed" not in stderr
    assert run_dirs(store) == []


def test_sigint_aborts_the_unicore_job(unicore_site, tmp_path):
    table = (f'\n[targets.uc]\nkind = "unicore"\nmode = "native"\nmodule = "ebrains/24.10"\n'
             f'url = "{unicore_site.https_url}"\nca_bundle = "{unicore_site.ca_bundle}"\n'
             'poll_interval = 0.2\npoll_max = 1.0\ntime_minutes = 5\n')
    experiment = sleepy(tmp_path / "exp", wait_s=120.0, extra=table)
    store = tmp_path / "store"
    env = {k: v for k, v in os.environ.items() if k != "EBRAINS_TOKEN"}
    env.update(UNICORE_TOKEN=unicore_site.token(), REPRO_STORE=str(store))
    before = {j["id"] for j in unicore_site.jobs()}

    def ours() -> list[dict]:
        return [j for j in unicore_site.jobs() if j["id"] not in before
                and any(t.startswith("repro-run-") for t in j["tags"])]

    code, elapsed, stderr = _interrupt(
        experiment, "uc", env, signal.SIGINT,
        lambda: any(j["status"] == "RUNNING" for j in ours()))
    _assert_stopped(code, elapsed, stderr, signal.SIGINT, store)
    assert _eventually(lambda: all(j["status"] in ("FAILED", "SUCCESSFUL") for j in ours()))
    print(f"unicore: SIGINT -> exit {code} after {elapsed:.2f} s; job "
          f"{[j['status'] for j in ours()]}")


def test_sigterm_removes_the_nmpi_job(nmpi_queue, nmpi_user, tmp_path):
    table = (f'\n[targets.spinn]\nkind = "nmpi"\nurl = "{nmpi_queue.url}"\n'
             f'user_info_url = "{nmpi_queue.user_info_url}"\ncollab = "{nmpi_queue.collab}"\n'
             'poll_interval = 0.1\npoll_max = 1.0\npreflight = false\n')
    experiment = sleepy(tmp_path / "exp", wait_s=120.0, extra=table)
    store = tmp_path / "store"
    env = {k: v for k, v in os.environ.items() if k not in ("NMPI_TOKEN",)}
    env.update(EBRAINS_TOKEN=nmpi_queue.token, HOME=str(nmpi_user), REPRO_STORE=str(store))

    def jobs() -> list[dict]:
        return nmpi_queue.state()["jobs"]

    code, elapsed, stderr = _interrupt(experiment, "spinn", env, signal.SIGTERM,
                                       lambda: any(j["status"] == "running" for j in jobs()))
    _assert_stopped(code, elapsed, stderr, signal.SIGTERM, store)
    assert _eventually(lambda: [j["status"] for j in jobs()] == ["removed"])
    print(f"nmpi: SIGTERM -> exit {code} after {elapsed:.2f} s; job removed")
