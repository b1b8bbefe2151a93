"""Test-session set-up shared by every test package.

Fixture modules in ``tests/fixtures/`` are loaded as pytest plugins, so each area (runs,
SLURM, registry, test servers) keeps its session-scoped services in a module of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

pytest_plugins = sorted(
    f"tests.fixtures.{path.stem}" for path in FIXTURES.glob("*.py") if path.stem != "__init__"
)

# Test servers live on loopback; never send their traffic through a proxy.
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"
os.environ.setdefault("MPLBACKEND", "Agg")

#: Session fixtures that are expensive to set up (real simulations, local servers, the SLURM
#: cluster). Under pytest-xdist (tests/run.sh uses two workers with ``--dist loadgroup``)
#: every module that uses one of them, directly or through another module sharing a fixture
#: with it, runs on one worker, so that each is set up once; other modules spread freely.
SHARED_SESSION_FIXTURES = frozenset({
    "comparison_runs", "drift_runs", "report_store", "invenio_server", "nestml_built",
    "nestml_spinnaker", "nestml_generator_python", "spynnaker_cells_built", "slurm_cluster",
    "unicore_site", "nmpi_server", "oci_registry", "sif_image"})


def _worker_groups(items: list[pytest.Item]) -> dict[str, str]:
    """Module path -> group: modules joined through the shared session fixtures they use."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    for item in items:
        module = item.nodeid.split("::")[0]
        root(module)
        for name in sorted(SHARED_SESSION_FIXTURES.intersection(item.fixturenames)):
            parent[root(module)] = root("fixture:" + name)
    # every worker must compute the same names: name a group by its smallest member
    names: dict[str, str] = {}
    for key in sorted(parent):
        names.setdefault(root(key), key)
    return {module: names[root(module)] for module in {i.nodeid.split("::")[0] for i in items}}


@pytest.hookimpl(tryfirst=True)  # before xdist's worker reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give every test the xdist group of its module (see SHARED_SESSION_FIXTURES)."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    groups = _worker_groups(items)
    for item in items:
        item.add_marker(pytest.mark.xdist_group(groups[item.nodeid.split("::")[0]]))
