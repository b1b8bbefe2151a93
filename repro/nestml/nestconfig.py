"""The NEST installation and C++ compiler an extension module is built against.

The ``nest-config`` shipped in the PyPI ``nest-simulator`` wheel still reports the paths of
the machine that built the wheel (a temporary prefix, a devtoolset ``g++``, libraries under
``/usr/lib64``). :func:`write_nest_config` writes a corrected one that reports the installed
include directory (``<site-packages>/nest/include/nest``) and the local compiler, and adds
``-D_GLIBCXX_USE_CXX11_ABI=0`` because the wheel is built with the old C++ string ABI
(without it, ``nest.Install`` fails with an undefined symbol reported as "file not found").
Nothing here imports ``nest``: everything is read from files, so a cache lookup stays fast.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from repro.errors import ReproError

#: The wheel is built with the pre-C++11 std::string ABI; modules must match it.
OLD_ABI_FLAG = "-D_GLIBCXX_USE_CXX11_ABI=0"
#: Used when the installed nest-config cannot be run (same as the 3.10 wheel's).
DEFAULT_CFLAGS = ("-Wall", "-fopenmp", "-O2", "-O3", "-DNDEBUG", "-std=c++20")
#: Flags of the wheel's nest-config that only concern its own build terminal.
_DROPPED_FLAGS = ("-fdiagnostics-color",)
#: Debian packages providing the programs and headers a module build needs.
DEBIAN_PACKAGES = {"g++": "g++", "cmake": "cmake", "make": "make",
                   "boost": "libboost-dev", "gsl": "libgsl-dev", "ltdl": "libltdl-dev"}


@dataclass(frozen=True)
class NestToolchain:
    """Everything a module build depends on besides the model sources.

    Attributes
    ----------
    nest_version : str
        Version of the installed ``nest-simulator`` distribution.
    nest_package_dir : Path
        ``<site-packages>/nest``.
    include_dir : Path
        NEST's C++ headers (``<site-packages>/nest/include/nest``).
    compiler : Path
        The C++ compiler (``$CXX`` or ``g++`` on ``PATH``).
    compiler_version : str
        ``g++ -dumpfullversion`` (or the first line of ``--version``).
    flags : tuple of str
        Compiler flags given to every module source.
    cmake, make : Path
        Build programs.
    """

    nest_version: str
    nest_package_dir: Path
    include_dir: Path
    compiler: Path
    compiler_version: str
    flags: tuple[str, ...]
    cmake: Path
    make: Path

    def describe(self) -> dict[str, object]:
        """JSON-ready facts for records (no machine-specific paths beyond the compiler)."""
        return {"nest_version": self.nest_version, "compiler": str(self.compiler),
                "compiler_version": self.compiler_version, "flags": list(self.flags)}


def _program(name: str, env_var: str | None = None) -> Path:
    wanted = os.environ.get(env_var, "") if env_var else ""
    found = shutil.which(wanted or name)
    if not found:
        package = DEBIAN_PACKAGES.get(name, name)
        raise ReproError(f"building NESTML modules needs '{wanted or name}', which is not on "
                         f"PATH (Debian package: {package})")
    return Path(found)


def _compiler_version(compiler: Path) -> str:
    for args in (["-dumpfullversion"], ["--version"]):
        try:
            out = subprocess.run([str(compiler), *args], capture_output=True, text=True,
                                 timeout=30, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            continue
        if out:
            return out.splitlines()[0]
    raise ReproError(f"cannot run the C++ compiler {compiler}")


def _installed_cflags(package_dir: Path) -> tuple[str, ...]:
    """Compiler flags recorded by the installed nest-config, without terminal-only ones."""
    candidates = [package_dir.parents[3] / "bin" / "nest-config",
                  Path(sys.prefix) / "bin" / "nest-config"]
    found = shutil.which("nest-config")
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if not candidate.is_file():
            continue
        try:
            out = subprocess.run(["sh", str(candidate), "--cflags"], capture_output=True,
                                 text=True, timeout=30, check=True).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        flags = tuple(f for f in shlex.split(out) if not f.startswith(_DROPPED_FLAGS))
        if flags:
            return flags
    return DEFAULT_CFLAGS


def find_toolchain() -> NestToolchain:
    """Locate NEST (without importing it), the compiler and the build programs.

    Raises
    ------
    ReproError
        If NEST is not installed, ships no headers, or a program is missing (the message
        names the Debian package to install).
    """
    spec = importlib.util.find_spec("nest")
    if spec is None or not spec.origin:
        raise ReproError("NEST is not installed in this Python environment "
                         "(pip install nest-simulator)")
    package_dir = Path(spec.origin).resolve().parent
    include_dir = package_dir / "include" / "nest"
    if not (include_dir / "config.h").is_file():
        raise ReproError(f"the NEST installation at {package_dir} ships no C++ headers "
                         f"({include_dir}); NESTML modules cannot be built against it")
    try:
        nest_version = version("nest-simulator")
    except PackageNotFoundError:
        nest_version = "unknown"
    compiler = _program("g++", "CXX")
    flags = (*(f for f in _installed_cflags(package_dir) if f != OLD_ABI_FLAG), OLD_ABI_FLAG)
    return NestToolchain(
        nest_version=nest_version, nest_package_dir=package_dir, include_dir=include_dir,
        compiler=compiler, compiler_version=_compiler_version(compiler), flags=flags,
        cmake=_program("cmake"), make=_program("make"))


def nest_config_script(toolchain: NestToolchain) -> str:
    """Text of a ``nest-config`` reporting the installed headers and the local compiler.

    ``--libs`` is empty: an extension module is loaded into the process that already holds
    NEST's kernel, so its symbols resolve there.
    """
    answers = {
        "--prefix": str(toolchain.nest_package_dir),
        "--exec-prefix": str(toolchain.nest_package_dir),
        "--includes": f"-I{toolchain.include_dir}",
        "--cflags": " ".join(toolchain.flags),
        "--libs": "",
        "--compiler": str(toolchain.compiler),
        "--compiler-name": "GNU",
        "--compiler-version": toolchain.compiler_version,
        "--static-libraries": "OFF",
        "--libdir": "lib",
        "--version": toolchain.nest_version,
    }
    cases = "\n".join(f"    {option}) echo {shlex.quote(value)} ;;"
                      for option, value in answers.items())
    return ("#!/bin/sh\n"
            "# nest-config written by repro.nestml for the installed NEST "
            f"{toolchain.nest_version}\n"
            "[ $# -gt 0 ] || exit 1\n"
            "for option in \"$@\"; do\n"
            "  case \"$option\" in\n"
            f"{cases}\n"
            "    *) echo \"nest-config: unknown option $option\" >&2; exit 1 ;;\n"
            "  esac\n"
            "done\n")


def write_nest_config(root: Path, toolchain: NestToolchain) -> Path:
    """Write the corrected ``nest-config`` under ``root``; return the file.

    The file lives in ``root/nest-config/<digest of its text>/bin/nest-config``, so every
    toolchain has its own and a written one is never changed.
    """
    text = nest_config_script(toolchain)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = root / "nest-config" / digest / "bin" / "nest-config"
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".nest-config.{os.getpid()}")
        tmp.write_text(text)
        tmp.chmod(0o755)
        os.replace(tmp, path)
    return path
