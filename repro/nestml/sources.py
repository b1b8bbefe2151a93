"""NESTML source files of an experiment: resolved, read once, hashed, and the models they define."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from repro.errors import InputError

_MODEL_LINE = re.compile(r"^\s*model\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*:", re.MULTILINE)


@dataclass(frozen=True)
class NestmlSource:
    """One ``.nestml`` file as it was read.

    Attributes
    ----------
    path : Path
        Absolute path of the file.
    name : str
        File name (the key NESTML reports errors under).
    sha256 : str
        Hex digest of the file's bytes.
    models : tuple of str
        Names of the models it declares (``model NAME:`` lines), in file order.
    """

    path: Path
    name: str
    sha256: str
    models: tuple[str, ...]


def resolve_sources(experiment_dir: str | Path,
                    nestml_paths: Sequence[str | Path]) -> list[NestmlSource]:
    """Resolve, read and hash the NESTML files of an experiment.

    Parameters
    ----------
    experiment_dir : str or Path
        Directory relative paths are resolved against.
    nestml_paths : sequence of str or Path
        The experiment's ``nestml`` list (relative or absolute paths).

    Returns
    -------
    list of NestmlSource
        In the order given.

    Raises
    ------
    InputError
        If the list is empty, a file is missing or unreadable, two files share a name (NESTML
        reports errors by file name only), or a file declares no model.
    """
    base = Path(experiment_dir).resolve()
    if not nestml_paths:
        raise InputError("no NESTML files given", path=base / "experiment.toml",
                         field="experiment.nestml")
    sources: list[NestmlSource] = []
    for given in nestml_paths:
        path = (base / Path(given)).resolve()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read NESTML file: {exc.strerror or exc}", path=path,
                             field="experiment.nestml") from None
        text = data.decode("utf-8", errors="replace")
        models = tuple(m.group("name") for m in _MODEL_LINE.finditer(text))
        if not models:
            raise InputError("declares no model (expected a line 'model NAME:')", path=path,
                             line=1)
        if any(s.name == path.name for s in sources):
            raise InputError(f"two NESTML files are named {path.name}; rename one",
                             path=path, field="experiment.nestml")
        sources.append(NestmlSource(path=path, name=path.name,
                                    sha256=hashlib.sha256(data).hexdigest(), models=models))
    return sources


def sources_digest(sources: Sequence[NestmlSource]) -> str:
    """Digest of the sources' names and contents, independent of their order."""
    digest = hashlib.sha256()
    for source in sorted(sources, key=lambda s: s.name):
        digest.update(f"{source.name}\0{source.sha256}\n".encode())
    return digest.hexdigest()


def model_source(sources: Sequence[NestmlSource], model: str) -> NestmlSource | None:
    """The source that declares ``model`` (None when no source does)."""
    return next((s for s in sources if model in s.models), None)
