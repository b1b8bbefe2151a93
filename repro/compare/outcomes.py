"""Names of comparison outcomes as types: the verdict of a cell or campaign, the class of a drift.

Both are ``StrEnum``: a member equals its word (``Verdict.PASS == "pass"``), so verdicts
stored in NetCDF, JSON summaries and crates stay the plain words the method document uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Verdict(StrEnum):
    """Verdict of one (population, statistic) cell or, as the worst of them, of a comparison.

    See ``docs/comparison-method.md`` for the rule that assigns it.

    Examples
    --------
    >>> Verdict.worst(["pass", "fail", "warn"])
    <Verdict.FAIL: 'fail'>
    >>> Verdict.WARN.severity, Verdict.WARN.style, Verdict.WARN.symbol
    (1, 'yellow', '⚠')
    """

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"

    @property
    def severity(self) -> int:
        """0 for pass, 1 for warn, 2 for fail: larger is worse."""
        return _SEVERITY[self]

    @property
    def style(self) -> str:
        """Rich console style the CLI prints the verdict in."""
        return _STYLE[self]

    @property
    def symbol(self) -> str:
        """One-character sign the report shows beside the verdict."""
        return _SYMBOL[self]

    @classmethod
    def worst(cls, verdicts: Iterable[str]) -> Verdict:
        """The most severe of ``verdicts``; ``WARN`` when there are none (nothing judged)."""
        members = [cls(v) for v in verdicts]
        return max(members, key=lambda v: v.severity) if members else cls.WARN

    @classmethod
    def of(cls, value: object) -> Verdict | None:
        """``value`` as a Verdict, or None when it is not one (e.g. ``"none"`` in a summary)."""
        try:
            return cls(str(value))
        except ValueError:
            return None


_SEVERITY = {Verdict.PASS: 0, Verdict.WARN: 1, Verdict.FAIL: 2}
_STYLE = {Verdict.PASS: "green", Verdict.WARN: "yellow", Verdict.FAIL: "bold red"}
_SYMBOL = {Verdict.PASS: "✔", Verdict.WARN: "⚠", Verdict.FAIL: "✖"}


class DriftClass(StrEnum):
    """What a change of environment did to the results of one model (see :mod:`.drift`)."""

    CONSISTENT = "consistent"
    BENIGN = "benign-drift"
    EFFECT = "drift-with-effect"
    NONDETERMINISM = "nondeterminism"
