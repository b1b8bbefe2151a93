"""Job execution of the local UNICORE/X test server: real processes and real Slurm jobs.

A :class:`JobRecord` holds what UNICORE reports about a job; :class:`JobRunner` walks it
through the UNICORE state machine (remote-apis.md A12/A13) on this machine:

* ``ON_LOGIN_NODE`` jobs run as local bash processes in the job's working directory
  (``batchSystemID`` ``INTERACTIVE_<host>_<pid>``); an ``sbatch`` run this way goes to the
  real local Slurm and UNICORE does not track it, exactly as on a real site;
* ``BATCH`` and ``RAW`` jobs are written as batch scripts (``#SBATCH`` directives from
  ``Resources`` or from the BSS file) and handed to the real local Slurm with ``sbatch``;
  the status follows the Slurm job;
* login-node user pre-/post-commands run in ``.UNICORE_PRE_0`` / ``.UNICORE_POST_0``.

Only the test suite uses this module.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

#: UNICORE job states, in pyunicore's ordinal order.
STATES = ("UNDEFINED", "READY", "STAGINGIN", "QUEUED", "RUNNING", "STAGINGOUT",
          "SUCCESSFUL", "FAILED")
JOB_TYPES = {"BATCH": "BATCH", "NORMAL": "BATCH", "ON_LOGIN_NODE": "ON_LOGIN_NODE",
             "INTERACTIVE": "ON_LOGIN_NODE", "RAW": "RAW", "ALLOCATE": "ALLOCATE"}
#: Slurm states after which a job is gone for good.
SLURM_FINAL = ("COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "NODE_FAIL", "OUT_OF_MEMORY",
               "PREEMPTED", "BOOT_FAIL", "DEADLINE", "SPECIAL_EXIT")
EXIT_CODE_FILE = "UNICORE_SCRIPT_EXIT_CODE"
PRE_FAILED_FILE = ".UNICORE_PRE_FAILED"


def timestamp(moment: datetime | None = None) -> str:
    """ISO-8601 with a numeric UTC offset, as UNICORE writes it."""
    return (moment or datetime.now()).astimezone().strftime("%Y-%m-%dT%H:%M:%S%z")


def as_bool(value: Any, default: bool) -> bool:
    """UNICORE reads booleans sent as JSON booleans or as the strings true/false."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"


def environment_of(description: dict[str, Any]) -> dict[str, str]:
    """``Environment`` (object or list of NAME=value) plus ``Parameters``."""
    env: dict[str, str] = {}
    given = description.get("Environment") or {}
    if isinstance(given, dict):
        env.update({str(k): str(v) for k, v in given.items()})
    else:
        for item in given:
            name, _, value = str(item).partition("=")
            env[name] = value
    env.update({str(k): str(v) for k, v in (description.get("Parameters") or {}).items()})
    return env


def export_lines(env: dict[str, str]) -> list[str]:
    """``export NAME="value"`` lines; values keep ``$VAR`` expansion like UNICORE's."""
    lines = []
    for name, value in env.items():
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")
        lines.append(f'export {name}="{escaped}"')
    return lines


