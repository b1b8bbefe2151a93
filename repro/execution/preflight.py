"""Refuse a classic script before any run starts when a chosen target cannot run a feature.

Reads the script (:mod:`repro.site.script_scan`) and asks each chosen target's backend what
it cannot run: NEST refuses sPyNNaker extensions without a standard equivalent, the
SpiNNaker emulator also the PyNN models it does not implement (its own list), hardware
nothing. Features reached only at run time are refused by the dialect shim during the run.
"""

from __future__ import annotations

from repro.config.experiment import Experiment
from repro.errors import InputError
from repro.site.script_scan import refusal_lines
from repro.targets.base import Target


def backend_refusals() -> dict[str, dict[str, str]]:
    """``{backend: {standard PyNN name: what it is}}`` of the names each backend refuses."""
    import repro.spinnaker.pynn_backend as emulator
    from repro.site.spynnaker_catalogue import EXTRA_MODELS
    from repro.spinnaker.pynn_backend import standardmodels

    refused = dict(standardmodels.UNSUPPORTED)
    refused.update({name: "PyNN class" for name in pynn_class_names()
                    if not hasattr(emulator, name)})
    for extension in EXTRA_MODELS.values():
        name = extension.class_on("spinnaker_emulator")
        if name and not hasattr(emulator, name) and name != "AllButMeConnector":
            refused[name] = "sPyNNaker build"
    return {"nest": {}, "spinnaker_emulator": refused, "spinnaker": {}}


def pynn_class_names() -> set[str]:
    """Public classes of PyNN's common API (connectors, random, standard models)."""
    import pyNN.connectors
    import pyNN.random
    import pyNN.standardmodels.cells
    import pyNN.standardmodels.electrodes
    import pyNN.standardmodels.synapses

    modules = (pyNN.connectors, pyNN.random, pyNN.standardmodels.cells,
               pyNN.standardmodels.synapses, pyNN.standardmodels.electrodes)
    return {name for module in modules for name, value in vars(module).items()
            if isinstance(value, type) and not name.startswith("_")
            and value.__module__ == module.__name__}


def check_script(experiment: Experiment, targets: list[Target]) -> None:
    """Raise when a chosen target cannot run a feature the classic script uses.

    Raises
    ------
    InputError
        One line per feature: the script line, the feature, the targets that cannot run it
        and those that can (exit status 2; nothing has run).
    """
    if experiment.mode != "script":
        return
    lines = refusal_lines(experiment.script, backend_refusals(),
                          {target.name: target.backend for target in targets})
    if lines:
        raise InputError("\n".join(["refused before any run started:", *lines]))
