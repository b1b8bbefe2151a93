"""``repro run`` through UNICORE: the reference experiment in all three modes, end to end.

The CLI runs as a child process with the token in ``$UNICORE_TOKEN``; the targets come
from a ``targets.toml`` in the working directory. The image is pushed with
``repro containers push`` and the container-mode crate must record the digest the registry
reported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from repro.records.run_crate import verify_crate
from tests.fixtures.unicore import REPRO_SITE

pytestmark = [pytest.mark.slow, pytest.mark.infra]

REPO = Path(__file__).resolve().parents[2]
EXPERIMENT = REPO / "experiments" / "balanced_random"


def repro_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "repro", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def targets_toml(site, image: str) -> str:
    common = (f'url = "{site.https_url}"\nca_bundle = "{site.ca_bundle}"\n'
              'time = 10\npoll_interval = 0.5\npoll_max = 2.0\nslurm_check = 2.0\n')
    return (f'[targets.hpc-native]\nkind = "unicore"\nmode = "native"\n'
            f'module = "ebrains/24.10"\n{common}\n'
            f'[targets.hpc-batch]\nkind = "unicore"\nmode = "batch"\n'
            f'module = "ebrains/25.02"\n{common}\n'
            f'[targets.hpc-container]\nkind = "unicore"\nmode = "container"\n'
            f'image = "{image}"\nmpi = "pmix"\n{common}')


def test_repro_run_yields_crates_from_all_three_modes_and_never_stores_the_token(
        unicore_site, oci_registry, sif_image, tmp_path):
    token = unicore_site.token()
    env = {k: v for k, v in os.environ.items() if k not in ("EBRAINS_TOKEN",)}
    env.update(UNICORE_TOKEN=token, REPRO_STORE=str(tmp_path / "crates"))
    pushed = json.loads(repro_cli(["containers", "push", str(sif_image),
                                   f"{oci_registry.host}/repro/harness:cli", "--json"],
                                  env, tmp_path).stdout)
    (tmp_path / "targets.toml").write_text(targets_toml(unicore_site, pushed["reference"]))
    check = repro_cli(["targets", "check", str(EXPERIMENT), "--targets",
                       "hpc-native,hpc-batch,hpc-container"], env, tmp_path)
    run = repro_cli(["run", str(EXPERIMENT), "--targets", "hpc-native,hpc-batch,hpc-container",
                     "--seeds", "1", "--json"], env, tmp_path)
    outcomes = {o["target"]: o for o in json.loads(run.stdout)}
    assert sorted(outcomes) == ["hpc-batch", "hpc-container", "hpc-native"]
    manifests = {}
    for name, outcome in outcomes.items():
        assert outcome["status"] == "completed", outcome
        crate = tmp_path / "crates" / outcome["crate_path"]
        verify_crate(crate)
        manifests[name] = json.loads((crate / "environment.json").read_text())
        assert manifests[name]["site"] == REPRO_SITE
        job = outcome["extra"]["job"]
        assert job["executor"] == "UNICORE" and job["mode"] == name.split("-")[1]
        assert manifests[name]["scheduler"]["job_id"] == job["batch_system_id"]
    assert manifests["hpc-native"]["esd_release"] == "24.10"
    assert manifests["hpc-batch"]["esd_release"] == "25.02"
    container = manifests["hpc-container"]["container"]
    assert container["digest"] == pushed["digest"]
    assert outcomes["hpc-container"]["extra"]["job"]["container_digest"] == pushed["digest"]
    digests = {o["env_digest"] for o in outcomes.values()}
    assert len(digests) == 3  # three environments, told apart by ESD release and image
    leaked = [str(path) for root in (tmp_path, unicore_site.root) for path in root.rglob("*")
              if path.is_file() and token.encode() in path.read_bytes()]
    assert leaked == []
    assert token not in run.stdout + run.stderr + check.stdout + check.stderr
