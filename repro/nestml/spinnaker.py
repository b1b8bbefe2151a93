"""Generate the SpiNNaker target (C + sPyNNaker Python) of NESTML models, and build what can be.

:func:`prepare_spinnaker` runs NESTML 8.2.0 (the version that works with sPyNNaker 7.4.1,
see :mod:`repro.nestml.generator_env`) on the experiment's ``.nestml`` files and lays the
output out as an installable tree::

    python_models8/                 sPyNNaker model classes (importable with spynnaker)
        neuron/builds/<model>.py, neuron/implementations/<model>_impl.py
        model_binaries/             where the .aplx files go
    c_models/                       C sources and Makefiles for the ARM build
        src/my_models/implementations/<model>_impl.h
        makefiles/Makefile, extra*.mk, <model>_impl/Makefile

The ARM binary (``.aplx``) is cross-compiled only where the toolchain exists
(``SPINN_DIRS``, ``NEURAL_MODELLING_DIRS`` and ``arm-none-eabi-gcc``); otherwise the record
lists exactly what is missing and says that the binary must be built on the platform side.
Where sPyNNaker is installed, the generated models are imported and mapped on a virtual
board. Everything is cached like the NEST module; nothing here raises for a model that NEST
accepts: failures are recorded, since the NEST run does not depend on them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from repro.errors import ReproError
from repro.nestml.build import MODEL_SUFFIX
from repro.nestml.cache import BuildCache, canonical_key, tree_digest
from repro.nestml.codegen import generate_code
from repro.nestml.generator_env import (
    SPINNAKER_NESTML,
    SPINNAKER_ODETOOLBOX,
    find_generator_env,
)
from repro.nestml.sources import NestmlSource, resolve_sources
from repro.site.clock import utc_now
from repro.site.envinfo import sha256_file
from repro.site.files import read_json

SPINNAKER_FORMAT = "repro.nestml-spinnaker/1"
VB_CHECK = Path(__file__).with_name("virtual_board_check.py")
#: Environment variable that turns SpiNNaker generation off (value "off" or "0").
SWITCH_ENV_VAR = "REPRO_NESTML_SPINNAKER"
#: What the ARM build needs, named as precisely as the spec does.
TOOLCHAIN_PARTS = {
    "SPINN_DIRS": "environment variable SPINN_DIRS pointing at SpiNNakerManchester/"
                  "spinnaker_tools (7.4.x) built with make (lib/libspin1_api.a), with "
                  "spinn_common and SpiNNFrontEndCommon's front_end_common_lib installed "
                  "into it",
    "NEURAL_MODELLING_DIRS": "environment variable NEURAL_MODELLING_DIRS pointing at "
                             "SpiNNakerManchester/sPyNNaker/neural_modelling at the tag of the "
                             "installed sPyNNaker ({spynnaker}), so that struct layouts match",
    "arm-none-eabi-gcc": "ARM cross-compiler arm-none-eabi-gcc on PATH (Debian "
                         "gcc-arm-none-eabi, binutils-arm-none-eabi, libnewlib-arm-none-eabi)",
    "perl": "perl on PATH (mkaplx)",
}


@dataclass(frozen=True)
class SpinnakerGeneration:
    """The SpiNNaker target of an experiment's NESTML models.

    Attributes
    ----------
    status : str
        ``"generated"``, ``"failed"`` or ``"skipped"``.
    models : tuple of str
        sPyNNaker model class names (source model name + ``_nestml``).
    install_dir : Path or None
        The installable tree (``python_models8/`` and ``c_models/``) in the cache.
    generated_sources_hash : str
        sha256 over every file of the tree (see :func:`repro.nestml.cache.tree_digest`).
    files : dict
        ``{relative path: sha256}`` of the tree.
    nestml_version, odetoolbox_version : str
        Generator versions.
    generator : str
        Where the generator interpreter came from.
    binary : dict
        ``status`` (``"compiled"`` or ``"platform-side"``), ``aplx`` files, ``missing``
        toolchain parts and a one-line ``detail``.
    virtual_board : dict
        ``status`` (``"mapped"``, ``"failed"`` or ``"not-checked"``), sPyNNaker version,
        ``detail``.
    error : str
        Why generation failed or was skipped (empty when generated).
    cache_hit : bool
        True when taken from the cache.
    seconds : float
        Wall time of this call.
    """

    status: str
    models: tuple[str, ...] = ()
    install_dir: Path | None = None
    generated_sources_hash: str = ""
    files: dict[str, str] = field(default_factory=dict)
    nestml_version: str = ""
    odetoolbox_version: str = ""
    generator: str = ""
    binary: dict[str, Any] = field(default_factory=dict)
    virtual_board: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    cache_hit: bool = False
    seconds: float = 0.0

    def bundle_files(self, prefix: str = "nestml/spinnaker") -> dict[str, Path]:
        """``{bundle-relative path: file}`` of the installable tree (for nmpi bundles)."""
        if self.install_dir is None:
            return {}
        return {f"{prefix}/{name}": self.install_dir / name for name in self.files}

    def record(self) -> dict[str, Any]:
        """JSON-ready provenance for the run crate."""
        return {"status": self.status, "models": list(self.models),
                "generated_sources_hash": self.generated_sources_hash,
                "files": dict(self.files), "nestml_version": self.nestml_version,
                "odetoolbox_version": self.odetoolbox_version, "generator": self.generator,
                "binary": dict(self.binary), "virtual_board": dict(self.virtual_board),
                "error": self.error, "cache_hit": self.cache_hit, "seconds": self.seconds}


def spynnaker_version() -> str:
    """Installed sPyNNaker version (``""`` when absent)."""
    try:
        return version("sPyNNaker")
    except PackageNotFoundError:
        return ""


def missing_toolchain(spynnaker: str) -> list[str]:
    """Parts of the ARM build toolchain that are not present here (empty: all present)."""
    missing = []
    for variable in ("SPINN_DIRS", "NEURAL_MODELLING_DIRS"):
        value = os.environ.get(variable, "")
        if not value or not Path(value).is_dir():
            state = "not set" if not value else f"{value} is not a directory"
            text = TOOLCHAIN_PARTS[variable].format(spynnaker=spynnaker or "unknown")
            missing.append(f"{text} ({state})")
    for program in ("arm-none-eabi-gcc", "perl"):
        if shutil.which(program) is None:
            missing.append(TOOLCHAIN_PARTS[program])
    return missing


def prepare_spinnaker(experiment_dir: str | Path, nestml_paths: Sequence[str | Path],
                      cache_dir: str | Path | None = None, *,
                      check_virtual_board: bool = True) -> SpinnakerGeneration:
    """Generate (or take from the cache) the SpiNNaker target of an experiment's models.

    Parameters
    ----------
    experiment_dir : str or Path
        Experiment directory (relative ``nestml_paths`` are resolved against it).
    nestml_paths : sequence of str or Path
        The experiment's ``nestml`` list.
    cache_dir : str or Path, optional
        Cache root (default :func:`repro.nestml.cache.default_cache_dir`).
    check_virtual_board : bool
        Import and map the generated models on a virtual board where sPyNNaker is installed.

    Returns
    -------
    SpinnakerGeneration
        Never raises for generator or toolchain problems: ``status`` and ``error`` say what
        happened.

    Raises
    ------
    InputError
        When a source file is missing (the NEST build reports model errors first).
    """
    from repro.nestml.cache import default_cache_dir

    start = time.perf_counter()
    sources = resolve_sources(experiment_dir, nestml_paths)
    if os.environ.get(SWITCH_ENV_VAR, "").lower() in ("off", "0", "no", "false"):
        return SpinnakerGeneration(status="skipped",
                                   error=f"SpiNNaker generation turned off by {SWITCH_ENV_VAR}")
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    spynnaker = spynnaker_version()
    missing = missing_toolchain(spynnaker)
    facts = {"format": SPINNAKER_FORMAT, "sources": sorted([s.name, s.sha256] for s in sources),
             "nestml_version": SPINNAKER_NESTML, "odetoolbox_version": SPINNAKER_ODETOOLBOX,
             "spynnaker_version": spynnaker, "check_virtual_board": check_virtual_board,
             "toolchain": _toolchain_identity() if not missing else "absent"}
    key = canonical_key(facts)
    cache = BuildCache(root, "spinnaker")
    manifest = cache.lookup(key)
    cache_hit = manifest is not None
    if manifest is None:
        try:
            manifest = _generate(sources, root, cache, key, missing, spynnaker,
                                 check_virtual_board)
        except ReproError as exc:
            return SpinnakerGeneration(status="failed", error=str(exc),
                                       nestml_version=SPINNAKER_NESTML,
                                       seconds=time.perf_counter() - start)
    entry = cache.entry_dir(key)
    return SpinnakerGeneration(
        status="generated", models=tuple(manifest["models"]), install_dir=entry / "install",
        generated_sources_hash=manifest["generated_sources_hash"], files=manifest["files"],
        nestml_version=manifest["nestml_version"],
        odetoolbox_version=manifest["odetoolbox_version"], generator=manifest["generator"],
        binary=manifest["binary"], virtual_board=manifest["virtual_board"],
        cache_hit=cache_hit, seconds=time.perf_counter() - start)


def _toolchain_identity() -> dict[str, str]:
    compiler = shutil.which("arm-none-eabi-gcc") or ""
    try:
        compiler_version = subprocess.run([compiler, "-dumpversion"], capture_output=True,
                                          text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        compiler_version = ""
    return {"SPINN_DIRS": os.environ.get("SPINN_DIRS", ""),
            "NEURAL_MODELLING_DIRS": os.environ.get("NEURAL_MODELLING_DIRS", ""),
            "arm-none-eabi-gcc": compiler_version}


def _generate(sources: Sequence[NestmlSource], root: Path, cache: BuildCache, key: str,
              missing: list[str], spynnaker: str, check_vb: bool) -> dict[str, Any]:
    env = find_generator_env(root)
    with cache.staging() as stage:
        generation = generate_code(sources, "SPINNAKER", stage / "generated",
                                   module_name="nestmlmodule", suffix=MODEL_SUFFIX,
                                   python=env.python)
        models = [m + MODEL_SUFFIX for s in sources for m in s.models]
        install = stage / "install"
        lay_out(stage / "generated", install, models)
        binary = _cross_compile(install, missing, spynnaker)
        generated_hash, files = tree_digest(install)
        virtual_board = (check_virtual_board_mapping(install, models) if check_vb
                         else {"status": "not-checked", "detail": "not requested"})
        manifest = {
            "format": SPINNAKER_FORMAT, "models": models,
            "generated_sources_hash": generated_hash, "files": files,
            "nestml_version": generation.nestml_version,
            "odetoolbox_version": generation.odetoolbox_version,
            "generator": f"{env.origin} ({env.python})", "binary": binary,
            "virtual_board": virtual_board,
            "built_at": utc_now(),
            "generate_seconds": generation.seconds}
        for leftover in ("generator-request.json", "generator-result.json"):
            (stage / leftover).unlink(missing_ok=True)
        return cache.install(stage, key, manifest, checked=[f"install/{n}" for n in files])


def lay_out(generated: Path, install: Path, models: Sequence[str]) -> None:
    """Arrange NESTML's flat SpiNNaker output into the tree sPyNNaker and make expect."""
    package = install / "python_models8"
    c_models = install / "c_models"
    makefiles = c_models / "makefiles"
    implementations = c_models / "src" / "my_models" / "implementations"
    for directory in (package / "neuron" / "builds", package / "neuron" / "implementations",
                      package / "model_binaries", implementations, makefiles):
        directory.mkdir(parents=True, exist_ok=True)
    for directory in (package / "neuron", package / "neuron" / "builds",
                      package / "neuron" / "implementations", package / "model_binaries"):
        (directory / "__init__.py").touch()
    placed = {"__init__.py": package / "__init__.py", "Makefile_root": c_models / "Makefile",
              "Makefile_models": makefiles / "Makefile"}
    for path in sorted(generated.iterdir()):
        name = path.name
        if name in placed:
            dest = placed[name]
        elif name.endswith("_impl.py"):
            dest = package / "neuron" / "implementations" / name
        elif name.endswith("_example.py"):
            dest = install / "examples" / name
        elif name.endswith(".py"):
            dest = package / "neuron" / "builds" / name
        elif name.endswith((".h", ".c")):
            dest = implementations / name
        elif name.endswith(".mk"):
            dest = makefiles / name
        elif name.startswith("Makefile_"):
            dest = makefiles / name.removeprefix("Makefile_") / "Makefile"
        else:
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
    absent = [m for m in models if not (package / "neuron" / "builds" / f"{m}.py").is_file()]
    if absent:
        raise ReproError(f"NESTML generated no sPyNNaker model for {', '.join(absent)}")


