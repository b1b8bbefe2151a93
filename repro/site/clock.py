"""UTC timestamps in the one format repro records: ISO 8601 with an explicit ``+00:00``.

Site-side module: standard library only.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now(timespec: str = "seconds") -> str:
    """The current time in UTC, e.g. ``2026-01-01T12:00:00+00:00`` (``timespec`` as isoformat)."""
    return datetime.now(UTC).isoformat(timespec=timespec)


def utc_iso(timestamp: str) -> str:
    """``timestamp`` (ISO 8601, ``Z`` allowed, naive = UTC) in UTC to the second.

    >>> utc_iso("2026-01-01T13:00:00.5+01:00")
    '2026-01-01T12:00:00+00:00'
    """
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")
