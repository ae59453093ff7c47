"""The ``tune`` job kind (``python -m jobs.tune JOB_ID``): a study's driver, which runs its trials as
``train`` jobs in the study's lane.

A driver that was killed or lost cannot tidy up after itself, so the end hook closes the study's MLflow
run and cancels the trials it left queued or running (their own end hooks then fail them in Optuna).
"""

from __future__ import annotations

from canvascraft.jobs.kinds import JobKind, register_kind
from canvascraft.jobs.states import JobState
from canvascraft.store.models import Job


def end_study(job: Job, state: JobState) -> None:
    if state == JobState.SUCCEEDED:
        return
    from canvascraft.jobs.pool import JobPool
    from canvascraft.tuning.studies import lane

    if job.mlflow_run_id:
        from canvascraft.tracking.runs import close_run

        close_run(job.mlflow_run_id, "KILLED" if state == JobState.CANCELLED else "FAILED")
    jobs = JobPool()
    for trial_job in jobs.list_jobs(states={JobState.QUEUED, JobState.RUNNING}):
        if trial_job.lane == lane(job.spec["study"]):
            jobs.cancel(trial_job.id)


TUNE = register_kind(
    JobKind(
        "tune",
        "jobs.tune",
        "Drives one tuning study's trials.",
        end_study,
        preload=("optuna", "mlflow.store.tracking.sqlalchemy_store"),
    )
)
