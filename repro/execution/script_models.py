"""Attach the shipped NESTML models a classic script needs on NEST to its experiment.

The pre-run scan (:func:`repro.site.script_scan.nestml_models`) names the sPyNNaker cell
models NEST lacks that the script uses; when a chosen target runs NEST, the experiment gets
all shipped NESTML sources (one module, one cached build for every script), so the
dispatcher builds them before any bundle or crate exists and every NEST run installs them.
"""

from __future__ import annotations

import dataclasses

from repro.config.experiment import Experiment
from repro.errors import ReproError
from repro.nestml.shipped import shipped_models, shipped_sources
from repro.site.script_scan import nestml_models
from repro.targets.base import Target


def with_dialect_models(experiment: Experiment, targets: list[Target]) -> Experiment:
    """``experiment`` with the shipped NESTML sources when a NEST target needs them.

    Raises
    ------
    ReproError
        If the scan names a model repro does not ship (a catalogue error).
    """
    if experiment.mode != "script" or experiment.nestml or not any(
            target.backend == "nest" for target in targets):
        return experiment
    needed = nestml_models(experiment.script)
    if not needed:
        return experiment
    missing = sorted({model for model, _ in needed} - set(shipped_models()))
    if missing:
        raise ReproError(f"repro ships no NESTML model {missing} (needed by "
                         f"{experiment.script.name})")
    return dataclasses.replace(experiment, nestml=shipped_sources())
