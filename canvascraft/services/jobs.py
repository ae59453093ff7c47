"""Job actions for the CLI and the pages: launch a training job, list, follow, cancel, resume, wait.

Names are checked here, before a job is queued, so a typo fails at once with a clear message instead
of as a failed job a few seconds later. Torch and MLflow are imported only by the actions that need them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from canvascraft.errors import RecipeError, TrainingError
from canvascraft.jobs import TERMINAL, JobError, JobPool, JobState
from canvascraft.jobs.pool import log_tail
from canvascraft.store.models import Job

POLL_S = 0.5


def launch_training(
    dataset: str,
    recipe: str,
    trainer: str,
    *,
    epochs: int | None = None,
    hyper: dict[str, Any] | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    max_items: int | None = None,
) -> int:
    """Validate the names and settings, then queue a ``train`` job; returns its id."""
    from canvascraft.services.datasets import open_version
    from canvascraft.services.recipes import load_recipe, recipe_versions
    from canvascraft.training import get_trainer

    view = open_version(dataset)
    version = recipe_versions(recipe)[-1].version
    saved = load_recipe(recipe, version)
    if saved.modality != view.modality:
        raise RecipeError(
            [f"recipe {recipe!r} is for {saved.modality}, but dataset {dataset!r} holds {view.modality}; "
             f"pick a {view.modality} recipe"]
        )  # fmt: skip
    try:
        trainer_class = get_trainer(trainer)
    except KeyError as error:
        raise TrainingError(str(error.args[0])) from None
    if trainer_class.modality != view.modality:
        raise TrainingError(
            f"trainer {trainer!r} is for {trainer_class.modality}, but dataset {dataset!r} holds "
            f"{view.modality}; list trainers with `canvascraft trainers list`"
        )
    settings = {**(hyper or {}), **({"epochs": epochs} if epochs is not None else {})}
    checked = trainer_class(**settings).settings  # raises TrainingError naming every bad value
    if not 0.0 < val_fraction < 1.0:
        raise TrainingError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    if max_items is not None and max_items < 2:
        raise TrainingError(f"max_items must be at least 2, got {max_items}")
    spec = {
        "dataset": dataset,
        "dataset_version": view.version.number,
        "recipe": recipe,
        "recipe_version": version,
        "trainer": trainer,
        "hyper": checked,
        "val_fraction": val_fraction,
        "seed": seed,
        "max_items": max_items,
    }
    return JobPool().submit("train", spec)


def list_jobs(limit: int | None = None) -> list[Job]:
    """Newest first."""
    return JobPool().list_jobs(limit=limit)


def get_job(job_id: int) -> Job:
    return JobPool().get_job(job_id)


def job_log(job_id: int, tail: int | None = None) -> str:
    """The job's output so far ('' before it starts); ``tail`` keeps only the last lines."""
    job = JobPool().get_job(job_id)
    if not job.log_path or not Path(job.log_path).exists():
        return ""
    if tail is not None:
        return log_tail(job.log_path, tail) or ""
    return Path(job.log_path).read_text(encoding="utf-8", errors="replace")


def cancel_job(job_id: int) -> None:
    """Cancel a queued job at once, or ask a running one to stop; the next tick records it."""
    JobPool().cancel(job_id)


def resume_job(job_id: int) -> int:
    """Queue a new job that continues a finished one from its last checkpoint and MLflow run."""
    return JobPool().resume(job_id)


def wait_for(
    job_id: int, on_progress: Callable[[Job], None] | None = None, timeout_s: float | None = None
) -> Job:
    """Drive the pool until the job is final (no studio needed); ``on_progress`` sees each new progress."""
    pool = JobPool()
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    seen: Any = None
    while True:
        pool.tick()
        job = pool.get_job(job_id)
        if on_progress is not None and job.progress and job.progress != seen:
            seen = job.progress
            on_progress(job)
        if JobState(job.state) in TERMINAL:
            return job
        if deadline is not None and time.monotonic() > deadline:
            raise JobError(f"Job {job_id} is still {job.state} after {timeout_s:g} s; it keeps running.")
        time.sleep(POLL_S)


def list_runs(limit: int = 100) -> list[dict[str, Any]]:
    """Training runs from MLflow, newest first, with the final value of each metric."""
    from canvascraft.tracking.runs import DEFAULT_EXPERIMENT, tracking_client

    client = tracking_client()
    experiment = client.get_experiment_by_name(DEFAULT_EXPERIMENT)
    if experiment is None:
        return []
    runs = client.search_runs(
        [experiment.experiment_id], max_results=limit, order_by=["attributes.start_time DESC"]
    )
    return [
        {
            "run_id": run.info.run_id,
            "name": run.info.run_name,
            "status": run.info.status,
            "job_id": run.data.tags.get("canvascraft.job_id"),
            "dataset": run.data.params.get("dataset"),
            "recipe": run.data.params.get("recipe"),
            "recipe_version": run.data.params.get("recipe_version"),
            "trainer": run.data.params.get("trainer"),
            "metrics": dict(run.data.metrics),
        }
        for run in runs
    ]
