"""The one exception hierarchy of repro: every error names the file, field or target at fault."""

from __future__ import annotations

from pathlib import Path


class ReproError(Exception):
    """Base class of all errors repro reports to a user.

    Attributes
    ----------
    exit_code : int
        Process exit code the CLI uses for this error (2 = bad input, 1 = failure).
    """

    exit_code = 1


class InputError(ReproError):
    """Bad input from the user: a file, a field, a selection or an option.

    Parameters
    ----------
    message : str
        What is wrong, in one sentence.
    path : str or Path, optional
        The file at fault.
    field : str, optional
        Dotted name of the field at fault (``targets.local.threads``).
    line : int, optional
        Line number inside ``path`` where the parser gave one.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.field = field
        self.line = line
        super().__init__(self.describe())

    def describe(self) -> str:
        """Return ``file:line: field: message`` with the parts that are known."""
        where = ""
        if self.path:
            where = self.path + (f":{self.line}" if self.line else "")
        parts = [p for p in (where, f"field '{self.field}'" if self.field else "") if p]
        prefix = ": ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class ExperimentError(InputError):
    """An experiment file or its network script is invalid."""


class SelectionError(InputError):
    """A run selection matched nothing, or runs that cannot be compared."""


class IntegrityError(ReproError):
    """A crate or data file does not match its recorded checksum or structure."""

    exit_code = 1


class RunFailedError(ReproError):
    """A simulation run failed; its failed crate has been recorded."""

    exit_code = 1


class TargetError(ReproError):
    """A target could not submit, track or fetch a run (names the target)."""

    exit_code = 1


class SiteUnavailableError(TargetError):
    """A remote site gave no definite answer (5xx, dropped connections) after every attempt.

    The state of what was asked about is unknown, not gone.
    """

    exit_code = 1


class AuthenticationError(TargetError):
    """A remote service rejected the credentials (expired or missing token)."""