def _cross_compile(install: Path, missing: list[str], spynnaker: str) -> dict[str, Any]:
    if missing:
        return {"status": "platform-side", "aplx": {}, "missing": missing,
                "detail": "the .aplx binary must be built on the platform side: this machine "
                          f"lacks {len(missing)} part(s) of the SpiNNaker ARM toolchain"}
    done = subprocess.run(["make", "-C", str(install / "c_models")], capture_output=True,
                          text=True, check=False, timeout=1800)
    (install.parent / "arm-build.log").write_text(done.stdout + done.stderr)
    binaries = install / "python_models8" / "model_binaries"
    aplx = {p.name: sha256_file(p) for p in sorted(binaries.glob("*.aplx"))}
    if done.returncode != 0 or not aplx:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-10:])
        return {"status": "platform-side", "aplx": aplx, "missing": [],
                "detail": f"the ARM build failed (sPyNNaker {spynnaker}); the .aplx must be "
                          f"built on the platform side:\n{tail}"}
    return {"status": "compiled", "aplx": aplx, "missing": [],
            "detail": f"cross-compiled with arm-none-eabi-gcc for sPyNNaker {spynnaker}"}


def check_virtual_board_mapping(install: Path, models: Sequence[str]) -> dict[str, Any]:
    """Import the generated models and map them on a virtual board, in a child process.

    The child gets a scratch ``HOME`` with a virtual-board ``.spynnaker.cfg``, so nothing is
    written to the user's home directory.
    """
    spynnaker = spynnaker_version()
    if not spynnaker:
        return {"status": "not-checked", "spynnaker_version": "",
                "detail": "sPyNNaker is not installed here (pip install 'repro[spinnaker]')"}
    with tempfile.TemporaryDirectory(prefix="repro-vb-") as scratch:
        home = Path(scratch)
        (home / ".spynnaker.cfg").write_text(
            "[Machine]\nvirtual_board = True\nversion = 5\nwidth = 8\nheight = 8\n")
        result_path = home / "result.json"
        env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
               "MPLBACKEND": "Agg"}
        try:
            done = subprocess.run(
                [sys.executable, str(VB_CHECK), str(install), str(result_path), *models],
                cwd=home, env=env, capture_output=True, text=True, timeout=900, check=False)
            output = done.stdout + done.stderr
        except subprocess.TimeoutExpired:
            return {"status": "failed", "spynnaker_version": spynnaker,
                    "detail": "the virtual-board check did not finish within 900 s"}
        result = read_json(result_path)
        if result is None:
            tail = "\n".join(output.strip().splitlines()[-10:])
            return {"status": "failed", "spynnaker_version": spynnaker,
                    "detail": f"the virtual-board check stopped without a result:\n{tail}"}
    aplx_note = ("no .aplx was needed: a virtual board never loads executables"
                 if "Ignoring executable not found" in output else "")
    if result.get("mapped"):
        return {"status": "mapped", "spynnaker_version": spynnaker,
                "imported": result.get("imported", []), "seconds": result.get("seconds"),
                "detail": "imported and mapped (placement, routing, data generation) on an "
                          f"8x8 virtual board; {aplx_note}".rstrip("; ")}
    return {"status": "failed", "spynnaker_version": spynnaker,
            "imported": result.get("imported", []), "detail": result.get("error", "")}
