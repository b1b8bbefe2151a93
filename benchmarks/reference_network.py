"""The reference network (experiments/balanced_random) loaded in-process for the benchmarks."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "experiments" / "balanced_random"


def load_reference(n_neurons: int) -> tuple[ModuleType, dict[str, Any]]:
    """The reference ``network`` module and its experiment parameters at ``n_neurons``.

    Parameters
    ----------
    n_neurons : int
        Network size put in place of the experiment's ``n_neurons``.

    Returns
    -------
    tuple
        The module holding ``build(sim, params, seed)`` and the parameter table.
    """
    spec = importlib.util.spec_from_file_location("network", REFERENCE / "network.py")
    network = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(network)
    params = tomllib.loads((REFERENCE / "experiment.toml").read_text())["params"]
    params["n_neurons"] = n_neurons
    return network, params
