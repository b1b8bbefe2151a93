"""Which Python this is (a virtual environment or not) and how to derive another one from it.

Every interpreter repro starts or configures on this machine (NESTML's SpiNNaker generator
environment, a ``kind = "local"`` target's ``python``, the test sites' ``python3``) must see
the packages of the interpreter repro runs in. Two traps lose them inside a virtual
environment:

* ``python -m venv --system-site-packages`` run from inside a venv makes an environment on
  top of the *base* interpreter (``sys.base_prefix``), not of the venv;
* a symlink to a venv's ``python`` placed outside the venv starts the base interpreter (the
  venv is found through ``pyvenv.cfg`` next to the path the interpreter was started as).

:func:`derive_venv` avoids both: it makes a venv on the base interpreter with the system
site-packages and adds a ``.pth`` file that runs ``site.addsitedir`` on every site-packages
directory of the current interpreter, so the parent venv's packages (editable installs
included, whose own ``.pth`` files are processed too) come after the derived environment's
own and before the base interpreter's. Standard library only: this module ships in bundles.
"""

from __future__ import annotations

import site
import sys
import sysconfig
import venv
from pathlib import Path
from typing import Any

#: The ``.pth`` file of a derived environment that chains it to its parent's packages.
PARENT_PTH = "_repro_parent_env.pth"


def in_virtual_env() -> bool:
    """True when this interpreter runs in a virtual environment."""
    return sys.prefix != sys.base_prefix


def describe() -> dict[str, Any]:
    """The interpreter facts a manifest records: executable, prefixes, venv or not.

    Returns
    -------
    dict
        ``executable`` (as started, symlinks not resolved), ``prefix``, ``base_prefix``,
        ``virtual_env`` (bool) and ``parent_env`` (the prefix of the environment this one
        was derived from by :func:`derive_venv`, else ``""``).
    """
    return {
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "virtual_env": in_virtual_env(),
        "parent_env": _parent_prefix(),
    }


def _parent_prefix() -> str:
    purelib = Path(sysconfig.get_paths()["purelib"])
    marker = purelib / PARENT_PTH
    if not in_virtual_env() or not marker.is_file():
        return ""
    for line in marker.read_text().splitlines():
        if line.startswith("# parent prefix: "):
            return line.removeprefix("# parent prefix: ")
    return ""


def site_directories() -> list[str]:
    """Site-packages directories of this interpreter, in ``sys.path`` order.

    Only the ones a derived environment cannot get from the base interpreter: empty when
    this interpreter is not in a virtual environment.
    """
    if not in_virtual_env():
        return []
    candidates = [*site.getsitepackages(), sysconfig.get_paths()["purelib"],
                  sysconfig.get_paths()["platlib"]]
    base = Path(sys.base_prefix).resolve()
    found: list[str] = []
    for entry in candidates:
        path = Path(entry)
        if path.is_dir() and str(path) not in found and base not in path.resolve().parents:
            found.append(str(path))
    return found


def derive_venv(directory: Path) -> Path:
    """Create a virtual environment at ``directory`` that sees this interpreter's packages.

    Parameters
    ----------
    directory : Path
        Where the environment goes (created; an existing environment there is updated).

    Returns
    -------
    Path
        Its ``bin/python``. Packages installed into it shadow the inherited ones (its own
        site-packages comes first on ``sys.path``); ``python -m pip`` works through the
        inherited pip.
    """
    directory = Path(directory)
    venv.EnvBuilder(system_site_packages=True, symlinks=True, with_pip=False,
                    clear=False).create(directory)
    python = directory / "bin" / "python"
    parents = site_directories()
    if parents:
        own = _venv_purelib(directory)
        lines = [f"# parent prefix: {sys.prefix}",
                 "# written by repro.site.interpreter.derive_venv: the parent's packages"]
        lines += [f"import site; site.addsitedir({entry!r})" for entry in parents]
        own.mkdir(parents=True, exist_ok=True)
        (own / PARENT_PTH).write_text("\n".join(lines) + "\n")
    return python


def _venv_purelib(directory: Path) -> Path:
    """site-packages of the venv at ``directory`` (same Python version as this one)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return directory / "lib" / version / "site-packages"
