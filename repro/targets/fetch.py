"""Fetch a finished run's outputs from a directory this machine can read."""

from __future__ import annotations

import shutil
from pathlib import Path

from repro.site.files import OUTPUT_FILES
from repro.site.script_outputs import SCRIPT_OUTPUTS

#: Files a target brings back from the harness output directory (whatever exists of them).
FETCHED_OUTPUTS = tuple(f.name for f in OUTPUT_FILES if f.writer == "harness")
#: Name under which a target keeps the output of whatever launched the harness.
LAUNCHER_LOG = "launcher.log"


def fetch_directory(output: Path, dest: Path, launcher_log: Path | None = None) -> None:
    """Copy the harness outputs in ``output`` (and a non-empty launcher log) into ``dest``.

    The files the script wrote (``script_outputs/``) come along as a whole.

    Parameters
    ----------
    output : Path
        The harness output directory.
    dest : Path
        Destination (created); nothing is written outside it.
    launcher_log : Path, optional
        Output of the launching process or batch job, kept as ``launcher.log``.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for name in FETCHED_OUTPUTS:
        if (output / name).is_file():
            shutil.copy2(output / name, dest / name)
    if (output / SCRIPT_OUTPUTS).is_dir():
        shutil.copytree(output / SCRIPT_OUTPUTS, dest / SCRIPT_OUTPUTS, symlinks=False,
                        dirs_exist_ok=True)
    if launcher_log is not None and launcher_log.is_file() and launcher_log.stat().st_size:
        shutil.copy2(launcher_log, dest / LAUNCHER_LOG)
