"""Compile NESTML models into a NEST extension module against the installed NEST, with caching.

:func:`build_module` generates the C++ code with NESTML (in a separate process), configures
it with CMake against a corrected ``nest-config`` (see :mod:`repro.nestml.nestconfig`), and
compiles it with the local ``g++`` and the old-ABI flag. The result is cached by the sha256
of (NESTML sources, NESTML version, NEST version, compiler version, flags); a second build
of the same inputs is a cache hit that costs a few milliseconds.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from repro.errors import InputError, ReproError
from repro.nestml.augment import SIGNED_VT_MODEL, augment, cxx_digest, needs_augment
from repro.nestml.cache import BuildCache, canonical_key, tree_digest
from repro.nestml.codegen import generate_code
from repro.nestml.nestconfig import (
    DEBIAN_PACKAGES,
    NestToolchain,
    find_toolchain,
    write_nest_config,
)
from repro.nestml.pairs import SynapsePair, pair_codegen_opts, pair_models
from repro.nestml.shipped import pairs_for
from repro.nestml.sources import NestmlSource, model_source, sources_digest
from repro.site.clock import utc_now

MODULE_FORMAT = "repro.nestml-module/1"
#: Appended by NESTML to every model name: ``iaf_psc_exp`` becomes ``iaf_psc_exp_nestml``.
MODEL_SUFFIX = "_nestml"
#: Compiler processes (the machines have 2 shared cores).
DEFAULT_JOBS = 2
_COMPILER_ERROR = re.compile(
    r"^(?P<file>[^\s:][^:\n]*):(?P<line>\d+):(?:(?P<col>\d+):)? (?:fatal )?error: (?P<msg>.*)$",
    re.MULTILINE)
_MISSING_HEADER = re.compile(r"(?P<header>[\w./+-]+): No such file or directory")


@dataclass(frozen=True)
class BuiltModule:
    """A compiled NEST extension module holding an experiment's NESTML models.

    Attributes
    ----------
    name : str
        Module name, as given to ``nest.Install``.
    library_path : Path
        The shared library (inside the cache entry).
    models : tuple of str
        NEST model names it registers (source model name + ``_nestml``).
    module_hash : str
        sha256 of the library file.
    generated_sources_hash : str
        sha256 over the generated C++ sources (see :func:`repro.nestml.cache.tree_digest`).
    build_key : str
        The cache key (sha256 of the build inputs).
    nestml_version, nest_version, compiler, compiler_version : str
        Toolchain that built it.
    flags : tuple of str
        Compiler flags.
    sources : tuple of dict
        ``{"name", "sha256", "models"}`` of every NESTML source.
    build_seconds : float
        Wall time of the original build (generation + compilation).
    cache_hit : bool
        True when this call reused a cached build.
    lookup_seconds : float
        Wall time of this call (the whole cost of a cache hit).
    warnings : tuple of str
        NESTML's warnings, ``file:line: message``.
    entry_dir : Path
        The cache entry (library, ``generated/`` sources, ``build.log``, manifest).
    """

    name: str
    library_path: Path
    models: tuple[str, ...]
    module_hash: str
    generated_sources_hash: str
    build_key: str
    nestml_version: str
    nest_version: str
    compiler: str
    compiler_version: str
    flags: tuple[str, ...]
    sources: tuple[dict[str, Any], ...]
    build_seconds: float
    cache_hit: bool
    lookup_seconds: float
    warnings: tuple[str, ...] = field(default_factory=tuple)
    entry_dir: Path = Path()

    @property
    def generated_dir(self) -> Path:
        """The generated C++ sources kept with the cache entry."""
        return self.entry_dir / "generated"

    def bundle_path(self, prefix: str = "nestml") -> str:
        """Bundle-relative path the library is shipped under."""
        return f"{prefix}/{self.library_path.name}"

    def bundle_files(self, prefix: str = "nestml") -> dict[str, Path]:
        """``{bundle-relative path: file}`` for :func:`repro.execution.bundle.build_bundle`."""
        return {self.bundle_path(prefix): self.library_path}

    def runspec_modules(self, prefix: str = "nestml") -> list[dict[str, str]]:
        """Entries for :attr:`repro.site.runspec.RunSpec.nestml_modules`."""
        return [{"name": self.name, "path": self.bundle_path(prefix)}]

    def record(self) -> dict[str, Any]:
        """JSON-ready provenance of the module for the run crate."""
        return {
            "module": self.name, "library": self.library_path.name, "models": list(self.models),
            "module_hash": self.module_hash,
            "generated_sources_hash": self.generated_sources_hash,
            "build_key": self.build_key, "nestml_version": self.nestml_version,
            "nest_version": self.nest_version, "compiler": self.compiler,
            "compiler_version": self.compiler_version, "flags": list(self.flags),
            "sources": [dict(s) for s in self.sources], "build_seconds": self.build_seconds,
            "cache_hit": self.cache_hit, "lookup_seconds": self.lookup_seconds,
            "warnings": list(self.warnings)}


def nestml_version() -> str:
    """Version of the installed NESTML (``""`` when it is not installed)."""
    try:
        return version("nestml")
    except PackageNotFoundError:
        return ""


def module_name_for(sources: Sequence[NestmlSource]) -> str:
    """Deterministic module name for a set of sources (NESTML wants it to end in 'module')."""
    return f"repro{sources_digest(sources)[:12]}module"


def build_key_facts(sources: Sequence[NestmlSource], toolchain: NestToolchain,
                    nestml: str, pairs: Sequence[SynapsePair] = ()) -> dict[str, Any]:
    """Everything the built library depends on, as hashed into the cache key.

    The key holds the neuron-synapse pairs (and repro's hand-written C++,
    :mod:`repro.nestml.augment`) only when there are any, so that the key of a module
    without them is the one earlier versions computed.
    """
    facts = {"format": MODULE_FORMAT,
             "sources": sorted([s.name, s.sha256] for s in sources),
             "nestml_version": nestml, "nest_version": toolchain.nest_version,
             "compiler": toolchain.compiler.name, "compiler_version": toolchain.compiler_version,
             "flags": list(toolchain.flags), "suffix": MODEL_SUFFIX}
    if pairs:
        facts["pairs"] = [p.describe() for p in pairs]
    if needs_augment(pairs):
        facts["cxx"] = cxx_digest()
    return facts


def module_models(sources: Sequence[NestmlSource], pairs: Sequence[SynapsePair]) -> list[str]:
    """NEST model names the module registers: every model of the sources but the paired
    synapses (NESTML generates those only in their pair), then each pair's two models, then
    repro's signed volume transmitter when a pair reads it."""
    paired = {p.synapse for p in pairs}
    return ([m + MODEL_SUFFIX for s in sources for m in s.models if m not in paired]
            + pair_models(pairs, MODEL_SUFFIX)
            + ([SIGNED_VT_MODEL] if needs_augment(pairs) else []))


