"""A real single-node SLURM cluster on localhost, under one temporary base directory.

Debian's ``slurm-wlm`` daemons run in the foreground as children of the test process:
``munged`` with its own key and socket (or no munge at all with ``auth="none"``),
``slurmctld -D`` and ``slurmd -D``, on free loopback ports, with every state, spool, log and
PID file under the base directory. Clients find the cluster through ``SLURM_CONF``
(:attr:`SlurmCluster.env`). Daemons are stopped by PID; :meth:`stop_slurmd` with
``kill_jobs=True`` simulates a node failure (the node daemon and every job step on the
node die at once).

Usable outside pytest (the UNICORE test server hands ``sbatch`` to it)::

    with SlurmCluster(Path(tempfile.mkdtemp())) as cluster:
        subprocess.run(["sbatch", "--wrap", "hostname"], env=cluster.client_env())
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

#: Daemons and clients the cluster needs (Debian ``slurm-wlm``; ``munge`` for munge auth).
REQUIRED_BINARIES = ("slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sinfo")
NODE_NAME = "localhost"
PARTITION = "debug"


class SlurmClusterError(RuntimeError):
    """The cluster could not be started or did not reach the expected state."""


def missing_binaries(auth: str = "munge") -> list[str]:
    """Names of the executables this machine lacks for a cluster with ``auth``."""
    needed = REQUIRED_BINARIES + (("munged",) if auth == "munge" else ())
    return [name for name in needed if shutil.which(name) is None
            and not Path("/usr/sbin", name).exists()]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidate = Path("/usr/sbin", name)
    if candidate.exists():
        return str(candidate)
    raise SlurmClusterError(f"{name} not found (install Debian slurm-wlm / munge)")


class SlurmCluster:
    """One slurmctld + one slurmd (+ munged) on localhost.

    Parameters
    ----------
    base : Path
        Empty directory that holds everything (configuration, key, state, spool, logs).
    cpus : int
        CPUs the node advertises (``SlurmdParameters=config_overrides`` lets it advertise
        more than the machine has, so jobs that mostly wait can share two real cores).
    auth : {"munge", "none"}
        ``munge``: a private munged with its own key and socket; ``none``: auth/none.
    slurmd_timeout : int
        Seconds without an answer from slurmd before the node is set DOWN.
    min_job_age : int
        Seconds a finished job stays in slurmctld's memory (``scontrol show job``).

    Attributes
    ----------
    conf_path : Path
        The ``slurm.conf`` clients must use.
    jobcomp_path : Path
        The job completion log (``jobcomp/filetxt``).
    startup_seconds : float
        Wall time from launching the daemons until the node was idle.
    """

    def __init__(self, base: Path, *, cpus: int = 4, auth: str = "munge",
                 slurmd_timeout: int = 6, min_job_age: int = 300) -> None:
        if auth not in ("munge", "none"):
            raise ValueError(f"auth must be 'munge' or 'none', not {auth!r}")
        self.base = Path(base).resolve()
        self.cpus = cpus
        self.auth = auth
        self.slurmd_timeout = slurmd_timeout
        self.min_job_age = min_job_age
        self.conf_path = self.base / "etc" / "slurm.conf"
        self.log_dir = self.base / "log"
        self.jobcomp_path = self.log_dir / "jobcomp.txt"
        self.spool_dir = self.base / "spool"
        self.munge_socket = self.base / "munge" / "munge.socket"
        self.ctld_port = 0
        self.slurmd_port = 0
        self.startup_seconds = float("nan")
        self._processes: dict[str, subprocess.Popen] = {}
        self._logs: list = []

    # -- configuration -------------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        """Variables a client needs to reach this cluster."""
        return {"SLURM_CONF": str(self.conf_path)}

    def client_env(self) -> dict[str, str]:
        """``os.environ`` plus :attr:`env`, for ``subprocess`` calls of Slurm clients."""
        return {**os.environ, **self.env}

    def _write_config(self) -> None:
        for sub in ("etc", "log", "state", "spool", "run", "munge"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        if self.auth == "munge":
            os.chmod(self.base / "munge", 0o711)  # munged insists on a non-writable socket dir
            key = self.base / "munge" / "munge.key"
            key.write_bytes(secrets.token_bytes(1024))
            os.chmod(key, 0o400)
            auth_lines = ["AuthType=auth/munge", f"AuthInfo=socket={self.munge_socket}",
                          "CredType=cred/munge"]
        else:
            auth_lines = ["AuthType=auth/none", "CredType=cred/none"]
        self.ctld_port = free_port()
        self.slurmd_port = free_port()
        while self.slurmd_port == self.ctld_port:
            self.slurmd_port = free_port()
        lines = [
            "# Single-node test cluster written by tests/infra/slurm_cluster.py",
            "ClusterName=repro-test",
            f"SlurmctldHost={NODE_NAME}",
            f"SlurmctldPort={self.ctld_port}",
            f"SlurmdPort={self.slurmd_port}",
            "SlurmUser=root",
            "SlurmdUser=root",
            *auth_lines,
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            "SlurmdParameters=config_overrides",
            "AccountingStorageType=accounting_storage/none",
            "JobAcctGatherType=jobacct_gather/none",
            "JobCompType=jobcomp/filetxt",
            f"JobCompLoc={self.jobcomp_path}",
            f"MinJobAge={self.min_job_age}",
            f"SlurmdTimeout={self.slurmd_timeout}",
            "ReturnToService=2",
            "KillWait=2",
            "MessageTimeout=3",
            "OverTimeLimit=0",
            "MailProg=/bin/true",
            "MpiDefault=none",
            f"StateSaveLocation={self.base / 'state'}",
            f"SlurmdSpoolDir={self.spool_dir}",
            f"SlurmctldPidFile={self.base / 'run' / 'slurmctld.pid'}",
            f"SlurmdPidFile={self.base / 'run' / 'slurmd.pid'}",
            f"SlurmctldLogFile={self.log_dir / 'slurmctld.log'}",
            f"SlurmdLogFile={self.log_dir / 'slurmd.log'}",
            f"NodeName={NODE_NAME} NodeAddr=127.0.0.1 CPUs={self.cpus} State=UNKNOWN",
            f"PartitionName={PARTITION} Nodes={NODE_NAME} Default=YES MaxTime=INFINITE State=UP",
        ]
        self.conf_path.write_text("\n".join(lines) + "\n")
        # The PMIx plugin's client directories default to /tmp/spmix_appdir_<uid>_<job>.<step>,
        # which collide between clusters (job ids start at 1 in each); keep them here.
        (self.base / "pmix").mkdir(exist_ok=True)
        (self.conf_path.parent / "mpi.conf").write_text(
            f"PMIxCliTmpDirBase={self.base / 'pmix'}\n")

    # -- processes -------------------------------------------------------------------------

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = (self.log_dir / f"{name}.out").open("ab")
        self._logs.append(log)
        self._processes[name] = subprocess.Popen(
            argv, cwd=self.base, env=self.client_env(), stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start(self, timeout: float = 30.0) -> SlurmCluster:
        """Write the configuration, start the daemons and wait until the node is idle."""
        t0 = time.perf_counter()
        self._write_config()
        if self.auth == "munge":
            self._spawn("munged", [
                _binary("munged"), "--foreground", "--force",
                f"--socket={self.munge_socket}",
                f"--key-file={self.base / 'munge' / 'munge.key'}",
                f"--pid-file={self.base / 'run' / 'munged.pid'}",
                f"--seed-file={self.base / 'munge' / 'munged.seed'}",
                f"--log-file={self.log_dir / 'munged.log'}"])
            self._wait(lambda: self.munge_socket.exists(), timeout, "munged socket")
        self._spawn("slurmctld", [_binary("slurmctld"), "-D", "-c", "-f", str(self.conf_path)])
        self.start_slurmd(timeout=timeout)
        self.startup_seconds = time.perf_counter() - t0
        return self

    def start_slurmd(self, timeout: float = 30.0) -> None:
        """(Re)start the node daemon and wait until the node accepts jobs again."""
        previous = self._processes.get("slurmd")
        if previous is not None and previous.poll() is None:
            raise SlurmClusterError("slurmd is already running")
        self._spawn("slurmd", [_binary("slurmd"), "-D", "-N", NODE_NAME,
                               "-f", str(self.conf_path)])
        self.wait_node_state(("idle", "mixed", "allocated"), timeout)

    def stop_slurmd(self, *, kill_jobs: bool = True) -> list[int]:
        """Stop the node daemon; with ``kill_jobs`` also every job step on the node.

        Killing slurmd and its ``slurmstepd`` sessions together is what a node crash looks
        like to slurmctld: the running jobs stop answering and the node stops responding.

        Returns
        -------
        list of int
            PIDs that were killed.
        """
        killed = []
        process = self._processes.pop("slurmd", None)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)
            killed.append(process.pid)
        if kill_jobs:
            for sid in self._step_sessions():
                for pid in _session_members(sid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                    except ProcessLookupError:
                        pass
        return killed

    def _step_sessions(self) -> set[int]:
        """Session ids of the ``slurmstepd`` processes serving this cluster's node.

        A step daemon listens on a Unix socket in the node's spool directory; the processes
        holding those sockets are this cluster's steps (another cluster on the same machine
        has another spool directory).
        """
        inodes = set()
        try:
            for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) >= 8 and fields[7].startswith(str(self.spool_dir) + "/"):
                    inodes.add(fields[6])
        except OSError:
            return set()
        wanted = {f"socket:[{inode}]" for inode in inodes}
        sessions = set()
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if (proc / "comm").read_text().strip() != "slurmstepd":
                    continue
                links = {os.readlink(fd) for fd in (proc / "fd").iterdir()}
            except OSError:
                continue
            if links & wanted:
                sessions.add(os.getsid(int(proc.name)))
        return sessions

    def stop(self) -> None:
        """Stop every daemon (and any job step left on the node) by PID."""
        self.stop_slurmd(kill_jobs=True)
        for name in ("slurmctld", "munged"):
            process = self._processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            # Helpers left in the daemon's session (slurmctld's slurmscriptd) go with it.
            for pid in _session_members(process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        for log in self._logs:
            log.close()
        self._logs.clear()

    def __enter__(self) -> SlurmCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- queries ---------------------------------------------------------------------------

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a Slurm client command against this cluster; return the completed process."""
        return subprocess.run(list(argv), env=self.client_env(), capture_output=True,
                              text=True, check=check, timeout=60)

    def node_state(self) -> str:
        """The node's state as ``sinfo`` prints it (``idle``, ``mixed``, ``down*``, ...)."""
        done = self.run("sinfo", "-h", "-n", NODE_NAME, "-o", "%T", check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    def wait_node_state(self, states: tuple[str, ...], timeout: float = 30.0) -> str:
        """Wait until the node is in one of ``states``; return the state seen."""
        seen: list[str] = []

        def reached() -> bool:
            seen.append(self.node_state())
            return seen[-1] in states

        self._wait(reached, timeout, f"node state in {states}", lambda: seen[-1:])
        return seen[-1]

    def _wait(self, condition, timeout: float, what: str, last=lambda: "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self._processes.items():
                if process.poll() is not None:
                    raise SlurmClusterError(f"{name} exited with {process.returncode} while "
                                            f"waiting for {what}; logs in {self.log_dir}")
            if condition():
                return
            time.sleep(0.1)
        raise SlurmClusterError(f"timed out after {timeout} s waiting for {what} "
                                f"(last: {last()}); logs in {self.log_dir}")

    def version(self) -> str:
        """Version of the running controller (``SLURM_VERSION`` in ``scontrol show config``)."""
        match = re.search(r"^SLURM_VERSION\s*=\s*(\S+)",
                          self.run("scontrol", "show", "config").stdout, re.M)
        return match.group(1) if match else ""

    def pids(self) -> dict[str, int]:
        """PIDs of the daemons that are running now."""
        return {name: p.pid for name, p in self._processes.items() if p.poll() is None}


def _session_members(sid: int) -> list[int]:
    members = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if os.getsid(int(proc.name)) == sid:
                    members.append(int(proc.name))
            except OSError:
                continue
    return members
