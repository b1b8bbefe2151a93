"""Read a classic PyNN script (without running it) for the simulator features it uses.

Used before any run starts, so a script that uses a feature a chosen target cannot run is
refused up front, with the feature, the script line and the targets that can run it; so is
Neuromodulation's ``receptor_type="punishment"`` on NEST when the script spells it. Features
reached only at run time (names built by string, ``getattr``, a receptor in a variable) and
those in a branch the run may not take (``if options.use_csa: sim.CSAConnector(...)``) are
refused by the dialect shim when the script reaches them. Standard library only.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from repro.site.spynnaker_catalogue import (
    EXTRA_MODELS,
    HARDWARE_TARGETS,
    NESTML_STANDARD,
    SPYNNAKER_ONLY,
)

#: Modules whose alias in a script is "the simulator".
SIMULATOR_MODULES = ("pyNN.spiNNaker", "spynnaker8", "spynnaker.pyNN", "pyNN.nest",
                     "pyNN.neuron", "pyNN.brian2")
#: Modules that make a script an sPyNNaker script (its standard cells mean sPyNNaker's builds).
SPYNNAKER_MODULES = ("pyNN.spiNNaker", "spynnaker8", "spynnaker.pyNN")
#: Backends of run specs, as the refusal messages name them.
BACKEND_LABELS = {"nest": "local and other NEST targets (slurm, unicore)",
                  "spinnaker_emulator": "spinnaker_emulator", "spinnaker": HARDWARE_TARGETS}


@dataclass(frozen=True)
class FeatureUse:
    """A simulator name the script uses: ``IF_curr_exp``, ``extra_models.IFCurDelta``.

    ``conditional``: the use is in an ``if``/``else`` branch or a conditional expression
    (other than ``if __name__ == "__main__":``), so a run may never reach it.
    """

    name: str
    line: int
    conditional: bool = False


def simulator_aliases(tree: ast.AST) -> set[str]:
    """Names the script binds to its simulator module."""
    aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in SIMULATOR_MODULES and alias.asname:
                    aliases.add(alias.asname)
        elif isinstance(node, ast.ImportFrom) and node.module == "pyNN":
            for alias in node.names:
                if f"pyNN.{alias.name}" in SIMULATOR_MODULES:
                    aliases.add(alias.asname or alias.name)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called == "get_simulator":
                target = node.targets[0]
                first = target.elts[0] if isinstance(target, ast.Tuple) else target
                if isinstance(first, ast.Name):
                    aliases.add(first.id)
    return aliases


def _is_main_guard(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__" and len(test.comparators) == 1
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == "__main__")


def _in_branches(tree: ast.AST) -> set[int]:
    """``id`` of every node inside a branch a run may skip (see :class:`FeatureUse`)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and not _is_main_guard(node):
            branches: list[ast.AST] = [*node.body, *node.orelse]
        elif isinstance(node, ast.IfExp):
            branches = [node.body, node.orelse]
        else:
            continue
        inside.update(id(child) for branch in branches for child in ast.walk(branch))
    return inside


def features_used(source: str, filename: str = "<script>") -> list[FeatureUse]:
    """Every ``sim.X`` / ``sim.extra_models.X`` / ``sim.external_devices`` use, in order."""
    tree = ast.parse(source, filename=filename)
    aliases = simulator_aliases(tree)
    branched = _in_branches(tree)
    uses: list[FeatureUse] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id in aliases:
            names = [node.attr]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and \
                isinstance(node.value.value, ast.Name) and node.value.value.id in aliases and \
                node.value.attr == "extra_models":
            names = [f"extra_models.{node.attr}"]
        elif isinstance(node, ast.ImportFrom) and node.module in (
                "pyNN.spiNNaker", "spynnaker.pyNN", "spynnaker8"):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and \
                node.module.endswith(".extra_models"):
            names = [f"extra_models.{alias.name}" for alias in node.names]
        uses.extend(FeatureUse(name, node.lineno, id(node) in branched) for name in names)
    return sorted(set(uses), key=lambda use: (use.line, use.name))


