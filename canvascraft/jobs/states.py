"""The job state machine, kept as data so the pool, the pages and the tests read one table.

queued → running → succeeded | failed | cancelled | lost; a queued job can also be cancelled before it
ever starts. Terminal states never change again: a retry is a new job (``JobPool.resume``).
"""

from __future__ import annotations

from enum import StrEnum

from canvascraft.errors import IllegalTransitionError, JobError


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LOST = "lost"


TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.CANCELLED}),
    JobState.RUNNING: frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.LOST}),
    JobState.SUCCEEDED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
    JobState.LOST: frozenset(),
}

TERMINAL: frozenset[JobState] = frozenset(state for state, targets in TRANSITIONS.items() if not targets)


def check_transition(current: str, target: str, job_id: int | None = None) -> None:
    """Raise ``IllegalTransitionError`` unless ``current → target`` is in ``TRANSITIONS``."""
    try:
        source, destination = JobState(current), JobState(target)
    except ValueError as error:
        raise JobError(
            f"Unknown job state in '{current}' → '{target}'; use one of {list(JobState)}."
        ) from error
    if destination not in TRANSITIONS[source]:
        allowed = ", ".join(sorted(TRANSITIONS.get(source, ()))) or "nothing (it is final)"
        raise IllegalTransitionError(job_id, source, destination, allowed)
