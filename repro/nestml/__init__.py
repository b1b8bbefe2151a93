"""NESTML support: custom neuron models compiled for NEST and generated for SpiNNaker.

Integration (what the dispatcher calls, before it writes anything in ``crates/``)::

    from repro.nestml import prepare

    built = prepare(experiment.directory, experiment.nestml)   # BuiltModule; raises InputError
    spec.nestml_modules = built.runspec_modules()               # [{"name", "path"}]
    build_bundle(..., extra_files=built.bundle_files())         # {"nestml/<name>.so": Path}
    nestml_record = built.record()                              # JSON for the crate

``prepare`` compiles (or takes from the cache) a NEST extension module holding every model
of the listed files; model ``X`` is available as NEST model ``X_nestml``, for example through
``sim.native_cell_type("iaf_psc_exp_nestml")`` in the network script. A NESTML or compiler
error raises :class:`repro.errors.InputError` naming the ``.nestml`` file (and line).
:func:`repro.nestml.spinnaker.prepare_spinnaker` produces the SpiNNaker target of the same
files.
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
