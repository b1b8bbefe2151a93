"""Import NESTML-generated sPyNNaker models and map a tiny network on a virtual board.

Usage: ``python virtual_board_check.py INSTALL_DIR RESULT.json MODEL [MODEL ...]`` with the
working directory and ``HOME`` pointing at a scratch directory that holds ``.spynnaker.cfg``
(``virtual_board = True``). It imports each model class of ``python_models8.neuron.builds``,
builds Poisson source -> model (receptor ``exc_spikes``) for all of them in one network, runs
10 ms and records whether import and mapping (placement, routing, data generation)
succeeded. On a virtual board the executable is never loaded, so a missing ``.aplx`` is
allowed. Standard library plus sPyNNaker only.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from importlib.metadata import PackageNotFoundError, version


def check_models(models: list[str]) -> dict[str, object]:
    """Import every model, then map one network holding all of them for 10 ms."""
    start = time.perf_counter()
    outcome: dict[str, object] = {"models": models, "imported": [], "mapped": False}
    try:
        classes = []
        for model in models:
            module = importlib.import_module(f"python_models8.neuron.builds.{model}")
            classes.append(getattr(module, model))
            outcome["imported"].append(model)
        import pyNN.spiNNaker as sim  # noqa: N813 - PyNN's usual name

        sim.setup(timestep=0.1)
        try:
            for model, celltype in zip(models, classes, strict=True):
                source = sim.Population(2, sim.SpikeSourcePoisson(rate=100.0),
                                        label=f"drive_{model}")
                cells = sim.Population(2, celltype(), label=model)
                sim.Projection(source, cells, sim.OneToOneConnector(),
                               sim.StaticSynapse(weight=100.0, delay=1.0),
                               receptor_type="exc_spikes")
                cells.record("spikes")
            sim.run(10.0)
            outcome["mapped"] = True
        finally:
            sim.end()
    except Exception as exc:  # noqa: BLE001 - reported in the result
        outcome["error"] = f"{type(exc).__name__}: {exc}"
        outcome["traceback"] = traceback.format_exc()[-4000:]
    outcome["seconds"] = time.perf_counter() - start
    return outcome


def main(argv: list[str]) -> int:
    """Check every model named on the command line; write the result JSON."""
    if len(argv) < 4:
        print("usage: virtual_board_check.py INSTALL_DIR RESULT.json MODEL...", file=sys.stderr)
        return 2
    sys.path.insert(0, argv[1])
    try:
        spynnaker = version("sPyNNaker")
    except PackageNotFoundError:
        spynnaker = ""
    result = check_models(argv[3:])
    result["spynnaker_version"] = spynnaker
    with open(argv[2], "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    return 0 if result["mapped"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
