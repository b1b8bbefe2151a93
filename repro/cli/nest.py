"""``repro nest``: build NEST itself (with MPI) into repro's build cache."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from repro.cli.common import JsonOption, console, print_json
from repro.errors import InputError
from repro.nestml.nest_mpi import DEFAULT_JOBS, DEFAULT_VERSION, ensure_nest_mpi

nest_app = typer.Typer(help="NEST builds: NEST with MPI from its source distribution.",
                       no_args_is_help=True)


@nest_app.command("build")
def build(
    mpi: bool = typer.Option(False, "--mpi", help="Build with MPI (the only kind for now)."),
    version: str = typer.Option(DEFAULT_VERSION, "--version", help="NEST version on PyPI."),
    sdist: Path | None = typer.Option(None, "--sdist", help="Local nest_simulator-*.tar.gz "
                                      "instead of downloading it with pip.", show_default=False),
    cache_dir: Path | None = typer.Option(
        None, "--cache-dir", help="Cache root (default: $REPRO_CACHE_DIR or ~/.cache/repro); "
                                  "the build goes to <root>/nest-mpi/<key>.", show_default=False),
    jobs: int = typer.Option(DEFAULT_JOBS, "--jobs", "-j", help="Parallel compiler processes."),
    as_json: JsonOption = False,
) -> None:
    """Build (or take from the cache) NEST with MPI and print where it is.

    The key is NEST's version and sdist hash, the compiler, MPI, CMake and Python versions and
    the CMake flags. A fresh build takes tens of minutes on two cores; later calls are cache
    hits. Use the build with `PYTHONPATH=<python path>` (printed) and `srun --mpi=pmix`.

    Example:

      repro nest build --mpi
    """
    if not mpi:
        raise InputError("only MPI builds are provided (the PyPI wheel is the non-MPI build); "
                         "pass --mpi", field="--mpi")
    result = ensure_nest_mpi(version, cache_root=cache_dir, sdist=sdist, jobs=jobs,
                             log_to=sys.stderr)
    if as_json:
        print_json(dict(result.manifest, prefix=str(result.prefix),
                        python_path=str(result.python_path), cache_hit=result.cache_hit))
        return
    state = "cache hit" if result.cache_hit else "built"
    console.print(f"NEST {version} with MPI: {state} "
                  f"(build took {result.manifest.get('build_seconds')} s)", highlight=False)
    console.print(f"prefix       {result.prefix}", highlight=False)
    console.print(f"PYTHONPATH   {result.python_path}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``repro nest``."""
    app.add_typer(nest_app, name="nest")
