"""Build NEST with MPI from its PyPI source distribution, once per toolchain, into a cache.

The NEST wheel on PyPI has no MPI (``nest.build_info["have_mpi"]`` is False), so a multi-rank
launch has nothing to launch. :func:`ensure_nest_mpi` downloads NEST's sdist with pip,
configures it with CMake (``-Dwith-mpi=ON``, OpenMP, GSL, Boost, PyNEST for this Python),
compiles it with ``nice make -j2`` and installs it into ``<cache>/nest-mpi/<key>/``. The key is
the sha256 of (NEST version, sdist sha256, compiler, MPI and Python versions, CMake flags),
so a second call with the same toolchain is a cache hit. The entry is installed atomically
(see :class:`repro.nestml.cache.BuildCache`); a per-key lock keeps two processes from building
the same key at once. NEST sets a relative RPATH, and the prefix compiled into it is the
final entry directory (``make install DESTDIR=...`` stages the files).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repro.errors import InputError, ReproError
from repro.nestml.cache import BuildCache, canonical_key, default_cache_dir
from repro.site.clock import utc_now
from repro.site.envinfo import sha256_file

BUILD_FORMAT = "repro.nest-mpi/1"
KIND = "nest-mpi"
DEFAULT_VERSION = "3.10.0"
DEFAULT_JOBS = 2
#: NEST models built in: those PyNN's standard cell, source, recorder and synapse types map to
#: (a third of NEST's full set, which halves the compile time on two cores).
PYNN_MODELS = (
    "iaf_psc_alpha", "iaf_psc_exp", "iaf_psc_delta", "iaf_cond_alpha", "iaf_cond_exp",
    "iaf_cond_exp_sfa_rr", "hh_cond_exp_traub", "aeif_cond_alpha", "aeif_cond_exp",
    "izhikevich", "gif_cond_exp", "iaf_psc_alpha_ps", "iaf_psc_exp_ps", "iaf_psc_delta_ps",
    "poisson_generator", "poisson_generator_ps", "ppd_sup_generator", "gamma_sup_generator",
    "spike_generator", "parrot_neuron", "parrot_neuron_ps", "dc_generator", "ac_generator",
    "step_current_generator", "noise_generator", "spike_recorder", "multimeter",
    "weight_recorder", "static_synapse", "stdp_synapse", "stdp_synapse_hom", "tsodyks_synapse",
    "tsodyks2_synapse", "quantal_stp_synapse", "bernoulli_synapse", "vogels_sprekeler_synapse")
#: Debian packages the build needs (tests/apt-packages.txt lists them too).
DEBIAN_PACKAGES = ("g++", "cmake", "make", "libopenmpi-dev", "openmpi-bin", "libpmix-dev",
                   "libgsl-dev", "libltdl-dev", "libboost-dev")


@dataclass(frozen=True)
class NestMpiBuild:
    """A NEST installation built with MPI, inside the build cache.

    Attributes
    ----------
    prefix : Path
        Installation prefix (the cache entry).
    python_path : Path
        Directory to put on ``PYTHONPATH`` so that ``import nest`` finds this build.
    key : str
        Cache key.
    manifest : dict
        Recorded facts: versions, flags, build seconds, ``have_mpi``.
    cache_hit : bool
        True when the entry already existed.
    """

    prefix: Path
    python_path: Path
    key: str
    manifest: dict[str, Any]
    cache_hit: bool

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (default ``os.environ``) with this build first on PYTHONPATH and PATH."""
        env = dict(os.environ if base is None else base)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(self.python_path), env.get("PYTHONPATH", "")) if p)
        env["PATH"] = os.pathsep.join(p for p in (str(self.prefix / "bin"), env.get("PATH", ""))
                                      if p)
        return env


def nest_mpi_cache_dir() -> Path:
    """The cache root shared with NESTML builds (entries go to ``<root>/nest-mpi/<key>``)."""
    return default_cache_dir().parent


