"""The ``train`` job kind (``python -m jobs.train JOB_ID``) and what the pool does when one ends.

A job killed or lost cannot close its own MLflow run or tell anyone, so the end hook does it: the run is
closed as KILLED or FAILED, a study's trial is failed in Optuna, and a job that is not a trial
publishes ``TrainingCompleted``/``TrainingFailed``, registers its model when the spec asks
(``register_as``, with the alias ``champion``) and finishes the retrain it trained a candidate for.
Each step is idempotent and guarded: one failing step is logged and the others still run.
"""

from __future__ import annotations

import logging

from canvascraft.jobs.kinds import JobKind, register_kind
from canvascraft.jobs.reasons import explain_ending
from canvascraft.jobs.states import JobState
from canvascraft.store.models import Job

log = logging.getLogger(__name__)


def end_training(job: Job, state: JobState) -> None:
    if not job.spec.get("study"):
        _announce(job, state)
    if state == JobState.SUCCEEDED:
        return
    if job.mlflow_run_id:
        from canvascraft.tracking.runs import close_run

        close_run(job.mlflow_run_id, "KILLED" if state == JobState.CANCELLED else "FAILED")
    if study := job.spec.get("study"):
        from canvascraft.tuning.studies import fail_trial

        fail_trial(study["name"], int(study["number"]))


def _announce(job: Job, state: JobState) -> None:
    """Publish how the job ended, register its model when asked, and finish its retrain."""
    spec = job.spec
    common = {"dataset": str(spec.get("dataset")), "trainer": str(spec.get("trainer"))}
    try:
        from canvascraft.events import TrainingCompleted, TrainingFailed, publish

        if state == JobState.SUCCEEDED:
            event = TrainingCompleted(
                job_id=job.id, run_id=job.mlflow_run_id, metrics=_run_metrics(job), **common
            )
        else:
            reason = explain_ending(job) or f"the job ended {state.value}"
            event = TrainingFailed(job_id=job.id, reason=reason, **common)
        publish(event)
    except Exception:
        log.exception("could not publish the end of training job %s", job.id)
    if state == JobState.SUCCEEDED and spec.get("register_as") and job.mlflow_run_id:
        try:
            from canvascraft.gallery.registry import register

            register(job.mlflow_run_id, str(spec["register_as"]), alias="champion")
        except Exception:
            log.exception("could not register the model of job %s", job.id)
    if spec.get("retrain_id") is not None:
        try:
            from canvascraft.retrain.flow import finish_retrain

            finish_retrain(int(spec["retrain_id"]), job_id=job.id)
        except Exception:
            log.exception("could not finish retrain %s after job %s", spec["retrain_id"], job.id)


def _run_metrics(job: Job) -> tuple[tuple[str, float], ...]:
    """The run's final metrics, by name; none when the job has no run."""
    if not job.mlflow_run_id:
        return ()
    from canvascraft.tracking.runs import tracking_client

    metrics = tracking_client().get_run(job.mlflow_run_id).data.metrics
    return tuple(sorted((str(key), float(value)) for key, value in metrics.items()))


TRAIN = register_kind(
    JobKind(
        "train",
        "jobs.train",
        "Trains one model on a dataset version with a recipe.",
        end_training,
        preload=(
            "alembic.runtime.migration",
            "mlflow.store.tracking.sqlalchemy_store",
            "mlflow.pytorch",
            "torch._dynamo",  # the model is logged as a torch.export program
            "torchvision.models",
            "sklearn.metrics",
            "sklearn.linear_model",
            "optuna",
            "canvascraft.training.finish",
            "canvascraft.modalities.image",
            "canvascraft.modalities.audio",
            "canvascraft.modalities.table",
            "canvascraft.brushes.image",
            "canvascraft.brushes.audio",
            "canvascraft.brushes.table",
        ),
    )
)
