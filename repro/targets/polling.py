"""When to ask about a submitted job again, and what an unanswered question means.

One schedule for the dispatcher and every remote target kind: ask, then wait ``start_s``;
while the answer stays the same, wait 1.5 times longer each time, up to ``max_s``; a changed
answer starts again from ``start_s``. :func:`polled_status` applies it to a target's status
probe: between due times the last answer is repeated, and a probe that gets no definite
answer from the site (:class:`~repro.errors.SiteUnavailableError`) makes the job's state
``UNKNOWN`` (never gone) and is counted as an outage in the run's :class:`FaultLog`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from repro.errors import SiteUnavailableError
from repro.targets.base import JobHandle, JobState, JobStatus
from repro.targets.retry import FaultLog, recording

#: Factor by which the wait grows while a job's state does not change.
GROWTH = 1.5


@dataclass
class PollSchedule:
    """Due times of one job's status probes (``time.monotonic`` clock)."""

    start_s: float
    max_s: float
    next_at: float = 0.0
    interval_s: float = field(init=False)

    def __post_init__(self) -> None:
        self.interval_s = self.start_s

    def due(self, now: float) -> bool:
        """True when the job should be asked again."""
        return now >= self.next_at

    def polled(self, now: float, changed: bool) -> None:
        """Schedule the next probe after one at ``now`` (``changed``: the answer changed)."""
        self.interval_s = self.start_s if changed else min(self.interval_s * GROWTH,
                                                           self.max_s)
        self.next_at = now + self.interval_s


def fault_log(handle: JobHandle) -> FaultLog:
    """The :class:`FaultLog` of the run behind ``handle`` (created on first use)."""
    log = handle.state.get("faults")
    if not isinstance(log, FaultLog):
        log = handle.state["faults"] = FaultLog()
    return log


def record_faults(handle: JobHandle, log: FaultLog | None = None) -> None:
    """Copy the retry and outage counts into the job facts (and so into the crate)."""
    handle.info.update((log or fault_log(handle)).facts())


def polled_status(handle: JobHandle, schedule: Callable[[], PollSchedule],
                  probe: Callable[[], JobStatus], outage_limit_s: float) -> JobStatus:
    """The job's status, asking ``probe`` only when the schedule says it is due.

    Parameters
    ----------
    handle : JobHandle
        The job; its ``state`` keeps the schedule, the last answer and the fault log.
    schedule : callable
        Makes the job's :class:`PollSchedule` on the first call.
    probe : callable
        Asks the site; raises :class:`~repro.errors.SiteUnavailableError` when the site gave
        no definite answer.
    outage_limit_s : float
        How long an outage may last before the run is given up as unknown.

    Raises
    ------
    SiteUnavailableError
        When the site has not answered definitely for longer than ``outage_limit_s``.
    """
    state = handle.state
    if "poll" not in state:
        state["poll"] = schedule()
    poll: PollSchedule = state["poll"]
    log = fault_log(handle)
    last: JobStatus | None = state.get("status")
    now = time.monotonic()
    if last is not None and not poll.due(now):
        return last
    try:
        with recording(log):
            status = probe()
    except SiteUnavailableError as exc:
        lasted = log.probe_failed(str(exc), now)
        record_faults(handle, log)
        if lasted > outage_limit_s:
            log.probe_answered(now)
            record_faults(handle, log)
            raise SiteUnavailableError(
                f"{exc}; no definite answer about job {handle.job_id} for {lasted:.0f} s "
                f"(outage_limit {outage_limit_s:g} s): its state is unknown and it may still "
                "be on the site") from None
        poll.polled(now, changed=False)
        status = JobStatus(JobState.UNKNOWN, f"state unknown, site not answering: {exc}")
        state["status"] = status
        return status
    log.probe_answered(now)
    record_faults(handle, log)
    poll.polled(now, changed=last is None or last.state is not status.state)
    state["status"] = status
    return status
