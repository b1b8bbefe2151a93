"""Helpers of the unicore tests: target construction, bundles of the small reference network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from repro.targets.base import JobState, RunBundle
from repro.targets.unicore import UnicoreTarget
from tests.targets.jobs import experiment_bundle

REPO = Path(__file__).resolve().parents[2]
EXPERIMENT = REPO / "experiments" / "balanced_random" / "experiment.toml"
#: A small, fast version of the reference network (same script, fewer neurons).
SMALL = {"n_neurons": 100}
DURATION_MS = 200.0


def make_target(test_site: Any, mode: str, name: str = "", **options: Any) -> UnicoreTarget:
    """A unicore target on the test site (TLS listener verified with the site's CA)."""
    defaults: dict[str, Any] = {
        "url": test_site.https_url, "ca_bundle": str(test_site.ca_bundle), "mode": mode,
        "poll_interval": 0.2, "poll_max": 1.0, "slurm_check": 1.0, "mpi": "pmix",
        "time": 5,
    }
    if mode in ("native", "batch"):
        defaults["module"] = "ebrains/24.10"
    return UnicoreTarget(name or f"uc-{mode}", {**defaults, **options})


def make_bundle(target: UnicoreTarget, directory: Path, seed: int = 1,
                **params: Any) -> RunBundle:
    """A bundle of the reference network, 100 neurons, 200 ms (``params`` override)."""
    return experiment_bundle(target, EXPERIMENT, seed, directory, duration_ms=DURATION_MS,
                             **{**SMALL, **params})


def jobs_of_run(site: Any, bundle: RunBundle) -> list[dict[str, Any]]:
    """The server's jobs tagged with the bundle's run id."""
    return [j for j in site.jobs() if f"repro-run-{bundle.run_id}" in j["tags"]]


def read_json(path: Path) -> dict[str, Any]:
    """A JSON file as a dict."""
    return json.loads(path.read_text())


__all__ = ["JobState", "jobs_of_run", "make_bundle", "make_target", "push_image", "read_json"]


def push_image(registry_host: str, sif: Path, repository: str = "repro/harness",
               tag: str = "test") -> str:
    """Push a SIF to the local registry with ORAS; return the manifest digest it reports."""
    import oras.client

    client = oras.client.OrasClient(hostname=registry_host, insecure=True)
    answer = client.push(target=f"{registry_host}/{repository}:{tag}",
                         files=[f"{sif}:application/vnd.sylabs.sif.layer.v1.sif"],
                         disable_path_validation=True)
    return answer.headers["Docker-Content-Digest"]
