"""One retry policy for requests to remote sites: attempts, growing delays, a classifier.

Every remote target kind supplies only what differs: a *classifier* that sorts its client's
exceptions into :class:`Fault` kinds (an expired token is ``AUTH``, a 5xx answer or a
dropped connection ``TRANSIENT``, a refusal ``FATAL``), the words of its errors, and for
requests that create something on the site a *created* hook ("did the site create it
already?") that is asked after every transient failure, so a lost reply never leads to a
second job. Retries are counted in the :class:`FaultLog` of the run being worked on (see
:func:`recording`), which ends up in the run's crate.
"""

from __future__ import annotations

import contextlib
import enum
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from repro.errors import SiteUnavailableError, TargetError

T = TypeVar("T")


class Fault(enum.Enum):
    """What a failed request means."""

    AUTH = "auth"            # the credentials were refused: never retried
    TRANSIENT = "transient"  # 5xx, 429, dropped connection, timeout: retried
    MISSING = "missing"      # the site says the thing does not exist (404)
    FATAL = "fatal"          # anything else: not retried


@dataclass(frozen=True)
class Classified:
    """A failed request sorted by a target kind's classifier."""

    fault: Fault
    message: str
    status: int | None = None


#: ``classify(exc)`` -> :class:`Classified`, or None for exceptions that pass through unchanged.
Classifier = Callable[[BaseException], Classified | None]
#: ``fail(found, attempts)`` -> the exception to raise after the last attempt.
Failure = Callable[[Classified, int], Exception]


@dataclass
class FaultLog:
    """Retries and outages met while working on one run (recorded in its crate).

    An *outage* is a stretch of status probes that got no definite answer; it starts at the
    first failed probe and ends at the next answered one.
    """

    retries: int = 0
    outages: int = 0
    outage_s: float = 0.0
    outage_started: float | None = None
    last_problem: str = ""

    def probe_failed(self, problem: str, now: float) -> float:
        """Note a status probe without a definite answer; return the outage's length so far."""
        self.last_problem = problem
        if self.outage_started is None:
            self.outages += 1
            self.outage_started = now
        return now - self.outage_started

    def probe_answered(self, now: float) -> None:
        """Note a definite answer: an outage in progress ends."""
        if self.outage_started is not None:
            self.outage_s += now - self.outage_started
            self.outage_started = None

    def facts(self) -> dict[str, Any]:
        """Job facts for the crate: ``remote_retries``, ``remote_outages``, ``remote_outage_s``."""
        return {"remote_retries": self.retries, "remote_outages": self.outages,
                "remote_outage_s": round(self.outage_s, 1)}


_RECORDING: ContextVar[tuple[FaultLog, float] | None] = ContextVar("repro_fault_log",
                                                                   default=None)


@contextlib.contextmanager
def recording(log: FaultLog, patience_s: float = 0.0) -> Iterator[FaultLog]:
    """Count the retries of every :meth:`RetryPolicy.call` inside the block into ``log``.

    Parameters
    ----------
    log : FaultLog
        The run's log.
    patience_s : float
        Inside the block, transient faults are retried beyond a policy's attempts until
        this long has passed since the first try (for work that must not be lost to a
        short outage, such as fetching a finished run's outputs).
    """
    token = _RECORDING.set((log, patience_s))
    try:
        yield log
    finally:
        _RECORDING.reset(token)


@contextlib.contextmanager
def impatient() -> Iterator[None]:
    """Inside, requests get only their policy's attempts (still counted in the current log):
    for clean-up after a failure or an interrupt, which must not wait out an outage."""
    current = _RECORDING.get()
    token = _RECORDING.set((current[0], 0.0) if current is not None else None)
    try:
        yield
    finally:
        _RECORDING.reset(token)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is repeated.

    Parameters
    ----------
    attempts : int
        Tries in total (1 = no retry).
    first_delay_s, max_delay_s : float
        Wait before the first retry; every further wait is ``growth`` times longer, capped.
    growth : float
        Factor between successive waits.
    """

    attempts: int
    first_delay_s: float
    max_delay_s: float
    growth: float = 2.0

    def delay_s(self, retry: int) -> float:
        """Wait before retry number ``retry`` (0 = the first retry)."""
        return min(self.max_delay_s, self.first_delay_s * self.growth ** retry)

    def once(self) -> RetryPolicy:
        """The same policy without retries."""
        return RetryPolicy(1, self.first_delay_s, self.max_delay_s, self.growth)

    def call(self, action: Callable[[], T], classify: Classifier, fail: Failure, *,
             created: Callable[[], T | None] | None = None) -> T:
        """Run ``action``; repeat it after transient faults.

        Parameters
        ----------
        action : callable
            The request.
        classify : callable
            Sorts an exception of ``action`` (None: re-raise it unchanged).
        fail : callable
            Builds the error raised for an ``AUTH``, ``MISSING`` or ``FATAL`` fault, or when
            the attempts are used up.
        created : callable, optional
            For requests that create something: asked after each transient failure; a
            non-None answer (the thing the site made although the reply was lost) is
            returned instead of repeating the request.

        Raises
        ------
        Exception
            What ``fail`` builds (see :func:`unavailable` for the usual choice).
        """
        log, patience_s = _RECORDING.get() or (None, 0.0)
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                return action()
            except Exception as exc:
                found = classify(exc)
                if found is None:
                    raise
                if found.fault is Fault.TRANSIENT and created is not None:
                    existing = created()
                    if existing is not None:
                        return existing
                patient = self.attempts > 1 and time.monotonic() - started < patience_s
                if found.fault is not Fault.TRANSIENT or (attempt >= self.attempts
                                                          and not patient):
                    raise fail(found, attempt) from None
            if log is not None:
                log.retries += 1
            time.sleep(self.delay_s(attempt - 1))


def unavailable(found: Classified, message: str) -> TargetError:
    """``message`` as the error of ``found``: unavailable when the fault was transient."""
    cls = SiteUnavailableError if found.fault is Fault.TRANSIENT else TargetError
    return cls(message)
