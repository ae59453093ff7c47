"""The ``drift`` job kind (``python -m jobs.drift JOB_ID``): one queued drift check, run and stored.

When such a job ends without finishing its check (cancelled, killed, lost), the end hook marks the check
failed with the reason, so no check stays queued or running forever.
"""

from __future__ import annotations

from canvascraft.drift.queue import fail_unfinished
from canvascraft.jobs.kinds import JobKind, register_kind
from canvascraft.jobs.reasons import explain_ending
from canvascraft.jobs.states import JobState
from canvascraft.store.models import Job


def end_check(job: Job, state: JobState) -> None:
    reason = (
        "the check was cancelled before it finished; Run now checks again"
        if state == JobState.CANCELLED
        else explain_ending(job) or f"the check's job ended {state.value}"
    )
    fail_unfinished(int(job.spec["check_id"]), reason)


DRIFT = register_kind(
    JobKind(
        "drift",
        "jobs.drift",
        "Runs one drift check of a watched model.",
        end_check,
        preload=(
            "mlflow.store.tracking.sqlalchemy_store",
            "mlflow.pytorch",
            "canvascraft.services.drift",
            "canvascraft.gallery.predict",
            "canvascraft.drift.report",
            "canvascraft.events.observers",
        ),
    )
)
