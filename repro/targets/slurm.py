"""The ``slurm`` target: run bundles as batch jobs on a SLURM cluster reachable from here.

repro runs where the Slurm clients work (a login node, or a machine with ``SLURM_CONF``) and
the working directory is on a file system the compute nodes share. Each run bundle is staged
into that working directory, a batch script is written next to it and submitted with
``sbatch --parsable``; several bundles go out as one job array. A job is tracked through
``scontrol show job`` while the controller remembers it, then through its completion record
(``sacct`` where accounting is configured, else the ``jobcomp/filetxt`` log).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from repro.errors import InputError, SiteUnavailableError, TargetError
from repro.site.files import RESULT
from repro.targets.base import JobHandle, JobState, JobStatus, RunBundle, Target
from repro.targets.fetch import fetch_directory
from repro.targets.options import OUTAGE_LIMIT, SLURM_RESOURCES, Option, Options
from repro.targets.polling import PollSchedule, polled_status
from repro.targets.slurm_states import STATE_WORDS, STATES

#: Name of the batch script and of the file the script writes the harness exit code to.
SCRIPT_NAME = "repro-job.sh"
EXIT_MARKER = RunBundle.EXIT_MARKER
LOG_NAME = "slurm.out"
_JOB_ID = re.compile(r"^\d+(_\d+)?$")


def _field(record: str, key: str) -> str:
    """Value of ``Key=value`` in a one-line Slurm record ('' when absent)."""
    match = re.search(rf"(?:^|\s){re.escape(key)}=(\S*)", record)
    return match.group(1) if match else ""


def parse_exit_code(text: str) -> tuple[int | None, int | None]:
    """``"3:0"`` -> (exit code 3, signal 0); empty or malformed -> (None, None)."""
    code, _, sig = text.partition(":")
    try:
        return int(code), int(sig or 0)
    except ValueError:
        return None, None


def read_jobcomp_record(path: Path, job_id: str) -> str | None:
    """The last ``jobcomp/filetxt`` line of ``job_id`` (``123`` or array task ``123_4``)."""
    array_id, _, task = job_id.partition("_")
    wanted = (f"ArrayJobId={array_id}", f"ArrayTaskId={task}") if task else None
    found = None
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if wanted:
                if all(f" {w} " in f" {line.strip()} " for w in wanted):
                    found = line.strip()
            elif _field(line, "JobId") == job_id:
                found = line.strip()
    return found


class SlurmTarget(Target):
    """Submit runs with ``sbatch``; track them with ``scontrol``, ``sacct`` or the jobcomp log.

    Options: see ``declared`` (and docs/targets.md). The environment of a Slurm run cannot
    be probed before it starts, so everything that chooses it (cluster, partition,
    interpreter, setup lines) stays in the run identity.
    """

    kind: ClassVar[str] = "slurm"
    backend: ClassVar[str] = "nest"
    summary: ClassVar[str] = ("Batch jobs on a SLURM cluster reachable from here (sbatch; "
                              "several runs go out as one job array).")
    declared: ClassVar[Options] = Target.declared.with_(
        Option("parallel", int, 256, "Runs submitted at once; they go out as one job array.",
               identity=False),
        *SLURM_RESOURCES,
        Option("qos", str, "", "Slurm quality of service.", identity=False),
        Option("workdir", str, "", "Directory shared with the compute nodes that the "
                                   "bundles are staged into (default ~/.cache/repro/slurm).",
               identity=False),
        Option("python", str, "", "Interpreter on the compute nodes (default: the one repro "
                                  "runs in)."),
        Option("setup", str, "", "Shell lines run before the harness, e.g. `module load "
                                 "ebrains/24.10`."),
        Option("srun", bool, False, "Start the harness as a job step with srun."),
        Option("mpi", str, "", "srun --mpi plugin (with srun = true)."),
        Option("sbatch_options", list, [], "Further sbatch options, e.g. "
                                           "[\"--constraint=mc\"].", identity=False),
        Option("slurm_conf", str, "", "SLURM_CONF for the Slurm clients (default: theirs)."),
        OUTAGE_LIMIT)

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        super().__init__(name, options)
        self._config: dict[str, str] | None = None
        self._check_options()

    # -- options ---------------------------------------------------------------------------

    def _check_options(self) -> None:
        extra = self.option("sbatch_options")
        if not all(isinstance(item, str) and item.startswith("-") for item in extra):
            raise InputError("must be a list of sbatch options such as [\"--constraint=mc\"]",
                             field=f"targets.{self.name}.sbatch_options")

    @property
    def max_concurrent(self) -> int:
        """Runs submitted at once (option ``parallel``, default 256): they form one array."""
        return max(1, int(self.option("parallel")))

    @property
    def workdir(self) -> Path:
        """Directory (shared with the compute nodes) the bundles are staged into."""
        configured = str(self.option("workdir"))
        path = Path(configured).expanduser() if configured else (
            Path.home() / ".cache" / "repro" / "slurm")
        return path.resolve()

    @property
    def python(self) -> str:
        """Interpreter that runs the harness on the compute nodes."""
        return str(self.option("python") or sys.executable)

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.option("slurm_conf"):
            env["SLURM_CONF"] = str(Path(str(self.option("slurm_conf"))).expanduser())
        return env

    # -- Slurm clients -----------------------------------------------------------------------

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        try:
            done = subprocess.run(list(argv), env=self._env(), capture_output=True, text=True,
                                  timeout=120, check=False)
        except FileNotFoundError:
            raise TargetError(f"target {self.name!r}: {argv[0]} not found; the slurm target "
                              "runs where the Slurm client commands are installed") from None
        except subprocess.TimeoutExpired:
            raise SiteUnavailableError(f"target {self.name!r}: {' '.join(argv[:3])} did not "
                                       "answer within 120 s") from None
        if check and done.returncode != 0:
            raise TargetError(f"target {self.name!r}: {' '.join(argv[:3])} failed: "
                              f"{(done.stderr or done.stdout).strip()[-500:]}")
        return done

    def controller_config(self) -> dict[str, str]:
        """``scontrol show config`` as a dict (cached per target object)."""
        if self._config is None:
            text = self._run("scontrol", "show", "config").stdout
            self._config = {}
            for line in text.splitlines():
                key, sep, value = line.partition("=")
                if sep:
                    self._config[key.strip()] = value.strip()
        return self._config

    def scheduler_version(self) -> str:
        """Version of the cluster's controller, else of the local clients."""
        version = self.controller_config().get("SLURM_VERSION", "")
        if not version:
            words = self._run("sinfo", "-V", check=False).stdout.split()
            version = words[-1] if words else ""
        return version

    def check(self, experiment: Any = None) -> str:
        """Reach the controller and the partition; report version and node states.

        Parameters
        ----------
        experiment : Experiment, optional
            Not needed: any experiment the harness can run, a Slurm node can run.
        """
        config = self.controller_config()
        partition = str(self.option("partition"))
        argv = ["sinfo", "-h", "-o", "%P %a %D %T"] + (["-p", partition] if partition else [])
        rows = self._run(*argv).stdout.strip()
        if not rows:
            raise TargetError(f"target {self.name!r}: partition {partition!r} not found "
                              f"on cluster {config.get('ClusterName', '?')}")
        return (f"Slurm {self.scheduler_version()} on cluster "
                f"{config.get('ClusterName', '?')}: " + "; ".join(rows.splitlines()))

    # -- batch script ------------------------------------------------------------------------

    def sbatch_directives(self, job_name: str, output: str) -> list[str]:
        """``#SBATCH`` lines for one job (or job array) of this target."""
        lines = [
            f"--job-name={job_name}",
            f"--nodes={int(self.option('nodes'))}",
            f"--ntasks={int(self.option('ntasks'))}",
            f"--cpus-per-task={self.threads}",
            f"--time={self.option('time')}",
            f"--output={output}",
            "--no-requeue",
            "--export=ALL",
        ]
        for option in ("partition", "account", "qos"):
            if self.option(option):
                lines.append(f"--{option}={self.option(option)}")
        lines += list(self.option("sbatch_options"))
        return [f"#SBATCH {line}" for line in lines]

    def harness_lines(self, bundle: RunBundle) -> list[str]:
        """Shell lines that run the harness in the current directory (the staged bundle)."""
        env = bundle.harness_env()
        argv = bundle.harness_argv(python=self.python)
        if self.option("srun"):
            mpi = str(self.option("mpi"))
            argv = ["srun", *([f"--mpi={mpi}"] if mpi else [])] + argv
        # PYTHONPATH keeps what the setup lines put there (`module load`, an MPI build of
        # NEST), after the bundle's site/.
        exports = " ".join(
            f"{k}={_quote(v)}" + ("${PYTHONPATH:+:$PYTHONPATH}" if k == "PYTHONPATH" else "")
            for k, v in sorted(env.items()))
        return [
            "echo \"repro: Slurm job ${SLURM_JOB_ID} (array task ${SLURM_ARRAY_TASK_ID:-none})"
            " on $(hostname) in $PWD, started $(date -u +%FT%TZ)\"",
            f"export {exports} OMP_NUM_THREADS={self.threads}",
            " ".join(_quote(a) for a in argv),
            "code=$?",
            f"echo \"$code\" > {EXIT_MARKER}",
            "echo \"repro: harness exited with code $code at $(date -u +%FT%TZ)\"",
            "exit \"$code\"",
        ]

    def _script(self, directives: list[str], body: list[str], what: str) -> str:
        setup = str(self.option("setup")).strip()
        return "\n".join([
            "#!/bin/bash",
            *directives,
            f"# Written by repro's slurm target {self.name!r}: {what}.",
            "# The harness writes its outputs into ./output of the staged run bundle.",
            *([setup] if setup else []),
            *body,
            "",
        ])

    # -- submission --------------------------------------------------------------------------

    def _stage(self, bundle: RunBundle) -> Path:
        staged = self.workdir / bundle.run_id
        if staged.exists():
            raise TargetError(f"target {self.name!r}: {staged} already exists; run ids are "
                              "unique, so another repro wrote it")
        staged.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(bundle.directory, staged, symlinks=False)
        return staged

    def _sbatch(self, script: Path, staged: list[Path]) -> str:
        try:
            done = self._run("sbatch", "--parsable", str(script))
        except TargetError:
            for path in staged:
                shutil.rmtree(path, ignore_errors=True)
            raise
        job_id = done.stdout.strip().split(";")[0]
        if not _JOB_ID.match(job_id):
            raise TargetError(f"target {self.name!r}: sbatch answered {done.stdout!r}, "
                              "not a job id")
        return job_id

    def _info(self, job_id: str, staged: Path) -> dict[str, Any]:
        config = self.controller_config()
        info: dict[str, Any] = {
            "scheduler": "slurm",
            "scheduler_version": self.scheduler_version(),
            "cluster": config.get("ClusterName", ""),
            "job_id": job_id,
            "workdir": str(staged),
        }
        if self.option("partition"):
            info["partition"] = str(self.option("partition"))
        return info

    def submit(self, bundle: RunBundle) -> JobHandle:
        """Stage ``bundle``, write its batch script and ``sbatch`` it."""
        staged = self._stage(bundle)
        directives = self.sbatch_directives(f"repro-{bundle.run_id}", str(staged / LOG_NAME))
        body = [f"cd {_quote(str(staged))} || exit 97", *self.harness_lines(bundle)]
        script = staged / SCRIPT_NAME
        script.write_text(self._script(directives, body, f"run {bundle.run_id}"))
        job_id = self._sbatch(script, [staged])
        return JobHandle(target=self.name, job_id=job_id, info=self._info(job_id, staged),
                         state={"staged": str(staged), "log": str(staged / LOG_NAME)})

    def submit_many(self, bundles: Sequence[RunBundle]) -> list[JobHandle]:
        """Submit several bundles as one job array (task ``i`` runs ``bundles[i]``)."""
        if len(bundles) <= 1:
            return [self.submit(bundle) for bundle in bundles]
        staged = []
        try:
            for bundle in bundles:
                staged.append(self._stage(bundle))
        except BaseException:
            for path in staged:
                shutil.rmtree(path, ignore_errors=True)
            raise
        array_dir = self.workdir / f"array-{bundles[0].run_id}"
        array_dir.mkdir(parents=True, exist_ok=False)
        directives = self.sbatch_directives(f"repro-array-{bundles[0].run_id}",
                                            str(array_dir / "task-%a.out"))
        directives.insert(1, f"#SBATCH --array=0-{len(bundles) - 1}")
        cases = [f"  {i}) cd {_quote(str(path))} || exit 97 ;;" for i, path in enumerate(staged)]
        body = ["case \"$SLURM_ARRAY_TASK_ID\" in", *cases,
                "  *) echo \"no run bundle for array task $SLURM_ARRAY_TASK_ID\" >&2; exit 98 ;;",
                "esac", *self.harness_lines(bundles[0])]
        script = array_dir / SCRIPT_NAME
        script.write_text(self._script(
            directives, body, f"job array of {len(bundles)} runs "
                              f"({', '.join(b.run_id for b in bundles)})"))
        array_id = self._sbatch(script, [*staged, array_dir])
        handles = []
        for index, path in enumerate(staged):
            job_id = f"{array_id}_{index}"
            info = self._info(job_id, path)
            info.update(array_job_id=array_id, array_task_id=index, array_size=len(bundles))
            handles.append(JobHandle(
                target=self.name, job_id=job_id, info=info,
                state={"staged": str(path), "log": str(array_dir / f"task-{index}.out")}))
        return handles

    # -- tracking ----------------------------------------------------------------------------

    def job_record(self, job_id: str) -> tuple[str, str]:
        """The freshest record of a job and where it came from.

        Returns
        -------
        (record, source)
            A one-line ``Key=value`` record and ``"scontrol"``, ``"sacct"`` or ``"jobcomp"``;
            ``("", "")`` when no source knows the job.
        """
        done = self._run("scontrol", "show", "job", "-o", job_id, check=False)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip().splitlines()[0], "scontrol"
        said = (done.stderr + done.stdout).lower()
        if "invalid job id" not in said and "not found" not in said:
            raise SiteUnavailableError(
                f"target {self.name!r}: scontrol show job {job_id} failed: "
                f"{(done.stderr or done.stdout).strip()[-300:]}")
        return self.completion_record(job_id)

    def completion_record(self, job_id: str) -> tuple[str, str]:
        """Record of a job the controller has forgotten: sacct, else the jobcomp log.

        Raises
        ------
        SiteUnavailableError
            When ``sacct`` failed and the jobcomp log does not know the job either: the job's
            end is unknown, not absent.
        """
        config = self.controller_config()
        sacct_failure = ""
        if config.get("AccountingStorageType", "accounting_storage/none") != (
                "accounting_storage/none"):
            done = self._run("sacct", "-n", "-P", "-X", "-j", job_id, "--format",
                             "JobID,State,ExitCode,NodeList,Partition,Reason", check=False)
            line = next((row for row in done.stdout.splitlines() if row.strip()), "")
            if done.returncode == 0 and line:
                jid, state, code, nodes, partition, reason = (line.split("|") + [""] * 6)[:6]
                return (f"JobId={jid} JobState={state.split()[0]} ExitCode={code} "
                        f"NodeList={nodes} Partition={partition} Reason={reason or 'None'}",
                        "sacct")
            if done.returncode != 0:
                sacct_failure = (done.stderr or done.stdout).strip()[-300:]
        if config.get("JobCompType") == "jobcomp/filetxt" and config.get("JobCompLoc"):
            path = Path(config["JobCompLoc"])
            if path.is_file():
                record = read_jobcomp_record(path, job_id)
                if record:
                    return record, "jobcomp"
        if sacct_failure:
            raise SiteUnavailableError(f"target {self.name!r}: sacct -j {job_id} failed: "
                                       f"{sacct_failure}")
        return "", ""

    def status(self, handle: JobHandle) -> JobStatus:
        """State of the job from the scheduler's freshest record (unknown while the Slurm
        clients get no answer from the controller)."""
        return polled_status(handle, lambda: PollSchedule(0.0, 0.0),
                             lambda: self._probe(handle), float(self.option("outage_limit")))

    def _probe(self, handle: JobHandle) -> JobStatus:
        record, source = self.job_record(handle.job_id)
        if not record:
            return self._status_from_marker(handle)
        state = _field(record, "JobState")
        reason = _field(record, "Reason")
        exit_code, signal = parse_exit_code(_field(record, "ExitCode"))
        nodes = _field(record, "NodeList")
        if nodes and nodes != "(null)":
            handle.info["node_list"] = nodes
        if _field(record, "Partition"):
            handle.info["partition"] = _field(record, "Partition")
        job_state = STATES.get(state)
        if job_state is None:
            return JobStatus(JobState.RUNNING, f"Slurm state {state} (not known to repro)")
        if not job_state.terminal:
            return JobStatus(job_state, f"Slurm job {handle.job_id} {state}"
                                        + (f" ({reason})" if reason not in ("", "None") else ""))
        handle.info.update(slurm_state=state, completion_record=source)
        if exit_code is not None:
            handle.info["exit_code"] = exit_code
            if signal:
                handle.info["exit_signal"] = signal
        if job_state is JobState.DONE:
            result = Path(handle.state["staged"]) / RunBundle.OUTPUT_DIR / RESULT
            if not result.is_file():  # e.g. an srun step that failed to launch exits 0
                return JobStatus(JobState.FAILED, f"Slurm job {handle.job_id} COMPLETED but "
                                                  "the harness wrote no result; see launcher.log")
            return JobStatus(JobState.DONE, f"Slurm job {handle.job_id} COMPLETED")
        words = STATE_WORDS.get(state, f"the job ended in state {state}")
        details = [f"Slurm state {state}"]
        if reason and reason not in ("None", "(null)"):
            details.append(f"reason {reason}")
        if state == "FAILED" and exit_code:
            details.append(f"exit code {exit_code}")
        if state == "TIMEOUT" and _field(record, "TimeLimit"):
            details.append(f"time limit {_field(record, 'TimeLimit')}")
        if state == "NODE_FAIL" and nodes:
            details.append(f"node {nodes}")
        return JobStatus(job_state, f"Slurm job {handle.job_id}: {words} ({', '.join(details)})")

    def _status_from_marker(self, handle: JobHandle) -> JobStatus:
        marker = Path(handle.state["staged"]) / EXIT_MARKER
        if not marker.is_file() and handle.state.get("cancel_requested"):
            # A pending array task that is cancelled leaves no record at all.
            return JobStatus(JobState.CANCELLED, f"Slurm job {handle.job_id} was cancelled "
                                                 "before it started")
        if marker.is_file():
            code = marker.read_text().strip()
            state = JobState.DONE if code == "0" else JobState.FAILED
            return JobStatus(state, f"Slurm job {handle.job_id}: no scheduler record left; "
                                    f"the job script recorded exit code {code}")
        return JobStatus(JobState.FAILED, f"Slurm job {handle.job_id} is unknown to the "
                                          "controller and left no completion record")

    def fetch(self, handle: JobHandle, dest: Path) -> None:
        """Copy the harness outputs and the job's Slurm output into ``dest``."""
        fetch_directory(Path(handle.state["staged"]) / RunBundle.OUTPUT_DIR, dest,
                        Path(handle.state["log"]))

    def cancel(self, handle: JobHandle) -> None:
        """``scancel`` the job (an array task cancels only itself)."""
        handle.state["cancel_requested"] = True
        self._run("scancel", handle.job_id)


def _quote(text: str) -> str:
    return shlex.quote(text)
