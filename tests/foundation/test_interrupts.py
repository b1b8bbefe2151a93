"""Ctrl-C (SIGINT) and SIGTERM stop ``repro run`` within 10 s, cancel the harness, keep no crate.

The runs are started the way CI and shell scripts start background jobs: with SIGINT
*ignored* in the parent (a non-interactive shell's ``cmd &``). Python then never raises
KeyboardInterrupt unless repro installs its own handler, which is why the SLURM Ctrl-C test
hung in fresh-clone runs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.foundation.helpers import run_dirs, signal_repro_run, wait_while_alive

SLEEPY = Path(__file__).resolve().parents[1] / "hpc" / "data" / "sleepy"
STOP_WITHIN_S = 10.0


def sleepy(dest: Path, wait_s: float, extra: str = "") -> Path:
    """The tiny sleepy experiment (its build() sleeps ``wait_s``) copied to ``dest``."""
    shutil.copytree(SLEEPY, dest)
    toml = dest / "experiment.toml"
    text = toml.read_text().replace("wait_s = 0.0", f"wait_s = {wait_s}")
    toml.write_text(text + extra)
    return dest


def _harness_pids(store: Path) -> list[int]:
    """PIDs of harness processes working inside ``store`` (their cwd is a bundle there)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = os.readlink(proc / "cwd")
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if cwd.startswith(str(store)) and b"repro.site.harness" in cmdline:
            pids.append(int(proc.name))
    return pids


def interrupt_run(tmp_path: Path, target: str, signum: int) -> tuple[int, float, str, Path]:
    """Start ``repro run`` on ``target``, signal it once the harness runs; return
    (exit code, seconds from signal to exit, stderr, store)."""
    experiment = sleepy(tmp_path / "exp", wait_s=120.0)
    store = tmp_path / "store"
    env = {**os.environ, "REPRO_STORE": str(store)}

    def harness_started(process: subprocess.Popen) -> None:
        wait_while_alive(process, lambda: _harness_pids(store), "the harness")
        time.sleep(0.5)

    code, elapsed, stderr, _ = signal_repro_run(["run", str(experiment), "--targets", target],
                                                env, signum, harness_started)
    return code, elapsed, stderr, store


@pytest.mark.slow
@pytest.mark.parametrize(("target", "signum"), [("local", signal.SIGINT),
                                                ("spinnaker_emulator", signal.SIGTERM)])
def test_a_signal_stops_the_run_cancels_the_harness_and_keeps_no_crate(tmp_path, target,
                                                                        signum):
    code, elapsed, stderr, store = interrupt_run(tmp_path, target, signum)
    name = signal.Signals(signum).name
    assert code == 128 + signum, stderr[-2000:]
    assert elapsed < STOP_WITHIN_S, f"{name}: stopped after {elapsed:.1f} s"
    assert f"interrupted ({name})" in stderr
    assert run_dirs(store) == []
    assert _harness_pids(store) == [], "the harness process survived the interrupt"
    print(f"{target}: {name} -> exit {code} after {elapsed:.2f} s")


def test_an_interrupt_during_submission_is_delivered_once_the_handles_are_known():
    """Submission is deferred-interrupt: the site's job id must reach the dispatcher."""
    from repro.execution.dispatch import interrupts_deferred

    reached = []
    # As repro's CLI does: the runner may have inherited SIGINT ignored (a background job).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt), interrupts_deferred():
            signal.raise_signal(signal.SIGINT)
            reached.append("the submission finished")
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)
    assert reached == ["the submission finished"]
