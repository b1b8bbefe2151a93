"""UNICORE job descriptions and site-side scripts for the three modes of the unicore target.

Pure functions: nothing here talks to a site. :mod:`repro.targets.unicore` submits what
these functions build.

* ``native``: a UNICORE ``BATCH`` job; the site's ESD module is loaded by a user
  pre-command prepended to the batch script (``RunUserPrecommandOnLoginNode: false``), so
  the harness runs in the module's environment and records it.
* ``batch``: an ``ON_LOGIN_NODE`` job running ``sbatch`` of a generated script. UNICORE
  reports success when ``sbatch`` returns, so the script writes marker files
  (:data:`START_MARKER`, :data:`EXIT_MARKER`) into the working directory that the target
  watches.
* ``container``: a UNICORE ``BATCH`` job whose login-node user pre-command pulls the image
  by digest (``apptainer pull``) and records the SIF file's sha256; the compute step is
  ``srun --mpi=… apptainer exec --sharens image.sif python -m repro.site.harness …``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from repro.containers.apptainer import (
    DIGEST_VARIABLE,
    IMAGE_VARIABLE,
    RUNTIME_VARIABLE,
    ImageReference,
    exec_argv,
    pull_argv,
    shell_line,
)
from repro.targets.base import RunBundle

MODES = ("native", "batch", "container")
#: Generated batch script of ``batch`` mode (staged in with the bundle).
BATCH_SCRIPT = "repro_job.sh"
#: Written by the batch script when the Slurm job starts (holds the Slurm job id).
START_MARKER = "repro.started"
#: Written by the batch script when the harness has exited (holds its exit code).
EXIT_MARKER = "repro.exitcode"
#: Image file the container pre-command pulls into the working directory.
SIF_NAME = "image.sif"
#: sha256 of the pulled SIF file, written on the login node right after the pull.
SIF_SHA_FILE = "image.sif.sha256"
#: ``sbatch`` prints this on success; the Slurm job id follows.
_SUBMITTED = re.compile(r"Submitted batch job (\d+)")


@dataclass(frozen=True)
class JobSettings:
    """What a site job needs from the target's options.

    Attributes
    ----------
    mode : str
        ``native``, ``batch`` or ``container``.
    python : str
        Python interpreter at the site (inside the module or the container).
    threads, nodes, tasks, time_minutes : int
        NEST threads (CPUs per task), nodes, tasks, wall-clock limit.
    partition, project : str
        Slurm partition / UNICORE queue and accounting project ("" for the site default).
    module : str
        ESD module to load (``ebrains/24.10``); "" for none.
    image : ImageReference or None
        Container image (container mode), pinned by digest.
    mpi : str
        ``srun --mpi`` plugin for the container step (``pspmix`` at ParaStation sites).
    tags : list of str
        UNICORE job tags (the target adds a unique submission tag).
    """

    mode: str
    python: str = "python3"
    threads: int = 1
    nodes: int = 1
    tasks: int = 1
    time_minutes: int = 30
    partition: str = ""
    project: str = ""
    module: str = ""
    image: ImageReference | None = None
    mpi: str = "pspmix"
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SiteJob:
    """A UNICORE job description plus generated files to upload with the bundle."""

    description: dict[str, Any]
    generated: dict[str, str] = field(default_factory=dict)


def harness_argv(settings: JobSettings) -> list[str]:
    """The harness command (relative to the working directory, which holds the bundle)."""
    return [settings.python, "-m", "repro.site.harness", RunBundle.SPEC_FILE, RunBundle.OUTPUT_DIR]


def _module_line(module: str) -> str:
    quoted = shlex.quote(module)
    return f"module load {quoted}"


def _resources(settings: JobSettings) -> dict[str, Any]:
    resources: dict[str, Any] = {"Nodes": settings.nodes,
                                 "CPUsPerNode": settings.threads * settings.tasks,
                                 "Runtime": f"{settings.time_minutes}min"}
    if settings.partition:
        resources["Queue"] = settings.partition
    return resources


def _common(settings: JobSettings, name: str) -> dict[str, Any]:
    desc: dict[str, Any] = {"Name": name, "Tags": list(settings.tags),
                            "haveClientStageIn": "true"}
    if settings.project:
        desc["Project"] = settings.project
    return desc


def native_job(settings: JobSettings, name: str) -> SiteJob:
    """A BATCH job that loads the ESD module, then runs the harness.

    ``PYTHONPATH`` is set on the command line (after the module has been loaded) so the
    bundle's site modules come first and the module's own paths are kept.
    """
    desc = _common(settings, name)
    desc.update({
        "Job type": "BATCH",
        "Executable": "env",
        "Arguments": ["PYTHONPATH=site${PYTHONPATH:+:$PYTHONPATH}", "MPLBACKEND=Agg",
                      "PYTHONUNBUFFERED=1", *map(shlex.quote, harness_argv(settings))],
        "Resources": _resources(settings),
    })
    if settings.module:
        desc["User precommand"] = _module_line(settings.module)
        desc["RunUserPrecommandOnLoginNode"] = "false"
    return SiteJob(desc)


def batch_script(settings: JobSettings, name: str) -> str:
    """The Slurm batch script of ``batch`` mode, with start and exit markers."""
    directives = [f"--job-name={name}", f"--nodes={settings.nodes}",
                  f"--ntasks={settings.tasks}", f"--cpus-per-task={settings.threads}",
                  f"--time={settings.time_minutes}", "--output=slurm-%j.out"]
    if settings.partition:
        directives.append(f"--partition={settings.partition}")
    if settings.project:
        directives.append(f"--account={settings.project}")
    lines = ["#!/bin/bash", *(f"#SBATCH {d}" for d in directives),
             "# Generated by repro (unicore target, batch mode): runs the harness and leaves",
             f"# {START_MARKER} / {EXIT_MARKER} in the working directory for the submitter.",
             f'echo "${{SLURM_JOB_ID:-unknown}}" > {START_MARKER}',
             "finish() {",
             f'  echo "$1" > {EXIT_MARKER}.part && mv {EXIT_MARKER}.part {EXIT_MARKER}',
             '  exit "$1"',
             "}"]
    if settings.module:
        lines.append(f"{_module_line(settings.module)} || finish 3")
    lines += ['export PYTHONPATH="site${PYTHONPATH:+:$PYTHONPATH}" MPLBACKEND=Agg '
              "PYTHONUNBUFFERED=1",
              shell_line(harness_argv(settings)),
              'finish "$?"']
    return "\n".join(lines) + "\n"


def batch_job(settings: JobSettings, name: str) -> SiteJob:
    """An ON_LOGIN_NODE job that submits :data:`BATCH_SCRIPT` with ``sbatch``."""
    desc = _common(settings, name)
    desc.update({"Job type": "ON_LOGIN_NODE", "Executable": "sbatch",
                 "Arguments": [BATCH_SCRIPT]})
    return SiteJob(desc, {BATCH_SCRIPT: batch_script(settings, name)})


def container_pull_command(image: ImageReference) -> str:
    """Login-node pre-command: pull the image, then record the SIF file's sha256.

    A tag-only reference (admitted by the target's ``allow_tag``) is pulled by tag; the
    harness then records the sha256 of the SIF file it ran in as the image digest.
    """
    return (shell_line(pull_argv(image, SIF_NAME, allow_tag=not image.pinned))
            + f" && sha256sum {SIF_NAME} > {SIF_SHA_FILE}")


def container_job(settings: JobSettings, name: str) -> SiteJob:
    """A BATCH job: pull on the login node, ``srun … apptainer exec`` the harness.

    The pinned digest reaches the harness as ``REPRO_CONTAINER_DIGEST``.
    """
    if settings.image is None:
        raise ValueError("container mode needs an image")
    image = settings.image
    env = {"PYTHONPATH": RunBundle.SITE_DIR, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1",
           IMAGE_VARIABLE: str(image), RUNTIME_VARIABLE: "apptainer"}
    if image.digest:
        env[DIGEST_VARIABLE] = image.digest
    argv = exec_argv(SIF_NAME, harness_argv(settings), env=env, sharens=True, srun=True,
                     mpi=settings.mpi, srun_options=[f"--ntasks={settings.tasks}",
                                                     f"--cpus-per-task={settings.threads}"])
    desc = _common(settings, name)
    desc.update({
        "Job type": "BATCH",
        "User precommand": container_pull_command(image),
        "RunUserPrecommandOnLoginNode": "true",
        "Executable": argv[0],
        "Arguments": [shlex.quote(a) for a in argv[1:]],
        "Resources": _resources(settings),
    })
    return SiteJob(desc)


def site_job(settings: JobSettings, name: str) -> SiteJob:
    """The job for ``settings.mode``."""
    builders = {"native": native_job, "batch": batch_job, "container": container_job}
    return builders[settings.mode](settings, name)


def login_command_job(argv: list[str], tags: list[str]) -> dict[str, Any]:
    """A short ON_LOGIN_NODE job (``squeue``/``scancel`` of batch mode)."""
    return {"Job type": "ON_LOGIN_NODE", "Executable": argv[0],
            "Arguments": [shlex.quote(a) for a in argv[1:]], "Tags": list(tags),
            "Name": f"repro-{argv[0]}"}


def slurm_job_id(sbatch_stdout: str) -> str | None:
    """The Slurm job id in ``sbatch`` output, or None."""
    match = _SUBMITTED.search(sbatch_stdout)
    return match.group(1) if match else None
