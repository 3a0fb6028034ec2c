"""The job state machine.

    queued ──> submitted ──> running ──> succeeded
      │            │            ├──────> failed
      │            │            └──────> cancelled
      │            ├──> succeeded | failed | cancelled   (fast prompts skip `running`)
      │            └──> queued      (backend lost it / unreachable: retry elsewhere)
      ├──> failed | cancelled       (bad template, cancelled before it was sent)
    running ──> queued              (backend died mid-job: retry elsewhere)
    failed | cancelled ──> queued   (explicit `retry`)

`succeeded` is final. Anything else raises `JobStateError` naming both states.
"""

from __future__ import annotations

from enum import StrEnum

from orchestrator.errors import JobStateError

__all__ = ["TERMINAL_STATES", "TRANSITIONS", "JobState", "can_transition", "check_transition"]


class JobState(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    SUBMITTED = "submitted"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """True once the job will not change again without an explicit retry."""
        return self in TERMINAL_STATES


TERMINAL_STATES: frozenset[JobState] = frozenset(
    {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED}
)

TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.SUBMITTED, JobState.FAILED, JobState.CANCELLED}),
    JobState.SUBMITTED: frozenset(
        {
            JobState.RUNNING,
            JobState.SUCCEEDED,
            JobState.FAILED,
            JobState.CANCELLED,
            JobState.QUEUED,
        }
    ),
    JobState.RUNNING: frozenset(
        {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.QUEUED}
    ),
    JobState.SUCCEEDED: frozenset(),
    JobState.FAILED: frozenset({JobState.QUEUED}),
    JobState.CANCELLED: frozenset({JobState.QUEUED}),
}


def can_transition(current: JobState, target: JobState) -> bool:
    """Whether `current -> target` is in the table."""
    return target in TRANSITIONS[current]


def check_transition(current: JobState, target: JobState, job_id: str = "?") -> None:
    """Raise `JobStateError` unless `current -> target` is legal.

    Args:
        current: The job's state now.
        target: The state asked for.
        job_id: Named in the message.
    """
    if not can_transition(current, target):
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing (final)"
        raise JobStateError(
            f"job {job_id}: cannot go from {current.value!r} to {target.value!r}; "
            f"from {current.value!r} it may go to: {allowed}"
        )