def cmake_flags(python: str = sys.executable) -> list[str]:
    """CMake options of the build (the prefix is added separately)."""
    return ["-Dwith-mpi=ON", "-Dwith-openmp=ON", "-Dwith-python=ON", "-Dwith-gsl=ON",
            "-Dwith-boost=ON", "-Dwith-ltdl=ON", "-Dwith-optimize=-O2",
            "-Dwith-warning=OFF", f"-Dwith-models={';'.join(PYNN_MODELS)}",
            f"-DPython_EXECUTABLE={python}"]


def _tool_version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError:
        return ""
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if done.returncode == 0 and text else ""


def toolchain_facts() -> dict[str, str]:
    """Versions of the tools the build depends on; a missing tool is a clear error."""
    facts = {"compiler": _tool_version(["g++", "--version"]),
             "mpi": _tool_version(["mpicxx", "--showme:version"]),
             "cmake": _tool_version(["cmake", "--version"]),
             "python": f"{sys.implementation.name} {sysconfig.get_python_version()}"}
    missing = [name for name, value in facts.items() if not value]
    if missing:
        raise ReproError(f"cannot build NEST with MPI: {', '.join(missing)} not found; install "
                         f"the Debian packages {' '.join(DEBIAN_PACKAGES)}")
    return facts


def download_sdist(version: str, into: Path) -> Path:
    """NEST's source distribution from PyPI, downloaded with pip (no build of it)."""
    into.mkdir(parents=True, exist_ok=True)
    name = f"nest_simulator-{version}.tar.gz"
    if (into / name).is_file():
        return into / name
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "nest-simulator",
         f"nest-simulator=={version}", "-d", str(into)],
        capture_output=True, text=True, check=False)
    if done.returncode != 0 or not (into / name).is_file():
        raise ReproError(f"could not download NEST {version}'s source distribution with pip:\n"
                         f"{done.stderr[-2000:]}")
    return into / name


