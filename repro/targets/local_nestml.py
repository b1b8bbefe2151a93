"""Target kind ``local_nestml``: local NEST with the network's LIF cells taken from NESTML.

It is the ``local`` target plus one parameter override: ``params.cell_implementation`` is
set to ``"nestml"`` (option ``cell_implementation``), which a network script such as
``experiments/nestml_equivalence/network.py`` reads to build its neurons from the
NESTML-generated model instead of NEST's built-in one. The model hash stays the same, so a
comparison between a ``local`` and a ``local_nestml`` target compares the two
implementations of one model; the override is part of the target identity (and so of the
run key), of the run spec in the crate, and of the job facts.
"""

from __future__ import annotations

from typing import ClassVar

from repro.site.runspec import RunSpec
from repro.targets.base import JobHandle, RunBundle
from repro.targets.local import LocalTarget
from repro.targets.options import Option, Options


class NestmlCellsTarget(LocalTarget):
    """Local NEST run with ``params.cell_implementation`` set to the NESTML implementation.

    Options: those of ``local`` plus ``cell_implementation`` (default ``"nestml"``).
    """

    kind: ClassVar[str] = "local_nestml"
    summary: ClassVar[str] = ("Local NEST with the network's LIF cells taken from NESTML "
                              "(sets params.cell_implementation).")
    declared: ClassVar[Options] = LocalTarget.declared.with_(
        Option("cell_implementation", str, "nestml", "Value written into "
               "params.cell_implementation of every run."))

    @property
    def cell_implementation(self) -> str:
        """Value written into ``params.cell_implementation``."""
        return str(self.options.get("cell_implementation") or "nestml")

    def identity(self) -> dict[str, object]:
        """Local identity plus the parameter override (which changes results)."""
        return {**super().identity(), "cell_implementation": self.cell_implementation}

    def prepare(self, spec: RunSpec) -> RunSpec:
        """Local preparation, then override ``params.cell_implementation``."""
        spec = super().prepare(spec)
        spec.params = {**spec.params, "cell_implementation": self.cell_implementation}
        return spec

    def submit(self, bundle: RunBundle) -> JobHandle:
        """Start the harness like ``local`` and record the override in the job facts."""
        handle = super().submit(bundle)
        handle.info["cell_implementation"] = self.cell_implementation
        return handle
