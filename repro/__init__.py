"""repro: provenance-first reproducibility and comparison of spiking network simulations.

The pipeline, one folder a stage::

    config/      define:   experiment.toml, target tables, canonical hashes
    execution/   dispatch: bundles, the (target, seed) loop, the main job (campaign)
    targets/     where:    local, slurm, unicore, nmpi, the SpiNNaker emulator
    site/        run:      the harness and what it needs where the simulation runs
    records/     record:   run crates, campaign crates, the store, validation
    compare/     compare:  spikes, statistics, verdicts, drift
    report/      report:   the HTML validation report
    publish/     publish:  the FAIR zip and repository deposits

The names below are the public API (what the notebooks use). They are imported on first use,
so ``import repro`` stays cheap for the command line and for execution sites.

Examples
--------
>>> import repro
>>> sorted(repro.__all__)[:3]
['Store', 'compare_runs', 'drift_report']
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Public name -> module that defines it.
_EXPORTS = {
    "load_experiment": "repro.config.experiment",
    "resolve_targets": "repro.targets.tables",
    "model_hash": "repro.config.hashes",
    "run_experiment": "repro.execution.dispatch",
    "run_campaign": "repro.execution.campaign",
    "Store": "repro.records.store",
    "verify_crate": "repro.records.run_crate",
    "load_runs": "repro.compare.spikes",
    "load_profile": "repro.compare.profiles",
    "compare_runs": "repro.compare.runs",
    "drift_report": "repro.compare.drift",
    "write_report": "repro.report",
    "NotebookFrame": "repro.report",
    "publish_campaign": "repro.publish.package",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import a public name from the module that defines it, on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'repro' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