@contextmanager
def _key_lock(root: Path, key: str) -> Iterator[None]:
    locks = root / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with (locks / f"{KIND}-{key}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_logged(command: list[str], cwd: Path, log: Any, env: Mapping[str, str]) -> None:
    log.write(f"$ {' '.join(command)}\n")
    log.flush()
    done = subprocess.run(command, cwd=cwd, env=dict(env), stdout=log, stderr=subprocess.STDOUT,
                          check=False)
    if done.returncode != 0:
        raise ReproError(f"NEST build step failed (exit {done.returncode}): {' '.join(command)}")


def _site_packages(prefix: Path) -> Path:
    found = sorted(prefix.glob("lib*/python*/site-packages/nest/__init__.py"))
    if not found:
        raise ReproError(f"the NEST build installed no Python package under {prefix}")
    return found[0].parent.parent


def _probe_mpi(python_path: Path) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(python_path), PYNEST_QUIET="1")
    code = ("import json, nest; b = nest.build_info; print(json.dumps({'have_mpi': "
            "bool(b['have_mpi']), 'threads': bool(b['threads_model']), "
            "'version': nest.__version__}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=False)
    if done.returncode != 0:
        raise ReproError(f"the built NEST does not import:\n{done.stderr[-2000:]}")
    import json
    return json.loads(done.stdout.strip().splitlines()[-1])


def ensure_nest_mpi(version: str = DEFAULT_VERSION, *, cache_root: Path | None = None,
                    sdist: Path | None = None, jobs: int = DEFAULT_JOBS,
                    log_to: Any = None) -> NestMpiBuild:
    """Return the cached MPI build of NEST ``version``, building it first if needed.

    Parameters
    ----------
    version : str
        NEST version on PyPI.
    cache_root : Path, optional
        Cache root (default :func:`nest_mpi_cache_dir`).
    sdist : Path, optional
        A local ``nest_simulator-<version>.tar.gz`` (default: downloaded with pip into the
        cache's ``sources/``).
    jobs : int
        Parallel compiler processes (``make -j``), run under ``nice``.
    log_to : file, optional
        Where progress lines go (default: nowhere).

    Returns
    -------
    NestMpiBuild
    """
    if jobs < 1:
        raise InputError("must be at least 1", field="jobs")
    root = Path(cache_root or nest_mpi_cache_dir()).expanduser().resolve()
    cache = BuildCache(root, KIND)
    if sdist is None:
        sdist = download_sdist(version, root / "sources")
    elif not sdist.is_file():
        raise InputError("no such file", path=sdist)
    facts = {"format": BUILD_FORMAT, "nest_version": version, "sdist_sha256": sha256_file(sdist),
             **toolchain_facts(), "cmake_flags": cmake_flags()}
    key = canonical_key(facts)

    def say(text: str) -> None:
        if log_to is not None:
            print(text, file=log_to, flush=True)

    with _key_lock(root, key):
        manifest = cache.lookup(key)
        if manifest is not None:
            prefix = cache.entry_dir(key)
            return NestMpiBuild(prefix, _site_packages(prefix), key, manifest, True)
        prefix = cache.entry_dir(key)
        started = time.monotonic()
        with cache.staging() as stage:
            say(f"building NEST {version} with MPI into {prefix} (log: {stage / 'build.log'})")
            with tarfile.open(sdist) as archive:
                archive.extractall(stage / "src", filter="data")
            source = next((stage / "src").iterdir())
            build_dir, destdir = stage / "build", stage / "destdir"
            build_dir.mkdir()
            env = dict(os.environ, MAKEFLAGS=f"-j{jobs}")
            with (stage / "build.log").open("w", encoding="utf-8") as log:
                try:
                    _run_logged(["cmake", "-S", str(source), "-B", str(build_dir),
                                 f"-DCMAKE_INSTALL_PREFIX={prefix}", *cmake_flags()],
                                build_dir, log, env)
                    _run_logged(["nice", "-n", "10", "make", f"-j{jobs}"], build_dir, log, env)
                    _run_logged(["make", "install", f"DESTDIR={destdir}"], build_dir, log, env)
                except ReproError as exc:
                    log.flush()
                    kept = root / "logs" / f"{KIND}-{time.strftime('%Y%m%dT%H%M%S')}.log"
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(stage / "build.log", kept)
                    tail = "".join(kept.read_text(errors="replace").splitlines(True)[-30:])
                    raise ReproError(f"{exc}\n{tail}\n(full log: {kept})") from None
            tree = destdir / prefix.relative_to(prefix.anchor)
            shutil.move(stage / "build.log", tree / "build.log")
            # Probe the staged tree: its relative RPATHs work wherever it sits.
            probe = _probe_mpi(_site_packages(tree))
            if not probe["have_mpi"]:
                raise ReproError("NEST was built but reports have_mpi False; see "
                                 f"{tree / 'build.log'}")
            seconds = time.monotonic() - started
            checked = sorted(p.relative_to(tree).as_posix()
                             for p in tree.rglob("*.so*") if p.is_file() and not p.is_symlink())
            manifest = cache.install(tree, key, dict(
                facts, build_seconds=round(seconds, 1), jobs=jobs, probe=probe,
                built_at=utc_now()), checked)
            say(f"built in {seconds:.0f} s")
        return NestMpiBuild(prefix, _site_packages(prefix), key, manifest, False)


def main(argv: list[str] | None = None) -> int:
    """``python -m repro.nestml.nest_mpi``: the build step without repro's CLI (image builds).

    ``--link PATH`` makes ``PATH`` a symlink to the entry, so an image can name the build at
    a fixed place (``PATH/lib/python3.11/site-packages`` on PYTHONPATH).
    """
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("--version", default=DEFAULT_VERSION, help="NEST version")
    parser.add_argument("--sdist", type=Path, help="local nest_simulator-*.tar.gz")
    parser.add_argument("--cache-dir", type=Path, help="cache root")
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS)
    parser.add_argument("--link", type=Path, help="symlink to create to the entry")
    args = parser.parse_args(argv)
    try:
        built = ensure_nest_mpi(args.version, cache_root=args.cache_dir, sdist=args.sdist,
                                jobs=args.jobs, log_to=sys.stderr)
    except ReproError as exc:
        print(f"repro.nestml.nest_mpi: {exc}", file=sys.stderr)
        return exc.exit_code
    if args.link:
        args.link.unlink(missing_ok=True)
        args.link.symlink_to(built.prefix, target_is_directory=True)
    print(built.python_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
