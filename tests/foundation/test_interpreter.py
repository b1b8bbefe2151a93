"""Derived interpreters see the packages of the interpreter repro runs in, venv or not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from repro.site.interpreter import derive_venv, describe

REPO = Path(__file__).resolve().parents[2]


def _marker_package(site_packages: Path, name: str) -> None:
    """An importable package that exists only in ``site_packages``."""
    (site_packages / name).mkdir()
    (site_packages / name / "__init__.py").write_text("HERE = True\n")


def _run(python: Path, code: str) -> str:
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                          cwd=REPO, check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_an_environment_derived_from_this_interpreter_imports_what_it_imports(tmp_path):
    python = derive_venv(tmp_path / "derived")
    facts = json.loads(_run(python, "import json, pyNN, numpy, repro.site.interpreter as i; "
                                    "print(json.dumps(i.describe()))"))
    assert facts["virtual_env"] is True and facts["prefix"] == str(tmp_path / "derived")
    assert facts["executable"] == str(python)
    assert facts["parent_env"] == (sys.prefix if describe()["virtual_env"] else "")


def test_an_environment_derived_inside_a_venv_keeps_the_venvs_packages(tmp_path):
    """The nested case: a venv made from inside a venv must not fall back to the base."""
    outer = derive_venv(tmp_path / "outer")
    outer_site = next((tmp_path / "outer" / "lib").glob("python3*/site-packages"))
    _marker_package(outer_site, "repro_only_in_outer")
    inner = tmp_path / "inner"
    _run(outer, f"from pathlib import Path; from repro.site.interpreter import derive_venv; "
                f"derive_venv(Path({str(inner)!r}))")
    out = _run(inner / "bin" / "python",
               "import json, repro_only_in_outer, pyNN, repro.site.interpreter as i; "
               "print(json.dumps(i.describe()))")
    facts = json.loads(out)
    assert facts["parent_env"] == str(tmp_path / "outer")
    # What venv --system-site-packages from inside the outer venv would have lost:
    plain = tmp_path / "plain"
    _run(outer, f"import venv; venv.EnvBuilder(system_site_packages=True).create({str(plain)!r})")
    lost = subprocess.run([str(plain / "bin" / "python"), "-c", "import repro_only_in_outer"],
                          capture_output=True, text=True, check=False)
    assert lost.returncode != 0 and "No module named 'repro_only_in_outer'" in lost.stderr


def test_packages_installed_in_the_derived_environment_shadow_the_inherited_ones(tmp_path):
    python = derive_venv(tmp_path / "derived")
    site = next((tmp_path / "derived" / "lib").glob("python3*/site-packages"))
    (site / "pyNN").mkdir()
    (site / "pyNN" / "__init__.py").write_text("__version__ = 'shadow'\n")
    assert _run(python, "import pyNN; print(pyNN.__version__)").strip() == "shadow"
