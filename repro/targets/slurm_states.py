"""Slurm job states and what they mean for a run: one table for every target that reads them.

Used by the ``slurm`` target (``scontrol``/``sacct``/jobcomp records) and by the ``unicore``
target's batch mode (``squeue`` on the login node). ``SPECIAL_EXIT`` is a requeued job held
for the user, so it is not final anywhere; ``REQUEUED`` and friends likewise.
"""

from __future__ import annotations

from repro.targets.base import JobState

#: Slurm job state -> repro job state.
STATES: dict[str, JobState] = {
    "PENDING": JobState.QUEUED, "CONFIGURING": JobState.QUEUED, "REQUEUED": JobState.QUEUED,
    "REQUEUE_HOLD": JobState.QUEUED, "REQUEUE_FED": JobState.QUEUED,
    "RESV_DEL_HOLD": JobState.QUEUED, "SPECIAL_EXIT": JobState.QUEUED,
    "RUNNING": JobState.RUNNING, "COMPLETING": JobState.RUNNING, "SUSPENDED": JobState.RUNNING,
    "STOPPED": JobState.RUNNING, "SIGNALING": JobState.RUNNING, "STAGE_OUT": JobState.RUNNING,
    "RESIZING": JobState.RUNNING,
    "COMPLETED": JobState.DONE,
    "CANCELLED": JobState.CANCELLED,
    "FAILED": JobState.FAILED, "TIMEOUT": JobState.FAILED, "NODE_FAIL": JobState.FAILED,
    "OUT_OF_MEMORY": JobState.FAILED, "BOOT_FAIL": JobState.FAILED,
    "DEADLINE": JobState.FAILED, "PREEMPTED": JobState.FAILED, "REVOKED": JobState.FAILED,
}
#: Plain words for the states that end a job without success.
STATE_WORDS = {
    "FAILED": "the job failed",
    "TIMEOUT": "the job reached its time limit",
    "NODE_FAIL": "a node of the job failed",
    "OUT_OF_MEMORY": "the job ran out of memory",
    "BOOT_FAIL": "the job's nodes failed to boot",
    "DEADLINE": "the job reached its deadline",
    "PREEMPTED": "the job was preempted",
    "CANCELLED": "the job was cancelled",
}


def is_final(state: str) -> bool:
    """True for a Slurm state after which the job will not run or write anything any more.

    Examples
    --------
    >>> is_final("TIMEOUT"), is_final("SPECIAL_EXIT"), is_final("SOMETHING_NEW")
    (True, False, False)
    """
    mapped = STATES.get(state)
    return mapped is not None and mapped.terminal
