"""Test-session set-up shared by every test package.

Fixture modules in ``tests/fixtures/`` are loaded as pytest plugins, so each area (runs,
SLURM, registry, test servers) keeps its session-scoped services in a module of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"

pytest_plugins = sorted(
    f"tests.fixtures.{path.stem}" for path in FIXTURES.glob("*.py") if path.stem != "__init__"
)

# Test servers live on loopback; never send their traffic through a proxy.
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"
os.environ.setdefault("MPLBACKEND", "Agg")
