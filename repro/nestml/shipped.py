"""The NESTML models shipped with repro: sPyNNaker cell models NEST lacks, for script runs.

The ``.nestml`` files in ``repro/nestml/models/`` are written from sPyNNaker 7.4.1's C
sources (each file says which). They are always built together into one NEST module, so
every script that needs any of them shares one cached build (see
:func:`repro.nestml.build.build_module`).
"""

from __future__ import annotations

from pathlib import Path

#: Where the shipped models live (package data).
MODELS_DIR = Path(__file__).resolve().parent / "models"


def shipped_sources() -> list[Path]:
    """Every shipped ``.nestml`` file, sorted by name."""
    return sorted(MODELS_DIR.glob("*.nestml"))


def shipped_models() -> dict[str, Path]:
    """``{NESTML model name: file}``; each file declares one model named like the file."""
    return {path.stem: path for path in shipped_sources()}
