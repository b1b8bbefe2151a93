"""Target kinds, one module each; looked up by the ``kind`` of a target's TOML table."""

from __future__ import annotations

import importlib

from repro.targets.base import Target

#: kind -> "module:Class". Modules are imported only when a target of that kind is used.
TARGET_KINDS: dict[str, str] = {
    "local": "repro.targets.local:LocalTarget",
    "spinnaker_emulator": "repro.targets.spinnaker_emulator:SpinnakerEmulatorTarget",
    "unicore": "repro.targets.unicore:UnicoreTarget",
    "local_nestml": "repro.targets.local_nestml:NestmlCellsTarget",
    "nmpi": "repro.targets.nmpi:NmpiTarget",
    "spinnaker_virtual": "repro.targets.spinnaker_virtual:SpinnakerVirtualTarget",
    "slurm": "repro.targets.slurm:SlurmTarget",
}


def options_markdown() -> str:
    """Every kind's declared options as Markdown (the text of ``docs/targets.md``)."""
    from repro.targets.options import markdown

    classes = {kind: target_class(kind) for kind in TARGET_KINDS}
    return markdown({kind: (cls.summary, cls.declared) for kind, cls in classes.items()})


def target_class(kind: str) -> type[Target]:
    """Return the Target subclass for ``kind``.

    Raises
    ------
    KeyError
        If no target kind of that name exists.
    """
    module_name, _, class_name = TARGET_KINDS[kind].partition(":")
    return getattr(importlib.import_module(module_name), class_name)
