"""The embedded default target: NEST in this machine's Python, one harness process per run."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

from repro.errors import TargetError
from repro.targets.base import JobHandle, JobState, JobStatus, RunBundle, Target
from repro.targets.fetch import LAUNCHER_LOG, fetch_directory
from repro.targets.options import Option, Options


def probe_cache_path(python: str) -> Path | None:
    """Cache file for the environment probe of ``python``, or None if it cannot be keyed.

    Only this interpreter can be keyed cheaply: the key covers its path, version and the
    modification times of every package directory on its ``sys.path``. Paths are compared
    unresolved: every venv's ``python`` is a symlink to the same base interpreter.
    """
    if Path(python).absolute() != Path(sys.executable).absolute():
        return None
    stamps = [sys.executable, sys.version]
    for entry in sys.path:
        path = Path(entry or ".")
        if path.is_dir() and ("site-packages" in path.parts or "dist-packages" in path.parts):
            stamps.append(f"{path}:{path.stat().st_mtime_ns}")
    key = hashlib.sha256("\n".join(stamps).encode()).hexdigest()[:24]
    base = Path(os.environ.get("REPRO_CACHE_DIR") or Path.home() / ".cache" / "repro")
    return base / "env-probe" / f"{key}.json"


class LocalTarget(Target):
    """Run the harness in a child process of this Python interpreter.

    Options: see ``declared`` (and docs/targets.md).
    """

    kind: ClassVar[str] = "local"
    backend: ClassVar[str] = "nest"
    summary: ClassVar[str] = "NEST in this machine's Python, one harness process per run."
    poll_max_s: ClassVar[float] = 0.05  # Popen.poll() costs nothing
    declared: ClassVar[Options] = Target.declared.with_(
        Option("python", str, "", "Interpreter that runs the harness (default: the one "
                                  "repro runs in).", identity=False),
        Option("spike_precision", str, "off_grid", "`off_grid` (pyNN.nest's default: spike "
               "times between grid points) or `on_grid` (spikes on the time grid, as on "
               "SpiNNaker).", backend_setup=True))

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        self._processes: dict[str, subprocess.Popen] = {}
        self._probed: dict[str, Any] | None = None

    @property
    def python(self) -> str:
        """Interpreter that runs the harness."""
        return str(self.options.get("python") or sys.executable)

    def probe_environment(self) -> dict[str, Any]:
        """Manifest of the harness interpreter, captured in a child process of it.

        The probe is cached on disk, keyed on the interpreter and the modification times of
        its package directories, so an install or uninstall invalidates it.
        """
        if self._probed is None:
            cache = probe_cache_path(self.python)
            if cache is not None and cache.is_file():
                self._probed = json.loads(cache.read_text())
                return self._probed
            from repro.site import package_root

            env = {**os.environ, "PYTHONPATH": str(package_root().parent)}
            completed = subprocess.run(
                [self.python, "-m", "repro.site.envinfo", self.site],
                capture_output=True, text=True, env=env, check=False)
            if completed.returncode != 0:
                raise TargetError(f"target {self.name!r}: cannot probe the environment of "
                                  f"{self.python}: {completed.stderr.strip()[-500:]}")
            self._probed = json.loads(completed.stdout)
            if cache is not None:
                cache.parent.mkdir(parents=True, exist_ok=True)
                tmp = cache.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(completed.stdout)
                os.replace(tmp, cache)
        return self._probed

    def submit(self, bundle: RunBundle) -> JobHandle:
        """Start the harness for ``bundle`` in a new process group."""
        env = {**os.environ, **bundle.harness_env()}
        log = (bundle.directory / LAUNCHER_LOG).open("wb")
        try:
            process = subprocess.Popen(
                bundle.harness_argv(python=self.python), cwd=bundle.directory, env=env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        finally:
            log.close()
        job_id = str(process.pid)
        self._processes[job_id] = process
        return JobHandle(target=self.name, job_id=job_id,
                         info={"executor": "local process", "pid": process.pid},
                         state={"bundle": str(bundle.directory)})

    def status(self, handle: JobHandle) -> JobStatus:
        """Poll the child process."""
        process = self._processes[handle.job_id]
        code = process.poll()
        if code is None:
            return JobStatus(JobState.RUNNING)
        if code == 0:
            return JobStatus(JobState.DONE)
        if code < 0:
            return JobStatus(JobState.FAILED, f"harness killed by signal {-code}")
        return JobStatus(JobState.FAILED, f"harness exited with code {code}")

    def fetch(self, handle: JobHandle, dest: Path) -> None:
        """Copy the harness outputs (whatever exists of them) into ``dest``."""
        bundle = Path(handle.state["bundle"])
        fetch_directory(bundle / RunBundle.OUTPUT_DIR, dest, bundle / LAUNCHER_LOG)

    def cancel(self, handle: JobHandle) -> None:
        """Terminate the harness process group."""
        process = self._processes.get(handle.job_id)
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
