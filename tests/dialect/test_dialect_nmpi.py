"""A pyNN.nest script with command-line arguments through the NMPI target, unedited."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).parent / "scripts"
pytestmark = pytest.mark.slow


def test_nest_script_runs_through_the_nmpi_queue(nmpi_queue, tmp_path: Path) -> None:
    (tmp_path / "targets.toml").write_text(f"""
[targets.nmpi-test]
kind = "nmpi"
url = "{nmpi_queue.url}"
user_info_url = "{nmpi_queue.user_info_url}"
collab = "{nmpi_queue.collab}"
poll_interval = 0.1
poll_max = 1.0
""")
    env = {k: v for k, v in os.environ.items() if k not in ("EBRAINS_TOKEN", "NMPI_TOKEN")}
    env.update(HOME=str(tmp_path), REPRO_STORE=str(tmp_path / "store"),
               EBRAINS_TOKEN=nmpi_queue.token)
    done = subprocess.run([sys.executable, "-m", "repro.cli", "run", "--script",
                           str(SCRIPTS / "nest_on_emulator.py"), "--targets", "nmpi-test",
                           "--json", "--", "--cells", "5"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    (record,) = json.loads(done.stdout)
    crate = tmp_path / "store" / record["crate_path"]
    result = json.loads((crate / "result.json").read_text())
    assert result["populations"][0]["size"] == 5
    notes = {n["feature"]: n for n in json.loads((crate / "portability.json").read_text())[
        "notes"]}
    assert notes["simulator argument"]["action"] == "translated"
