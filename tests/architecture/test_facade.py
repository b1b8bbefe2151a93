"""The notebooks use the public facade (``import repro``), never repro's inner modules."""

from __future__ import annotations

import json
import re
from pathlib import Path

import repro

ANALYSIS = Path(__file__).resolve().parents[2] / "analysis"
INNER_IMPORT = re.compile(r"^\s*(from|import)\s+repro\.", re.MULTILINE)


def _code(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def test_notebooks_import_only_the_facade() -> None:
    notebooks = sorted(ANALYSIS.glob("*.ipynb"))
    inner = {nb.name: INNER_IMPORT.findall(_code(nb)) for nb in notebooks}
    assert notebooks and not any(inner.values()), inner


def test_every_name_the_notebooks_use_is_exported() -> None:
    used = {name for nb in ANALYSIS.glob("*.ipynb")
            for name in re.findall(r"\brepro\.(\w+)", _code(nb))}
    assert used and used <= set(repro.__all__), used - set(repro.__all__)