def build_module(sources: Sequence[NestmlSource], cache_root: Path, *,
                 jobs: int = DEFAULT_JOBS,
                 pairs: Sequence[SynapsePair] | None = None) -> BuiltModule:
    """Return the extension module for ``sources``: from the cache, or built now.

    Parameters
    ----------
    sources : sequence of NestmlSource
        The experiment's NESTML files.
    cache_root : Path
        Cache directory (entries go to ``cache_root/modules/<key>``).
    jobs : int
        Parallel compiler processes.
    pairs : sequence of SynapsePair, optional
        Synapses to generate together with their post-synaptic neuron (both must be in
        ``sources``); default: the shipped pairs (:data:`repro.nestml.shipped.SHIPPED_PAIRS`)
        whose two models are in ``sources``.

    Raises
    ------
    InputError
        NESTML rejected a model, or the compiler rejected the generated code of one (names the
        ``.nestml`` file, and the line when NESTML gave one).
    ReproError
        NESTML or a build tool is missing, or the build failed for another reason.
    """
    start = time.perf_counter()
    nestml = nestml_version()
    if not nestml:
        raise ReproError("NESTML is not installed: pip install 'repro[nestml]' (nestml>=9)")
    if pairs is None:
        pairs = pairs_for([m for s in sources for m in s.models])
    toolchain = find_toolchain()
    key = canonical_key(build_key_facts(sources, toolchain, nestml, pairs))
    cache = BuildCache(cache_root, "modules")
    manifest = cache.lookup(key)
    cache_hit = manifest is not None
    if manifest is None:
        manifest = _build(sources, toolchain, cache, key, jobs, pairs)
    return _from_manifest(manifest, cache.entry_dir(key), cache_hit,
                          time.perf_counter() - start)


def _build(sources: Sequence[NestmlSource], toolchain: NestToolchain, cache: BuildCache,
           key: str, jobs: int, pairs: Sequence[SynapsePair]) -> dict[str, Any]:
    start = time.perf_counter()
    module = module_name_for(sources)
    nest_config = write_nest_config(cache.root, toolchain)
    with cache.staging() as stage:
        generation = generate_code(
            sources, "NEST", stage / "generated", module_name=module, suffix=MODEL_SUFFIX,
            codegen_opts={"nest_version": f"v{toolchain.nest_version}",
                          **pair_codegen_opts(pairs)})
        augment(stage / "generated", module, pairs, MODEL_SUFFIX)
        generated_hash, generated_files = tree_digest(stage / "generated")
        compile_start = time.perf_counter()
        library = _compile(stage, module, nest_config, toolchain, sources, jobs,
                           cache.root / "failed")
        compile_seconds = time.perf_counter() - compile_start
        manifest = {
            "format": MODULE_FORMAT, "module": module, "library": library.name,
            "models": module_models(sources, pairs),
            "pairs": [p.describe() for p in pairs],
            "generated_sources_hash": generated_hash, "generated_files": generated_files,
            "sources": [{"name": s.name, "sha256": s.sha256, "models": list(s.models)}
                        for s in sources],
            "nestml_version": generation.nestml_version,
            "odetoolbox_version": generation.odetoolbox_version,
            **toolchain.describe(),
            "generate_seconds": generation.seconds, "compile_seconds": compile_seconds,
            "build_seconds": time.perf_counter() - start,
            "built_at": utc_now(),
            "warnings": [f"{Path(w['file']).name if w.get('file') else '?'}:"
                         f"{w.get('line') or '?'}: {w['message']}"
                         for w in generation.warnings]}
        for leftover in ("generator-request.json", "generator-result.json"):
            (stage / leftover).unlink(missing_ok=True)
        return cache.install(stage, key, manifest, checked=[library.name])


