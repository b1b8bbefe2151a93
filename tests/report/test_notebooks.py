"""Both analysis notebooks run top to bottom (small sizes); any failing cell fails the test."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ANALYSIS = Path(__file__).resolve().parents[2] / "analysis"

pytestmark = pytest.mark.slow


def execute(name: str, tmp_path: Path, monkeypatch) -> nbformat.NotebookNode:
    """Run ``analysis/<name>.ipynb`` in a fresh kernel with a private store and small sizes."""
    monkeypatch.setenv("REPRO_STORE", str(tmp_path / "crates"))
    monkeypatch.setenv("REPRO_NB_WORKDIR", str(tmp_path / "experiments"))
    monkeypatch.setenv("REPRO_NB_SEEDS", "1,2,3")
    monkeypatch.setenv("REPRO_NB_DURATION_MS", "600")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(ANALYSIS / f"{name}.ipynb", as_version=4)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(ANALYSIS)}})
    client.execute()
    return notebook


def _outputs(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.extend(str(v) for v in output.get("data", {}).values())
    return "\n".join(parts)


def test_cross_platform_validation_notebook_runs(tmp_path, monkeypatch):
    notebook = execute("cross_platform_validation", tmp_path, monkeypatch)
    text = _outputs(notebook)
    assert "local vs spinnaker_emulator:" in text
    assert "<iframe srcdoc=" in text and "verdict-table" in text
    reports = list((tmp_path / "crates" / "campaigns").glob("*/report.html"))
    assert len(reports) == 1
    assert "emulation of sPyNNaker 7.4.1" in reports[0].read_text()  # hardware provenance
    runs = list((tmp_path / "crates" / "runs").glob("*/*/spikes.npz"))
    assert len(runs) == 6  # 3 seeds on each of the two targets


def test_release_regression_notebook_runs(tmp_path, monkeypatch):
    notebook = execute("release_regression", tmp_path, monkeypatch)
    text = _outputs(notebook)
    assert "exit code:" in text and "environment fact threads: 1 -> 2" in text
    assert "<iframe srcdoc=" in text
    assert list((tmp_path / "crates" / "campaigns").glob("*/report.html"))
