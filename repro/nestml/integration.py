"""What the dispatcher needs from NESTML for one experiment: built artefacts, bundle files, record.

The dispatcher calls :func:`prepare_experiment` once per ``repro run``, before it creates any
bundle or crate (so a NESTML syntax error leaves nothing behind), and
:meth:`NestmlInputs.apply` for every run spec. ``apply`` chooses by backend: NEST runs get the
compiled extension module (installed by the harness before ``build``), SpiNNaker runs get
the generated sPyNNaker tree under ``nestml/spinnaker/``. Every bundle also gets the NESTML
sources and ``nestml_build.json`` (module hash, generated-sources hashes, cache hit, versions,
SpiNNaker generation status) in ``network/``, which the run crate copies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repro.nestml.build import BuiltModule, build_module
from repro.nestml.cache import canonical_key, default_cache_dir
from repro.nestml.sources import NestmlSource, resolve_sources
from repro.nestml.spinnaker import SpinnakerGeneration, prepare_spinnaker

RECORD_FILE = "nestml_build.json"
RECORD_FORMAT = "repro.nestml-build-record/1"
#: Backends that run sPyNNaker models (real or virtual boards).
SPINNAKER_BACKENDS = frozenset({"spinnaker"})
NEST_BACKENDS = frozenset({"nest"})


@dataclass(frozen=True)
class NestmlInputs:
    """NESTML artefacts of an experiment, ready to be put into run bundles.

    Attributes
    ----------
    sources : tuple of NestmlSource
        The experiment's ``.nestml`` files.
    module : BuiltModule
        The NEST extension module.
    spinnaker : SpinnakerGeneration
        The SpiNNaker target (generated, failed or skipped).
    record : dict
        What goes into ``nestml_build.json``.
    record_path : Path
        That file, written once in the cache (content-addressed).
    """

    sources: tuple[NestmlSource, ...]
    module: BuiltModule
    spinnaker: SpinnakerGeneration
    record: dict[str, Any]
    record_path: Path

    def apply(self, spec: Any) -> dict[str, Path]:
        """Point ``spec`` at the artefacts for its backend; return the extra bundle files.

        Parameters
        ----------
        spec : RunSpec
            The run spec (after ``target.prepare``); ``nestml_modules`` is set for NEST.

        Returns
        -------
        dict
            ``{bundle-relative path: file}`` for :func:`repro.execution.bundle.build_bundle`.
        """
        files: dict[str, Path] = {f"network/{s.name}": s.path for s in self.sources}
        files[f"network/{RECORD_FILE}"] = self.record_path
        if spec.backend in NEST_BACKENDS:
            spec.nestml_modules = self.module.runspec_modules()
            files.update(self.module.bundle_files())
        elif spec.backend in SPINNAKER_BACKENDS:
            files.update(self.spinnaker.bundle_files())
        return files


def build_record(module: BuiltModule, spinnaker: SpinnakerGeneration) -> dict[str, Any]:
    """The JSON document recorded with every run of the experiment."""
    return {"format": RECORD_FORMAT, "nest": module.record(), "spinnaker": spinnaker.record()}


def prepare_experiment(experiment: Any, cache_dir: str | Path | None = None, *,
                       spinnaker: bool = True) -> NestmlInputs | None:
    """Build the NEST module and the SpiNNaker target of an experiment's NESTML sources.

    Parameters
    ----------
    experiment : Experiment
        A loaded experiment (uses ``directory`` and ``nestml``).
    cache_dir : str or Path, optional
        Cache root (default :func:`repro.nestml.cache.default_cache_dir`).
    spinnaker : bool
        Generate the SpiNNaker target too (False for the sPyNNaker cell models a classic
        script runs on NEST: sPyNNaker runs its own builds of them).

    Returns
    -------
    NestmlInputs or None
        None when the experiment lists no NESTML files.

    Raises
    ------
    InputError
        A NESTML file is missing or NESTML / the compiler rejected a model (file and line).
    ReproError
        NESTML, NEST headers or a build tool is missing.
    """
    if not getattr(experiment, "nestml", None):
        return None
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    sources = tuple(resolve_sources(experiment.directory, experiment.nestml))
    module = build_module(sources, root)
    generation = (prepare_spinnaker(experiment.directory, experiment.nestml, root) if spinnaker
                  else SpinnakerGeneration(status="skipped", error="not needed: NEST only"))
    record = build_record(module, generation)
    text = json.dumps(record, indent=1, sort_keys=True)
    path = root / "records" / f"{canonical_key(record)[:32]}.json"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{id(record)}")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return NestmlInputs(sources=sources, module=module, spinnaker=generation, record=record,
                        record_path=path)