def runtime_minutes(value: Any) -> int:
    """UNICORE ``Runtime`` (seconds, or a number with min/h/d) in whole minutes."""
    text = str(value).strip().lower()
    factor = 1.0
    for suffix, seconds in (("min", 60), ("h", 3600), ("d", 86400), ("s", 1)):
        if text.endswith(suffix):
            text, factor = text[: -len(suffix)], seconds
            break
    return max(1, int(-(-float(text) * factor // 60)))


@dataclass
class JobRecord:
    """What the server knows and reports about one job."""

    job_id: str
    owner: str
    owner_dn: str
    description: dict[str, Any]
    workdir: Path
    status: str = "READY"
    status_message: str = ""
    exit_code: str | None = None
    batch_id: str = "N/A"
    job_type: str = "n/a"
    queue: str = "N/A"
    name: str = "N/A"
    tags: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    submitted: datetime = field(default_factory=datetime.now)
    termination: datetime = field(default_factory=lambda: datetime.now() + timedelta(days=30))
    started: threading.Event = field(default_factory=threading.Event)
    aborted: bool = False
    process: subprocess.Popen | None = None
    runner: threading.Thread | None = None

    def note(self, text: str) -> None:
        """Append a line to the job log."""
        self.log.append(f"{timestamp()}: {text}")

    @property
    def finished(self) -> bool:
        """True once the job is SUCCESSFUL or FAILED."""
        return self.status in ("SUCCESSFUL", "FAILED")


@dataclass
class SiteSettings:
    """Execution facts of the test site."""

    site_name: str
    partitions: tuple[str, ...]
    environment: dict[str, str]
    slurm_poll: float = 0.5


class JobRunner:
    """Run UNICORE jobs on this machine (login-node processes, real Slurm batch jobs)."""

    def __init__(self, settings: SiteSettings,
                 login_fault: Callable[[str], dict[str, Any] | None] | None = None) -> None:
        self.settings = settings
        self.login_host = socket.gethostname()
        #: ``login_fault(executable)`` -> a fault for this login-node command, or None: the
        #: command then fails as a broken login node would (stderr text, non-zero exit).
        self.login_fault = login_fault or (lambda _executable: None)

    # -- lifecycle ------------------------------------------------------------------------
    def launch(self, job: JobRecord) -> None:
        """Start the job's lifecycle thread (it waits in READY for a client stage-in)."""
        job.runner = threading.Thread(target=self._lifecycle, args=(job,), daemon=True,
                                      name=f"job-{job.job_id[:8]}")
        job.runner.start()

    def _lifecycle(self, job: JobRecord) -> None:
        try:
            job.started.wait()
            if job.aborted:
                return
            self._run(job)
        except Exception as exc:  # any server-side error fails the job, as UNICORE does
            self._fail(job, f"Internal error: {type(exc).__name__}: {exc}")

    def _fail(self, job: JobRecord, message: str) -> None:
        if job.finished:
            return
        job.status, job.status_message = "FAILED", message
        job.note(f"FAILED: {message}")

    def _run(self, job: JobRecord) -> None:
        desc = job.description
        kind = JOB_TYPES.get(str(desc.get("Job type", "BATCH")).upper())
        if kind is None:
            return self._fail(job, f"Unknown job type '{desc.get('Job type')}'")
        if kind == "ALLOCATE":
            return self._fail(job, "Job type 'ALLOCATE' is not supported by this test site")
        job.job_type = "ON_LOGIN_NODE" if kind == "ON_LOGIN_NODE" else "BATCH"
        if kind == "RAW" and not desc.get("BSS file"):
            return self._fail(job, "Job type 'raw' requires 'BSS file'")
        resources = desc.get("Resources") or {}
        queue = resources.get("Queue")
        if kind == "BATCH" and queue and queue not in self.settings.partitions:
            return self._fail(job, f"Resource Queue '{queue}' is not available "
                                   f"(partitions: {', '.join(self.settings.partitions)})")
        if desc.get("Imports"):
            job.status = "STAGINGIN"
            self._stage_in(job)
        if desc.get("User precommand") and as_bool(desc.get("RunUserPrecommandOnLoginNode"),
                                                    True):
            job.status = "QUEUED"
            code = self._login_step(job, desc["User precommand"], ".UNICORE_PRE_0")
            if job.aborted:
                return self._fail(job, "Job aborted.")
            if code != 0 and not as_bool(desc.get("UserPrecommandIgnoreNonZeroExitCode"),
                                         False):
                return self._fail(job, f"Pre-command(s) failed: exit code {code}, see "
                                       ".UNICORE_PRE_0/stderr")
        if kind == "ON_LOGIN_NODE":
            self._run_on_login_node(job)
        else:
            self._run_batch(job, raw=kind == "RAW")
        if job.finished:
            return
        if desc.get("User postcommand") and as_bool(
                desc.get("RunUserPostcommandOnLoginNode"), True):
            code = self._login_step(job, desc["User postcommand"], ".UNICORE_POST_0")
            if code != 0 and not as_bool(desc.get("UserPostcommandIgnoreNonZeroExitCode"),
                                         False):
                return self._fail(job, f"Post-command(s) failed: exit code {code}")
        self._finish(job)

    def _finish(self, job: JobRecord) -> None:
        if job.aborted:
            return self._fail(job, "Job aborted.")
        if (job.workdir / PRE_FAILED_FILE).is_file():
            code = (job.workdir / PRE_FAILED_FILE).read_text().strip()
            return self._fail(job, f"Pre-command(s) failed: exit code {code}")
        code_file = job.workdir / EXIT_CODE_FILE
        if not code_file.is_file():
            if job.status != "FAILED":
                self._fail(job, "Job did not write an exit code (killed by the batch system?)")
            return
        job.exit_code = code_file.read_text().strip() or None
        if job.exit_code not in (None, "0") and not as_bool(
                job.description.get("IgnoreNonZeroExitCode"), False):
            return self._fail(job, f"User application exited with non-zero exit code: "
                                   f"<{job.exit_code}>. See stderr for details.")
        job.status, job.status_message = "SUCCESSFUL", ""
        job.note("SUCCESSFUL")

    # -- steps ----------------------------------------------------------------------------
    def job_environment(self, job: JobRecord) -> dict[str, str]:
        """The site environment plus the UNICORE variables of the job."""
        wd = str(job.workdir) + "/"
        return {**self.settings.environment, "UC_WORKING_DIRECTORY": wd,
                "UC_OUTPUT_DIRECTORY": wd, "UC_USERDN": job.owner_dn,
                "UC_EXECUTABLE": str(job.description.get("Executable", ""))}

    def _command_line(self, job: JobRecord) -> str:
        desc = job.description
        parts = [str(desc.get("Executable", ""))] + [str(a) for a in desc.get("Arguments", [])]
        return " ".join(p for p in parts if p)

    def _script(self, job: JobRecord, directives: list[str], redirect: bool,
                command: str | None = None) -> str:
        desc = job.description
        lines = ["#!/bin/bash", *directives,
                 *export_lines({k: v for k, v in self.job_environment(job).items()
                                if k.startswith("UC_")}),
                 'cd "$UC_WORKING_DIRECTORY"', 'export PATH="$PATH:."',
                 *export_lines(environment_of(desc))]
        pre = desc.get("User precommand")
        if pre and not as_bool(desc.get("RunUserPrecommandOnLoginNode"), True):
            lines += ["{ " + str(pre) + "\n}", "__uc_pre=$?",
                      f'if [ "$__uc_pre" -ne 0 ]; then echo "$__uc_pre" > {PRE_FAILED_FILE};'
                      " exit \"$__uc_pre\"; fi"]
        command = command or self._command_line(job)
        if redirect:
            stdout = shlex.quote(str(desc.get("Stdout", "stdout")))
            stderr = shlex.quote(str(desc.get("Stderr", "stderr")))
            stdin = f" < {shlex.quote(str(desc['Stdin']))}" if desc.get("Stdin") else ""
            command += f" > {stdout} 2> {stderr}{stdin}"
        lines += [command, f"echo $? > {EXIT_CODE_FILE}"]
        post = desc.get("User postcommand")
        if post and not as_bool(desc.get("RunUserPostcommandOnLoginNode"), True):
            lines.append(str(post))
        return "\n".join(lines) + "\n"

    def _popen(self, job: JobRecord, argv: list[str], stdout: Path, stderr: Path,
               env: dict[str, str] | None = None) -> subprocess.Popen:
        with stdout.open("ab") as out, stderr.open("ab") as err:
            return subprocess.Popen(argv, cwd=job.workdir, env=env or self.job_environment(job),
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True)

    def _login_step(self, job: JobRecord, command: str, folder: str) -> int:
        step = job.workdir / folder
        step.mkdir(exist_ok=True)
        script = step / "script.sh"
        script.write_text("\n".join(["#!/bin/bash", 'cd "$UC_WORKING_DIRECTORY"',
                                     'export PATH="$PATH:."',
                                     *export_lines(environment_of(job.description)),
                                     str(command)]) + "\n")
        job.process = self._popen(job, ["/bin/bash", str(script)], step / "stdout",
                                  step / "stderr")
        code = job.process.wait()
        (step / "exit_code").write_text(f"{code}\n")
        job.note(f"{folder} finished with exit code {code}")
        return code

    def _run_on_login_node(self, job: JobRecord) -> None:
        script = job.workdir / ".UNICORE_job.sh"
        fault = self.login_fault(str(job.description.get("Executable", "")))
        failing = (f"{{ echo {shlex.quote(str(fault.get('stderr', 'login node failure')))} >&2;"
                   f" exit {int(fault.get('exit', 1))}; }}" if fault else None)
        script.write_text(self._script(job, [], redirect=True, command=failing))
        job.process = self._popen(job, ["/bin/bash", str(script)],
                                  job.workdir / ".UNICORE_launcher.out",
                                  job.workdir / ".UNICORE_launcher.err")
        job.batch_id = f"INTERACTIVE_{self.login_host}_{job.process.pid}"
        job.status = "RUNNING"
        job.note(f"Started on login node as {job.batch_id}")
        job.process.wait()

    def _directives(self, job: JobRecord) -> list[str]:
        res = job.description.get("Resources") or {}
        wd = job.workdir
        out = [f"#SBATCH --job-name={job.description.get('Name', 'UNICORE_Job')}",
               f"#SBATCH --chdir={wd}",
               f"#SBATCH --output={wd / str(job.description.get('Stdout', 'stdout'))}",
               f"#SBATCH --error={wd / str(job.description.get('Stderr', 'stderr'))}"]
        mapping = {"Nodes": "--nodes", "CPUsPerNode": "--ntasks-per-node",
                   "TotalCPUs": "--ntasks", "Memory": "--mem", "Queue": "--partition",
                   "QoS": "--qos", "Reservation": "--reservation",
                   "NodeConstraints": "--constraint", "GPUsPerNode": "--gpus-per-node"}
        for key, option in mapping.items():
            if res.get(key) not in (None, ""):
                out.append(f"#SBATCH {option}={res[key]}")
        if res.get("Runtime") not in (None, ""):
            out.append(f"#SBATCH --time={runtime_minutes(res['Runtime'])}")
        project = job.description.get("Project") or res.get("Project")
        if project:
            out.append(f"#SBATCH --account={project}")
        if as_bool(res.get("Exclusive"), False):
            out.append("#SBATCH --exclusive")
        return out

    def _run_batch(self, job: JobRecord, raw: bool) -> None:
        if raw:
            bss = Path(str(job.description["BSS file"]))
            bss = bss if bss.is_absolute() else job.workdir / bss
            if not bss.is_file():
                return self._fail(job, f"BSS file '{job.description['BSS file']}' not found")
            directives = [line for line in bss.read_text().splitlines()
                          if not line.startswith("#!")]
        else:
            directives = self._directives(job)
        script = job.workdir / ".UNICORE_batch.sh"
        script.write_text(self._script(job, directives, redirect=False))
        done = subprocess.run(["sbatch", "--parsable", str(script)], cwd=job.workdir,
                              env=self.job_environment(job), capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            return self._fail(job, f"Submission to the batch system failed: "
                                   f"{done.stderr.strip()}")
        job.batch_id = done.stdout.strip().split(";")[0]
        job.queue = str((job.description.get("Resources") or {}).get("Queue") or
                        self.settings.partitions[0])
        job.status = "QUEUED"
        job.note(f"Submitted to Slurm as job {job.batch_id}")
        final = self._follow_slurm(job)
        job.note(f"Slurm job {job.batch_id} ended in state {final}")
        wrote = [name for name in (EXIT_CODE_FILE, PRE_FAILED_FILE)
                 if (job.workdir / name).is_file()]
        if not wrote and not job.aborted:
            self._fail(job, f"Batch job {job.batch_id} ended in state {final} "
                            "without completing the user application")

    def _follow_slurm(self, job: JobRecord) -> str:
        while True:
            state = self.slurm_state(job)
            if state in ("", *SLURM_FINAL):
                return state or "UNKNOWN (no longer known to Slurm)"
            if state in ("RUNNING", "COMPLETING") and job.status == "QUEUED":
                job.status = "RUNNING"
            time.sleep(self.settings.slurm_poll)

    def slurm_state(self, job: JobRecord) -> str:
        """State of the job's Slurm job from ``squeue`` ("" once Slurm forgot it)."""
        done = subprocess.run(["squeue", "-h", "-t", "all", "-j", job.batch_id, "-o", "%T"],
                              env=self.settings.environment, capture_output=True, text=True,
                              check=False)
        return done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""

    def _stage_in(self, job: JobRecord) -> None:
        for item in job.description.get("Imports") or []:
            target = job.workdir / str(item["To"]).lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            source = str(item.get("From", ""))
            if "Data" in item:
                data = item["Data"]
                target.write_text("\n".join(data) if isinstance(data, list) else str(data))
            elif source.startswith("file://"):
                shutil.copyfile(source[len("file://"):], target)
            elif source.startswith("inline://"):
                target.write_text(str(item.get("Data", "")))
            else:
                raise ValueError(f"stage-in scheme of '{source}' is not supported here")

    # -- actions --------------------------------------------------------------------------
    def abort(self, job: JobRecord) -> None:
        """Cancel the job on the batch system or kill its login-node process."""
        if job.finished:
            return
        job.aborted = True
        job.started.set()
        if job.batch_id.isdigit():
            subprocess.run(["scancel", job.batch_id], env=self.settings.environment,
                           capture_output=True, check=False)
        if job.process is not None and job.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(job.process.pid, signal.SIGTERM)
        if job.runner is None or not job.runner.is_alive():
            self._fail(job, "Job aborted.")

    def restart(self, job: JobRecord) -> None:
        """Run a finished job again from QUEUED."""
        if not job.finished:
            return
        for name in (EXIT_CODE_FILE, PRE_FAILED_FILE):
            (job.workdir / name).unlink(missing_ok=True)
        job.status, job.status_message, job.exit_code = "QUEUED", "", None
        job.aborted, job.batch_id = False, "N/A"
        job.note("Restarted")
        self.launch(job)


def new_job_id() -> str:
    """A fresh UUID job id."""
    return str(uuid.uuid4())
