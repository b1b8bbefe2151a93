"""Keep the files a script writes in its working directory as outputs of its run.

Scripts save plots, pickled neo blocks and connection lists next to where they run; for a
provenance record those files are part of the run. Before the script starts the harness
takes a :class:`Snapshot` of its working directory; afterwards :func:`collect` copies every
file that is new or changed into ``OUTPUT_DIR/script_outputs/`` (same relative paths) and
returns what it kept and what it skipped (over a size cap, a symbolic link), with the
reason. repro's own files in that directory (the bundle, the harness outputs, launcher and
batch logs, markers) are never collected. Site-side module: standard library only.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.site.envinfo import sha256_file

#: Folder of the harness output directory (and of the run crate) that receives the files.
SCRIPT_OUTPUTS = "script_outputs"
#: Largest file kept (bytes); override with the environment variable of the same name.
MAX_FILE_BYTES = 64 * 1024 * 1024
#: Most bytes kept in all; files beyond it are skipped in path order.
MAX_TOTAL_BYTES = 256 * 1024 * 1024
#: Most files kept; a script writing thousands of frames keeps the first ones only.
MAX_FILES = 1000
#: Environment variables that lower or raise the caps (bytes, files) at the site.
LIMIT_VARIABLES = {"max_file_bytes": "REPRO_SCRIPT_OUTPUTS_MAX_FILE_BYTES",
                   "max_total_bytes": "REPRO_SCRIPT_OUTPUTS_MAX_TOTAL_BYTES",
                   "max_files": "REPRO_SCRIPT_OUTPUTS_MAX_FILES"}
#: Names in the working directory that belong to repro or to the target, never the script:
#: the bundle's site packages and run spec, launcher and batch logs, job markers.
OWN_TOP_LEVEL = frozenset({"site", "run_spec.json", "launcher.log", "slurm.out",
                           "repro.started", "repro.exitcode", "repro.exitcode.part",
                           "stdout", "stderr", "spynnaker.cfg"})
#: Directory names skipped at any depth (interpreter caches, UNICORE's own).
OWN_DIRS = frozenset({"__pycache__", ".UNICORE_PRE_0", ".UNICORE_POST_0"})


def limits() -> dict[str, int]:
    """The caps in force: the defaults, or the environment's values where set."""
    found = {"max_file_bytes": MAX_FILE_BYTES, "max_total_bytes": MAX_TOTAL_BYTES,
             "max_files": MAX_FILES}
    for key, variable in LIMIT_VARIABLES.items():
        value = os.environ.get(variable, "").strip()
        if value.isdigit():
            found[key] = int(value)
    return found


def _own(relative: Path) -> bool:
    parts = relative.parts
    return (parts[0] in OWN_TOP_LEVEL or (len(parts) == 1 and parts[0].startswith("slurm-"))
            or any(part in OWN_DIRS for part in parts[:-1]) or relative.suffix == ".pyc")


@dataclass
class Snapshot:
    """Size and modification time of every file under ``root`` before the script ran."""

    root: Path
    exclude: Path
    files: dict[str, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def take(cls, root: Path, exclude: Path) -> Snapshot:
        """Snapshot ``root``, leaving out the harness output directory ``exclude``."""
        snapshot = cls(root.resolve(), exclude.resolve())
        for relative, stat in snapshot.walk():
            snapshot.files[relative.as_posix()] = (stat.st_size, stat.st_mtime_ns)
        return snapshot

    def walk(self) -> list[tuple[Path, os.stat_result]]:
        """``(relative path, lstat)`` of every file under the root that is not repro's."""
        found = []
        for directory, dirs, names in os.walk(self.root):
            here = Path(directory)
            top = here == self.root
            dirs[:] = sorted(d for d in dirs if (here / d).resolve() != self.exclude
                             and d not in OWN_DIRS and not (top and d in OWN_TOP_LEVEL))
            for name in sorted(names):
                relative = (here / name).relative_to(self.root)
                if not _own(relative):
                    found.append((relative, (here / name).lstat()))
        return found


def collect(snapshot: Snapshot, out_dir: Path) -> dict[str, Any]:
    """Copy the files the script created or changed into ``out_dir/script_outputs``.

    Returns
    -------
    dict
        ``{"directory", "limits", "files": [{path, size, sha256}], "skipped": [{path, size,
        reason}]}`` with paths relative to the working directory (and to ``script_outputs``).
    """
    caps = limits()
    kept: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    total = 0
    for relative, stat in snapshot.walk():
        key = relative.as_posix()
        if snapshot.files.get(key) == (stat.st_size, stat.st_mtime_ns):
            continue
        reason = ""
        if not os.path.isfile(snapshot.root / relative) or os.path.islink(
                snapshot.root / relative):
            reason = "not a regular file (a symbolic link or special file)"
        elif stat.st_size > caps["max_file_bytes"]:
            reason = f"larger than the per-file cap of {caps['max_file_bytes']} bytes"
        elif total + stat.st_size > caps["max_total_bytes"]:
            reason = f"would pass the total cap of {caps['max_total_bytes']} bytes"
        elif len(kept) >= caps["max_files"]:
            reason = f"beyond the cap of {caps['max_files']} files"
        if reason:
            skipped.append({"path": key, "size": stat.st_size, "reason": reason})
            continue
        dest = out_dir / SCRIPT_OUTPUTS / relative
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(snapshot.root / relative, dest)
        total += stat.st_size
        kept.append({"path": key, "size": dest.stat().st_size, "sha256": sha256_file(dest)})
    return {"directory": SCRIPT_OUTPUTS, "limits": caps, "files": kept, "skipped": skipped}


def skipped_note(collected: dict[str, Any]) -> str:
    """The run-result note naming the files not kept and why ("" when none were skipped)."""
    skipped = collected.get("skipped") or []
    if not skipped:
        return ""
    return (f"{len(skipped)} file(s) the script wrote were not kept in {SCRIPT_OUTPUTS}/: "
            + "; ".join(f"{item['path']} ({item['size']} bytes): {item['reason']}"
                        for item in skipped))
