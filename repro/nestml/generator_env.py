"""The Python environment holding the NESTML version that generates code for sPyNNaker 7.4.1.

NESTML 9.0's SpiNNaker generator fails at run time (a missing printer attribute, then a
unit-literal assertion); 8.3 needs another ODE-toolbox and fails the same way; 8.2.0 with
ODE-toolbox 2.5.12 generates working code without patches (see
``shared/docs/spinnaker-numerics.md`` section 10). The NEST module is built with the NESTML
installed in repro's environment, so the SpiNNaker generator gets its own virtual
environment: derived from the interpreter repro runs in (``repro.site.interpreter``: it sees
that interpreter's packages, sympy, numpy, astropy, sPyNNaker..., also when repro itself runs
in a venv) plus the two pinned packages, created once under the cache directory per parent
interpreter and reused afterwards.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from repro.errors import ReproError
from repro.site.interpreter import derive_venv

#: The generator versions known to work with sPyNNaker 7.4.1.
SPINNAKER_NESTML = "8.2.0"
SPINNAKER_ODETOOLBOX = "2.5.12"
#: Interpreter to use instead of the managed environment (must have nestml 8.2.0).
PYTHON_ENV_VAR = "REPRO_NESTML_SPINNAKER_PYTHON"
_COMPLETE = ".repro-complete"


@dataclass(frozen=True)
class GeneratorEnv:
    """An interpreter with the SpiNNaker-capable NESTML.

    Attributes
    ----------
    python : Path
        The interpreter.
    origin : str
        How it was found: ``"current interpreter"``, ``"$REPRO_NESTML_SPINNAKER_PYTHON"``,
        ``"managed venv derived from <prefix>"`` (``"... (created now)"`` the first time).
    nestml_version : str
        NESTML version it has.
    """

    python: Path
    origin: str
    nestml_version: str


def _installed(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return ""


def _interpreter_nestml(python: Path) -> str:
    code = ("from importlib.metadata import version\n"
            "print(version('nestml'), version('odetoolbox'))")
    try:
        out = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                             timeout=120, check=True).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return ""
    return out[0] if out else ""


def managed_env_dir(cache_root: Path) -> Path:
    """Where the managed generator environment derived from this interpreter lives.

    One per parent interpreter (keyed by ``sys.prefix`` and version): an environment derived
    from a venv must not serve the base interpreter, nor the other way round.
    """
    parent = hashlib.sha256(f"{sys.prefix}\n{sys.version}".encode()).hexdigest()[:12]
    return cache_root / "toolchains" / f"nestml-{SPINNAKER_NESTML}-{parent}"


def find_generator_env(cache_root: Path, *, create: bool = True) -> GeneratorEnv:
    """Return an interpreter with NESTML 8.2.0, creating the managed environment if needed.

    Parameters
    ----------
    cache_root : Path
        Cache directory (the environment goes to ``toolchains/nestml-8.2.0``).
    create : bool
        Create the environment when it does not exist (needs the package index).

    Raises
    ------
    ReproError
        If ``$REPRO_NESTML_SPINNAKER_PYTHON`` names an interpreter without NESTML 8.2.0, or
        the environment cannot be created (the message quotes pip).
    """
    explicit = os.environ.get(PYTHON_ENV_VAR)
    if explicit:
        found = _interpreter_nestml(Path(explicit))
        if found != SPINNAKER_NESTML:
            raise ReproError(f"${PYTHON_ENV_VAR}={explicit} has nestml {found or 'missing'}; "
                             f"the SpiNNaker generator needs nestml {SPINNAKER_NESTML}")
        return GeneratorEnv(Path(explicit), f"${PYTHON_ENV_VAR}", found)
    if _installed("nestml") == SPINNAKER_NESTML:
        return GeneratorEnv(Path(sys.executable), "current interpreter", SPINNAKER_NESTML)
    venv = managed_env_dir(cache_root)
    python = venv / "bin" / "python"
    if (venv / _COMPLETE).is_file() and python.exists():
        return GeneratorEnv(python, f"managed venv derived from {sys.prefix}", SPINNAKER_NESTML)
    if not create:
        raise ReproError(f"no NESTML {SPINNAKER_NESTML} environment at {venv}")
    _create_env(venv)
    return GeneratorEnv(python, f"managed venv derived from {sys.prefix} (created now)",
                        SPINNAKER_NESTML)


def _create_env(venv: Path) -> None:
    """Create the venv in a staging directory, install the pins, then move it into place."""
    stage = venv.with_name(f"{venv.name}.staging-{os.getpid()}")
    shutil.rmtree(stage, ignore_errors=True)
    stage.parent.mkdir(parents=True, exist_ok=True)
    try:
        try:
            python = derive_venv(stage)
        except OSError as exc:
            raise ReproError(f"cannot create the NESTML {SPINNAKER_NESTML} environment for "
                             f"SpiNNaker code generation at {stage}: {exc}") from None
        command = [str(python), "-m", "pip", "install", "--quiet",
                   "--disable-pip-version-check", f"nestml=={SPINNAKER_NESTML}",
                   f"odetoolbox=={SPINNAKER_ODETOOLBOX}"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=1800,
                              check=False)
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
            raise ReproError(f"cannot create the NESTML {SPINNAKER_NESTML} environment for "
                             f"SpiNNaker code generation ({' '.join(command[:4])} ...):\n"
                             f"{tail}")
        found = _interpreter_nestml(stage / "bin" / "python")
        if found != SPINNAKER_NESTML:
            raise ReproError(f"the new generator environment reports nestml {found or 'none'}, "
                             f"not {SPINNAKER_NESTML}")
        (stage / _COMPLETE).write_text(f"nestml {SPINNAKER_NESTML}\n")
        try:
            stage.rename(venv)
        except OSError:
            if not (venv / _COMPLETE).is_file():  # nobody else finished one meanwhile
                raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