def _compile(stage: Path, module: str, nest_config: Path, toolchain: NestToolchain,
             sources: Sequence[NestmlSource], jobs: int, failed_log_dir: Path) -> Path:
    """Configure, compile and install the generated code; return the library in ``stage``.

    The log of a failed build is kept in ``failed_log_dir`` (the stage is removed).
    """
    build_dir = stage / "build"
    build_dir.mkdir()
    log_path = stage / "build.log"
    env = dict(os.environ, CXX=str(toolchain.compiler), LC_ALL="C")
    steps = [
        [str(toolchain.cmake), f"-Dwith-nest={nest_config}", f"-DCMAKE_INSTALL_PREFIX={stage}",
         "-S", str(stage / "generated"), "-B", str(build_dir)],
        [str(toolchain.make), "-C", str(build_dir), f"-j{max(1, jobs)}"],
        [str(toolchain.make), "-C", str(build_dir), "install"],
    ]
    with log_path.open("w", encoding="utf-8") as log:
        for command in steps:
            log.write(f"$ {' '.join(command)}\n")
            log.flush()
            done = subprocess.run(command, cwd=build_dir, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, check=False)
            log.write(done.stdout)
            if done.returncode != 0:
                kept = failed_log_dir / f"{module}-{time.strftime('%Y%m%dT%H%M%S')}.log"
                kept.parent.mkdir(parents=True, exist_ok=True)
                log.flush()
                shutil.copyfile(log_path, kept)
                raise compile_error(done.stdout, command, sources, kept)
    library = stage / f"{module}.so"
    if not library.is_file():
        raise ReproError(f"the build of {module} finished without producing {library.name} "
                         f"(log: {log_path})")
    shutil.rmtree(build_dir, ignore_errors=True)
    return library


def compile_error(output: str, command: list[str], sources: Sequence[NestmlSource],
                  log_path: Path) -> ReproError:
    """Turn a failed cmake/make step into an error naming the model and the compiler's words."""
    errors = list(_COMPILER_ERROR.finditer(output))
    step = Path(command[0]).name
    if not errors:
        tail = "\n".join(output.strip().splitlines()[-15:])
        return ReproError(f"NESTML module build failed in {step}:\n{tail}\n(log: {log_path})")
    first = errors[0]
    missing = _MISSING_HEADER.search(first.group("msg"))
    quoted = "\n".join(f"  {Path(e.group('file')).name}:{e.group('line')}: {e.group('msg')}"
                       for e in errors[:8])
    if missing:
        header = missing.group("header")
        package = next((p for k, p in DEBIAN_PACKAGES.items() if header.startswith(k)), None)
        hint = f" (install the Debian package {package})" if package else ""
        return ReproError(f"the C++ compiler cannot find the header {header}{hint}:\n{quoted}")
    generated = Path(first.group("file")).stem
    if generated == SIGNED_VT_MODEL:  # repro's own C++ (augment.py), not generated code
        return ReproError(f"the C++ compiler rejected repro's {generated} "
                          f"(repro/nestml/cxx/, for this NEST):\n{quoted}\n"
                          f"(full log: {log_path})")
    source = model_source(sources, generated.split("__with_")[0].removesuffix(MODEL_SUFFIX))
    message = (f"the C++ compiler rejected the code NESTML generated for model "
               f"'{generated}':\n{quoted}\n(full log: {log_path})")
    if source is None:
        return ReproError(message)
    return InputError(message, path=source.path)


def _from_manifest(manifest: dict[str, Any], entry: Path, cache_hit: bool,
                   lookup_seconds: float) -> BuiltModule:
    return BuiltModule(
        name=manifest["module"], library_path=entry / manifest["library"],
        models=tuple(manifest["models"]),
        module_hash=manifest["checked_files"][manifest["library"]],
        generated_sources_hash=manifest["generated_sources_hash"], build_key=manifest["key"],
        nestml_version=manifest["nestml_version"], nest_version=manifest["nest_version"],
        compiler=manifest["compiler"], compiler_version=manifest["compiler_version"],
        flags=tuple(manifest["flags"]), sources=tuple(manifest["sources"]),
        build_seconds=float(manifest["build_seconds"]), cache_hit=cache_hit,
        lookup_seconds=lookup_seconds, warnings=tuple(manifest.get("warnings", [])),
        entry_dir=entry)
