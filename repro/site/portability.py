"""Portability notes: what a script asked for, what the target did instead, and why.

Every adaptation the harness makes to run a script written for another simulator (an
sPyNNaker script on NEST, a ``pyNN.nest`` script on the SpiNNaker emulator) is one
:class:`PortabilityNote`. The harness writes them to ``result.json`` under ``"portability"``
and the run crate lists them, so a difference caused by an adaptation is never mistaken for a
simulator difference. A feature a target cannot run at all is a :class:`FeatureRefused`.

Standard library only (runs at execution sites).
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: Format tag of the notes list in ``result.json``.
NOTES_FORMAT = "repro.portability-notes/1"

#: Actions a note can record.
ACTIONS = ("translated", "ignored", "adapted", "refused", "pinned")


@dataclass(frozen=True)
class PortabilityNote:
    """One thing a script asked for that the target did differently.

    Attributes
    ----------
    feature : str
        What the script asked for, as it spelled it (``Population(seed=1)``).
    script_line : str
        ``file:line`` of the script statement that asked for it ("" when unknown).
    action : str
        One of :data:`ACTIONS`: ``translated`` (same meaning, another spelling), ``ignored``
        (no meaning on this target), ``adapted`` (changed so the target can run it),
        ``refused`` (cannot run here), ``pinned`` (the script fixes its own random seeds).
    detail : str
        What the target did instead, and why.
    numerical_effect : bool
        True when results may differ from what the script's own simulator computes.
    """

    feature: str
    script_line: str
    action: str
    detail: str
    numerical_effect: bool

    def line(self) -> str:
        """One-line human-readable form."""
        where = f"{self.script_line}: " if self.script_line else ""
        effect = "changes numerics" if self.numerical_effect else "no numerical effect"
        return f"{where}{self.feature} -> {self.action}: {self.detail} ({effect})"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PortabilityNote:
        """Inverse of ``dataclasses.asdict``."""
        return cls(feature=str(data.get("feature", "")),
                   script_line=str(data.get("script_line", "")),
                   action=str(data.get("action", "")), detail=str(data.get("detail", "")),
                   numerical_effect=bool(data.get("numerical_effect", False)))


class FeatureRefused(RuntimeError):  # noqa: N818 - reads as what happened
    """A script uses a feature the chosen target cannot run.

    Parameters
    ----------
    feature : str
        The feature, as the script spells it.
    script_line : str
        ``file:line`` of the statement.
    runs_on : str
        Which targets can run it (for example "nmpi (SpiNNaker hardware)").
    reason : str, optional
        Why this target cannot.
    """

    def __init__(self, feature: str, script_line: str, runs_on: str, reason: str = "") -> None:
        self.feature = feature
        self.script_line = script_line
        self.runs_on = runs_on
        self.reason = reason
        super().__init__(self.line())

    def line(self) -> str:
        """The one-line refusal: feature, script line, targets that can run it."""
        where = f"{self.script_line}: " if self.script_line else ""
        why = f" ({self.reason})" if self.reason else ""
        return f"{where}{self.feature} cannot run on this target{why}; runs on: {self.runs_on}"

    def to_dict(self) -> dict[str, str]:
        """JSON form for ``result.json``."""
        return {"feature": self.feature, "script_line": self.script_line,
                "runs_on": self.runs_on, "reason": self.reason}


class RefusedAttribute(FeatureRefused, AttributeError):  # noqa: N818 - as FeatureRefused
    """A refused simulator name: ``hasattr(sim, name)`` stays False, using it fails clearly."""


def script_line(script: Path | str | None) -> str:
    """``name:line`` of the innermost frame of the stack that executes ``script``.

    Returns "" when the script is not on the stack (or ``script`` is None).
    """
    if script is None:
        return ""
    wanted = str(Path(script).resolve())
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename == wanted:
            return f"{Path(wanted).name}:{frame.f_lineno}"
        frame = frame.f_back
    return ""


@dataclass
class NoteBook:
    """Collects the notes of one run, once per (feature, action): the first line is kept."""

    script: Path | None = None
    notes: list[PortabilityNote] = field(default_factory=list)

    def add(self, feature: str, action: str, detail: str, *, numerical_effect: bool,
            line: str | None = None) -> PortabilityNote:
        """Record a note (deduplicated) and emit it as a warning into the run log."""
        if action not in ACTIONS:
            raise ValueError(f"unknown portability action {action!r}")
        where = script_line(self.script) if line is None else line
        note = PortabilityNote(feature, where, action, detail, numerical_effect)
        if all((n.feature, n.action) != (feature, action) for n in self.notes):
            self.notes.append(note)
            warnings.warn(f"portability: {note.line()}", stacklevel=3)
        return note

    def refuse(self, feature: str, runs_on: str, reason: str = "", *,
               attribute: bool = False) -> FeatureRefused:
        """A :class:`FeatureRefused` for ``feature`` at the script's current line.

        ``attribute=True`` gives a :class:`RefusedAttribute` (for module ``__getattr__``).
        """
        kind = RefusedAttribute if attribute else FeatureRefused
        return kind(feature, script_line(self.script), runs_on, reason)

    def to_json(self) -> list[dict[str, Any]]:
        """The notes as plain dicts (for ``result.json``)."""
        return [asdict(note) for note in self.notes]