def speaks_spynnaker(source: str, filename: str = "<script>") -> bool:
    """True when the script imports its simulator from an sPyNNaker module."""
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import) and any(
                alias.name.startswith(SPYNNAKER_MODULES) for alias in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module and (
                node.module.startswith(SPYNNAKER_MODULES) or (node.module == "pyNN" and any(
                    alias.name == "spiNNaker" for alias in node.names))):
            return True
    return False


def nestml_models(script: Path) -> list[tuple[str, FeatureUse]]:
    """The shipped NESTML models a script needs on NEST, with the use that needs each.

    sPyNNaker extensions with a ``nestml`` model (a plastic synapse with the neuron NESTML
    generates it with), and, in sPyNNaker scripts, the standard cells sPyNNaker builds with
    other equations than NEST (:data:`NESTML_STANDARD`).
    """
    source = script.read_text(errors="replace")
    spynnaker = speaks_spynnaker(source, str(script))
    needed: dict[str, FeatureUse] = {}
    for use in features_used(source, str(script)):
        name = use.name
        if name.startswith("extra_models."):
            extension = EXTRA_MODELS.get(name.split(".", 1)[1])
            models = (extension.nestml, extension.nestml_post) if extension is not None else ()
        else:
            models = (NESTML_STANDARD.get(name, "") if spynnaker else "",)
        for model in models:
            if model:
                needed.setdefault(model, use)
    return sorted(needed.items(), key=lambda item: item[1].line)


def paired_post_cells(source: str, filename: str = "<script>") -> dict[str, tuple[str, str]]:
    """``{standard cell: (NESTML neuron, NESTML synapse)}`` for the plastic synapses of
    ``source`` that NEST runs only onto a NESTML neuron (``Extension.nestml_post``)."""
    cells: dict[str, tuple[str, str]] = {}
    for use in features_used(source, filename):
        if use.name.startswith("extra_models."):
            extension = EXTRA_MODELS.get(use.name.split(".", 1)[1])
            if extension is not None and extension.nestml_post and extension.post_cell:
                cells.setdefault(extension.post_cell, (extension.nestml_post, extension.nestml))
    return cells


def can_run(name: str, backend: str, unsupported: Mapping[str, str]) -> tuple[bool, str]:
    """Whether ``backend`` can run feature ``name``, and why not.

    ``unsupported`` maps the standard PyNN names ``backend`` refuses to what they are.
    """
    if backend == "spinnaker":
        return True, ""
    if name.startswith("extra_models."):
        extension = EXTRA_MODELS.get(name.split(".", 1)[1])
        if extension is None:
            return True, ""  # not sPyNNaker's either: the run will say what it is
        wanted = extension.class_on(backend)
        if not wanted:
            return False, extension.why_not
        if wanted in unsupported:
            return False, f"it is {wanted}, which {backend} does not implement"
        return True, ""
    if name in SPYNNAKER_ONLY:
        return False, SPYNNAKER_ONLY[name].why_not
    if name in unsupported:
        return False, f"{name} ({unsupported[name]}) is not implemented by {backend}"
    return True, ""


def refusal_lines(script: Path, backends: Mapping[str, Mapping[str, str]],
                  chosen: Mapping[str, str]) -> list[str]:
    """One line per feature some chosen target cannot run (uses a run may skip excepted).

    Parameters
    ----------
    script : Path
        The classic script.
    backends : mapping
        ``{backend: unsupported names}`` for every backend known here (the targets that can
        run a feature are named from it).
    chosen : mapping
        ``{target name: backend}`` of the targets the user chose.
    """
    source = script.read_text(errors="replace")
    lines: list[tuple[int, str]] = []
    seen: set[str] = set()
    for use in features_used(source, str(script)):
        if use.name in seen or use.conditional:
            continue
        refusing = {}
        for target, backend in chosen.items():
            ok, why = can_run(use.name, backend, backends.get(backend, {}))
            if not ok:
                refusing[target] = why
        if not refusing:
            continue
        seen.add(use.name)
        able = [BACKEND_LABELS.get(b, b) for b, names in backends.items()
                if can_run(use.name, b, names)[0]]
        able = able or [HARDWARE_TARGETS]
        why = next(iter(refusing.values()))
        lines.append((use.line, f"{script.name}:{use.line}: sim.{use.name} cannot run on "
                      f"{', '.join(refusing)} ({why}); runs on: {'; '.join(able)}"))
    return [line for _, line in sorted(lines, key=lambda item: item[0])]
