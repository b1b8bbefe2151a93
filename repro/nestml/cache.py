"""Content-addressed cache of built NESTML artefacts, with atomic installation of new entries.

An entry is a directory ``<root>/<kind>/<key>/`` holding a ``manifest.json`` and the files it
lists with their sha256. Entries are built in ``<root>/staging/`` and renamed into place in
one step, so a reader sees either a complete entry or none; when two processes build the same
key, the first rename wins and the other discards its copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from repro.site.envinfo import sha256_file
from repro.site.files import read_json

MANIFEST = "manifest.json"


def default_cache_dir() -> Path:
    """``$REPRO_CACHE_DIR/nestml``, else ``$XDG_CACHE_HOME/repro/nestml`` or ``~/.cache/...``."""
    explicit = os.environ.get("REPRO_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser() / "nestml"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "repro" / "nestml"


def canonical_key(facts: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of ``facts`` (sorted keys, no whitespace)."""
    text = json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def tree_digest(directory: Path) -> tuple[str, dict[str, str]]:
    """Digest of every file under ``directory`` (relative path and content), and the list.

    Returns
    -------
    digest : str
        sha256 over the sorted ``path\\0sha256`` lines.
    files : dict
        ``{relative posix path: sha256}``.
    """
    files = {p.relative_to(directory).as_posix(): sha256_file(p)
             for p in sorted(directory.rglob("*")) if p.is_file()}
    digest = hashlib.sha256()
    for name, sha in sorted(files.items()):
        digest.update(f"{name}\0{sha}\n".encode())
    return digest.hexdigest(), files


class BuildCache:
    """A cache directory for one kind of artefact (``modules``, ``spinnaker``, ...).

    Parameters
    ----------
    root : Path
        Cache root (shared by all kinds).
    kind : str
        Sub-directory for this kind of entry.
    """

    def __init__(self, root: str | Path, kind: str) -> None:
        self.root = Path(root).expanduser().resolve()
        self.kind = kind

    def entry_dir(self, key: str) -> Path:
        """Where the entry for ``key`` lives (whether or not it exists)."""
        return self.root / self.kind / key

    def lookup(self, key: str) -> dict[str, Any] | None:
        """The manifest of a complete, intact entry for ``key``, or None.

        An entry whose files no longer match their recorded sha256 is removed, so the next
        build replaces it.
        """
        entry = self.entry_dir(key)
        manifest = read_json(entry / MANIFEST)
        if manifest is None:
            return None
        for name, sha in manifest.get("checked_files", {}).items():
            path = entry / name
            if not path.is_file() or sha256_file(path) != sha:
                self.discard(entry)
                return None
        return manifest

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A fresh private directory for building an entry; removed on exit if not installed."""
        stage = self.root / "staging" / f"{self.kind}-{os.getpid()}-{secrets.token_hex(4)}"
        stage.mkdir(parents=True)
        try:
            yield stage
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    def install(self, stage: Path, key: str, manifest: dict[str, Any],
                checked: list[str]) -> dict[str, Any]:
        """Write the manifest into ``stage`` and move it into place as the entry for ``key``.

        Parameters
        ----------
        stage : Path
            Directory from :meth:`staging` holding the entry's files.
        key : str
            Cache key.
        manifest : dict
            Facts to record; ``key`` and ``checked_files`` are added.
        checked : list of str
            Entry-relative files whose sha256 is verified on every lookup.

        Returns
        -------
        dict
            The manifest of the installed entry (another process's when it won the race).
        """
        manifest = dict(manifest, key=key,
                        checked_files={name: sha256_file(stage / name) for name in checked})
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True),
                                      encoding="utf-8")
        entry = self.entry_dir(key)
        entry.parent.mkdir(parents=True, exist_ok=True)
        moved = stage.with_name(stage.name + ".ready")
        stage.rename(moved)
        try:
            moved.rename(entry)
        except OSError:
            shutil.rmtree(moved, ignore_errors=True)
            existing = self.lookup(key)
            if existing is None:
                raise
            return existing
        return manifest

    def discard(self, entry: Path) -> None:
        """Remove an entry atomically (rename away first, then delete)."""
        trash = self.root / "staging" / f"discard-{os.getpid()}-{secrets.token_hex(4)}"
        trash.parent.mkdir(parents=True, exist_ok=True)
        try:
            entry.rename(trash)
        except OSError:
            return
        shutil.rmtree(trash, ignore_errors=True)
