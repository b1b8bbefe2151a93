"""The small interface every target implements: submit, status, fetch, cancel.

Like PyNN's one package per backend, each target kind lives in its own module of
``repro.targets``; nothing outside that package knows how a Slurm job, a UNICORE job or an
NMPI ticket looks. The dispatcher only sees :class:`Target`, :class:`RunBundle`,
:class:`JobHandle` and :class:`JobStatus`.
"""

from __future__ import annotations

import contextlib
import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from repro.errors import InputError
from repro.site.runspec import RunSpec
from repro.targets.options import COMMON, Options
from repro.targets.retry import FaultLog, recording


@dataclass
class RunBundle:
    """A self-contained directory a target ships to its execution site.

    Layout::

        run_spec.json          the RunSpec
        network/               the network script (+ NESTML sources / built module)
        site/repro/...         the site-side modules (harness, spike file, emulator)

    The harness runs as ``python -m repro.site.harness run_spec.json output`` from the bundle
    directory with ``PYTHONPATH=site``; see :meth:`harness_argv`.
    """

    directory: Path
    spec: RunSpec
    run_id: str

    SPEC_FILE: ClassVar[str] = "run_spec.json"
    SITE_DIR: ClassVar[str] = "site"
    OUTPUT_DIR: ClassVar[str] = "output"
    #: Written by a batch script when the job starts (holds the batch job id).
    START_MARKER: ClassVar[str] = "repro.started"
    #: Written by a batch script when the harness has exited (holds its exit code).
    EXIT_MARKER: ClassVar[str] = "repro.exitcode"

    def harness_argv(self, python: str = "python3", output_dir: str | None = None) -> list[str]:
        """Command line (relative to the bundle directory) that runs the harness."""
        return [python, "-m", "repro.site.harness", self.SPEC_FILE, output_dir or self.OUTPUT_DIR]

    def harness_env(self) -> dict[str, str]:
        """Environment variables the harness command needs (relative to the bundle dir)."""
        return {"PYTHONPATH": self.SITE_DIR, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}


class JobState(enum.Enum):
    """Where a submitted run is."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    #: The site gave no definite answer (outage): the job may be anywhere but gone.
    UNKNOWN = "unknown"

    @property
    def terminal(self) -> bool:
        """True when the job will not change state any more."""
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


@dataclass
class JobStatus:
    """State of a job plus the target's own words about it."""

    state: JobState
    message: str = ""


@dataclass
class JobHandle:
    """What a target returns from :meth:`Target.submit`.

    Attributes
    ----------
    target : str
        Target name.
    job_id : str
        The target's job identifier (PID, Slurm id, UNICORE job URL, NMPI job id).
    info : dict
        Facts recorded in the run crate (scheduler, node list, queue, platform, ...).
        Never credentials.
    """

    target: str
    job_id: str
    info: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict, repr=False)


class Target(ABC):
    """A named execution place.

    Parameters
    ----------
    name : str
        Name the user gives the target (``local``, ``jusuf-container``).
    options : Mapping
        Validated options from the target's TOML table (``kind`` excluded).
    """

    #: Kind name used in TOML (``kind = "local"``).
    kind: ClassVar[str]
    #: Backend the harness uses on this target (key of ``runspec.BACKEND_MODULES``).
    backend: ClassVar[str] = "nest"
    #: False for pre-flight-only kinds, whose ``submit`` refuses every run.
    runs: ClassVar[bool] = True
    #: One line saying what the kind is (``repro targets ls``, docs/targets.md).
    summary: ClassVar[str] = ""
    #: Longest wait between two status probes of a running job (seconds); a kind whose probe
    #: is free (a local process) lowers it, so a finished run is noticed at once.
    poll_max_s: ClassVar[float] = 5.0
    #: Options accepted in the TOML table (see :mod:`repro.targets.options`).
    declared: ClassVar[Options] = COMMON
    #: Files this kind adds to a run's outputs, with the words the run crate uses for them.
    output_files: ClassVar[Mapping[str, str]] = {
        "launcher.log": "Output of the process that launched the harness"}

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        """Check ``options`` against :attr:`declared`.

        Raises
        ------
        InputError
            For an unknown option or a value of the wrong type or range.
        """
        self.name = name
        for option, message in self.declared.problems(options):
            raise InputError(message, field=f"targets.{name}.{option}")
        #: Options under their current names (old names converted, see ``notes``).
        self.options, self.notes = self.declared.canonical(name, options)

    def option(self, name: str) -> Any:
        """Value of option ``name``: the user's, else the kind's default."""
        return self.options.get(name, self.declared[name].default)

    def _patient(self, log: FaultLog) -> contextlib.AbstractContextManager[FaultLog]:
        """Count retries into ``log``; inside, transient faults are retried (with the policy's
        growing waits) until the ``outage_limit`` option's seconds have passed, so only a
        definite answer (or that limit) ends the work on a run. For kinds with that option."""
        return recording(log, float(self.option("outage_limit")))

    @property
    def threads(self) -> int:
        """Thread count of every run on this target."""
        return int(self.option("threads"))

    @property
    def timestep(self) -> float:
        """Simulation resolution in ms."""
        return float(self.option("timestep"))

    @property
    def site(self) -> str:
        """Site name recorded with each run."""
        return str(self.options.get("site") or self.name)

    @property
    def max_concurrent(self) -> int:
        """How many runs the dispatcher keeps in flight at once (option ``parallel``)."""
        return max(1, int(self.options.get("parallel", 1)))

    def identity(self) -> dict[str, Any]:
        """Canonical description of the target that enters the run key (no secrets)."""
        def counts(name: str) -> bool:
            option = self.declared.get(name)
            return option is None or (option.identity and not option.secret)

        public = {k: v for k, v in self.options.items() if counts(k)}
        return {"kind": self.kind, "backend": self.backend, **public}

    def prepare(self, spec: RunSpec) -> RunSpec:
        """Adjust a spec for this target (backend, timestep, threads, site)."""
        spec.backend = self.backend
        spec.timestep_ms = self.timestep
        spec.threads = self.threads
        spec.target = self.name
        spec.site = self.site
        spec.backend_options.update({option.name: self.option(option.name)
                                     for option in self.declared.values()
                                     if option.backend_setup})
        return spec

    def probe_environment(self) -> dict[str, Any] | None:
        """Environment manifest the next run would see, where it can be had cheaply.

        Returns None where it cannot (remote sites); the cache then matches on model, target
        and seed only.
        """
        return None

    def submit_many(self, bundles: Sequence[RunBundle]) -> list[JobHandle]:
        """Submit several bundles; targets with job arrays override this."""
        return [self.submit(bundle) for bundle in bundles]

    def check(self, experiment: Any = None) -> str:
        """Pre-flight check for ``repro targets check``; returns a one-line summary.

        Parameters
        ----------
        experiment : repro.config.experiment.Experiment, optional
            The experiment the check is for (targets that map networks need it).
        """
        return "no pre-flight check for this kind"

    @abstractmethod
    def submit(self, bundle: RunBundle) -> JobHandle:
        """Start the run described by ``bundle``; return at once."""

    @abstractmethod
    def status(self, handle: JobHandle) -> JobStatus:
        """Current state of a submitted run."""

    @abstractmethod
    def fetch(self, handle: JobHandle, dest: Path) -> None:
        """Copy the harness outputs of a finished run into ``dest`` (never outside it)."""

    @abstractmethod
    def cancel(self, handle: JobHandle) -> None:
        """Stop a run that has not finished."""
