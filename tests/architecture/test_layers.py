"""The layer rules: the pipeline reads top to bottom, and site code ships on its own.

The contracts live in ``pyproject.toml`` ([tool.importlinter]); import-linter checks them.
The site rule is stricter than any import contract can say (no third-party package beyond
numpy and pyNN), so it is checked here from the syntax tree.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SITE_PACKAGES = ("repro/site", "repro/spinnaker")
#: Importable anywhere in site code: what every execution site has.
SITE_MODULE_LEVEL = frozenset(sys.stdlib_module_names) | {"numpy", "pyNN", "repro"}
#: Importable inside a function of site code: pyNN's own requirements (neo, quantities), the
#: simulator pyNN drives where the NEST backend runs, optional plotting and the emulator's
#: optional compiled kernels (both ImportError-guarded, with a fallback).
SITE_FUNCTION_LEVEL = SITE_MODULE_LEVEL | {"neo", "quantities", "nest", "matplotlib", "numba"}


def lint_imports(repo: Path) -> subprocess.CompletedProcess:
    """Run import-linter on the package under ``repo`` with that tree's pyproject.toml."""
    env = {**os.environ, "PYTHONPATH": str(repo), "NO_COLOR": "1", "TERM": "dumb"}
    # the console script's options are stable across import-linter releases; its Python
    # entry point's keyword arguments are not
    command = Path(sys.executable).parent / "lint-imports"
    completed = subprocess.run([str(command), "--config", "pyproject.toml", "--no-cache"],
                               cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    # older releases colour their report whatever the terminal
    completed.stdout = re.sub(r"\x1b\[[0-9;]*m", "", completed.stdout)
    return completed


def foreign_site_imports(package_root: Path) -> list[str]:
    """``file:line module`` for every import in site code that an execution site may lack."""
    found = []
    for relative in SITE_PACKAGES:
        for path in sorted((package_root / relative).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            module_level = {id(node) for node in tree.body}
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module or ""]
                else:
                    continue
                allowed = SITE_MODULE_LEVEL if id(node) in module_level else SITE_FUNCTION_LEVEL
                found += [f"{path.relative_to(package_root)}:{node.lineno} {name}"
                          for name in names if name.split(".")[0] not in allowed]
    return found


def copy_of_repo(tmp_path: Path) -> Path:
    """A copy of the package and its pyproject.toml, to break the rules in."""
    copy = tmp_path / "repo"
    shutil.copytree(REPO / "repro", copy / "repro",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_the_package_keeps_its_layer_contracts():
    completed = lint_imports(REPO)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "2 kept, 0 broken" in completed.stdout


def test_site_code_imports_only_what_execution_sites_have():
    assert foreign_site_imports(REPO) == []


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("site/harness.py", "from repro.execution import dispatch", "import nothing else of repro"),
    ("targets/base.py", "from repro.execution import dispatch", "pipeline layers"),
    ("records/store.py", "import repro.cli", "pipeline layers"),
])
def test_an_upward_import_breaks_the_contract(tmp_path, module, line, broken):
    copy = copy_of_repo(tmp_path)
    path = copy / "repro" / module
    path.write_text(path.read_text() + f"\n{line}  # deliberate violation\n")
    completed = lint_imports(copy)
    assert completed.returncode != 0
    assert "BROKEN" in completed.stdout
    assert f"repro.{module[:-3].replace('/', '.')}" in completed.stdout
    broken_lines = [line for line in completed.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(broken in line for line in broken_lines), completed.stdout


def test_a_third_party_import_in_site_code_is_found(tmp_path):
    copy = copy_of_repo(tmp_path)
    path = copy / "repro" / "site" / "runspec.py"
    path.write_text(path.read_text() + "\nimport scipy.stats  # deliberate violation\n")
    assert foreign_site_imports(copy) == [
        f"repro/site/runspec.py:{len(path.read_text().splitlines())} scipy.stats"]


def test_function_level_allowances_do_not_apply_at_module_level(tmp_path):
    copy = copy_of_repo(tmp_path)
    path = copy / "repro" / "spinnaker" / "fixedpoint.py"
    path.write_text(path.read_text() + "\nimport nest  # deliberate violation\n")
    assert [hit.split()[-1] for hit in foreign_site_imports(copy)] == ["nest"]
