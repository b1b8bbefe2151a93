"""NESTML support: custom neuron models compiled for NEST and generated for SpiNNaker.

How a run uses it: ``repro.execution.dispatch`` calls
:func:`repro.nestml.integration.prepare_experiment` once per ``repro run`` (before any bundle
or crate exists, so a model error leaves nothing behind); it returns the compiled NEST
module (:func:`prepare`) and the SpiNNaker target
(:func:`repro.nestml.spinnaker.prepare_spinnaker`), and ``NestmlInputs.apply(spec)`` adds
them to each run bundle: NEST runs get the module (``spec.nestml_modules``; the harness
installs it after every ``sim.setup()``), SpiNNaker runs get the generated sPyNNaker tree,
and every bundle gets the ``.nestml`` sources and ``network/nestml_build.json`` (module
hash, generated-sources hashes, cache hits, versions, SpiNNaker toolchain status), which
the crate keeps.

Model ``X`` is available as NEST model ``X_nestml``, for example through
``sim.native_cell_type("iaf_psc_exp_nestml")`` in the network script. A NESTML or compiler
error raises :class:`repro.errors.InputError` naming the ``.nestml`` file (and line).
``repro nestml build EXPERIMENT`` runs the same preparation on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from repro.nestml.build import BuiltModule, build_module
from repro.nestml.cache import default_cache_dir
from repro.nestml.sources import resolve_sources

__all__ = ["BuiltModule", "default_cache_dir", "prepare"]


def prepare(experiment_dir: str | Path, nestml_paths: Sequence[str | Path],
            cache_dir: str | Path | None = None) -> BuiltModule:
    """Build (or reuse) the NEST extension module for an experiment's NESTML files.

    Parameters
    ----------
    experiment_dir : str or Path
        The experiment directory; relative paths in ``nestml_paths`` are resolved against it.
    nestml_paths : sequence of str or Path
        The ``nestml`` list of ``experiment.toml``.
    cache_dir : str or Path, optional
        Build cache root (default :func:`default_cache_dir`).

    Returns
    -------
    BuiltModule
        Library path, module name, models, ``module_hash``, ``generated_sources_hash``,
        ``nestml_version``, ``build_seconds`` and ``cache_hit``.

    Raises
    ------
    InputError
        A file is missing, or NESTML / the compiler rejected a model (file and line named).
    ReproError
        NESTML, NEST headers or a build tool is missing (the message names the package).

    Examples
    --------
    >>> built = prepare("experiments/nestml_equivalence", ["models/iaf_psc_exp.nestml"])
    ... # doctest: +SKIP
    >>> built.models, built.cache_hit  # doctest: +SKIP
    (('iaf_psc_exp_nestml',), True)
    """
    sources = resolve_sources(experiment_dir, nestml_paths)
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return build_module(sources, root)
