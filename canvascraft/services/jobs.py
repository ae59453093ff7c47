"""Job actions for the CLI and the pages: launch a training job, list, follow, cancel, resume, wait.

Names are checked here, before a job is queued, so a typo fails at once with a clear message instead
of as a failed job a few seconds later. Torch and MLflow are imported only by the actions that need them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canvascraft.brushes.base import Param
from canvascraft.errors import RecipeError, TrainingError
from canvascraft.jobs import TERMINAL, JobError, JobPool, JobState
from canvascraft.jobs.pool import log_tail
from canvascraft.jobs.reasons import explain_ending
from canvascraft.store.models import Job
from canvascraft.training.progress import TrainingProgress

if TYPE_CHECKING:
    from canvascraft.jobs.checkpoints import CheckpointInfo
    from canvascraft.training.data import Member

POLL_S = 0.5
ACTIVE = frozenset({JobState.QUEUED, JobState.RUNNING})


def pool() -> JobPool:
    """The studio's job pool, with the bookkeeping a job that died cannot do for itself (``_after_job``)."""
    return JobPool(on_finish=_after_job)


def tick() -> None:
    """Record ended jobs and start queued ones (the studio's scheduler calls this every second)."""
    pool().tick()


def _after_job(job_id: int, state: JobState) -> None:
    """What a killed or lost job could not do: close its MLflow run; fail its Optuna trial; and for a
    study's driver, cancel the trials it left in flight. Each step is idempotent: a job that ended on
    its own has done it already. Then, for a training job (not a study's trial), publish how it ended and
    finish the retrain it was started for (see ``_after_training``)."""
    job = pool().get_job(job_id)
    if job.kind == "train" and not job.spec.get("study"):
        _after_training(job, state)
    if job.kind == "drift":
        from canvascraft.services.drift import fail_unfinished

        reason = (
            "the check was cancelled before it finished; Run now checks again"
            if state == JobState.CANCELLED
            else explain_ending(job) or f"the check's job ended {state.value}"
        )
        fail_unfinished(int(job.spec["check_id"]), reason)
    if state == JobState.SUCCEEDED:
        return
    if job.mlflow_run_id:
        _close_run(job.mlflow_run_id, "KILLED" if state == JobState.CANCELLED else "FAILED")
    if job.kind == "train" and job.spec.get("study"):
        from canvascraft.tuning.studies import fail_trial

        fail_trial(job.spec["study"]["name"], int(job.spec["study"]["number"]))
    if job.kind == "tune":
        from canvascraft.tuning.studies import lane

        jobs = pool()
        for trial_job in jobs.list_jobs(states={JobState.QUEUED, JobState.RUNNING}):
            if trial_job.lane == lane(job.spec["study"]):
                jobs.cancel(trial_job.id)


def _after_training(job: Job, state: JobState) -> None:
    """Publish ``TrainingCompleted``/``TrainingFailed`` and finish the job's retrain (``retrain_id`` in
    its spec). Each is guarded: an error is logged and never stalls the pool."""
    import logging

    log = logging.getLogger(__name__)
    spec = job.spec
    common = {"dataset": str(spec.get("dataset")), "trainer": str(spec.get("trainer"))}
    try:
        from canvascraft.events import TrainingCompleted, TrainingFailed, publish

        if state == JobState.SUCCEEDED:
            publish(
                TrainingCompleted(
                    job_id=job.id, run_id=job.mlflow_run_id, metrics=_run_metrics(job), **common
                )
            )
        else:
            reason = explain_ending(job) or f"the job ended {state.value}"
            publish(TrainingFailed(job_id=job.id, reason=reason, **common))
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
            from canvascraft.services.retrain import finish_retrain

            finish_retrain(int(spec["retrain_id"]), job_id=job.id)
        except Exception:
            log.exception("could not finish retrain %s after job %s", spec["retrain_id"], job.id)


def _run_metrics(job: Job) -> tuple[tuple[str, float], ...]:
    """The run's final metrics, by name; none when the job has no run or MLflow cannot be read."""
    if not job.mlflow_run_id:
        return ()
    from canvascraft.tracking.runs import tracking_client

    metrics = tracking_client().get_run(job.mlflow_run_id).data.metrics
    return tuple(sorted((str(key), float(value)) for key, value in metrics.items()))


def _close_run(run_id: str, status: str) -> None:
    from canvascraft.tracking.runs import tracking_client

    client = tracking_client()
    if client.get_run(run_id).info.status == "RUNNING":
        client.set_terminated(run_id, status=status)


@dataclass(frozen=True)
class TrainingJobView:
    """A training job as the Train page shows it: the row, its progress and a plain-words ending."""

    job: Job
    progress: TrainingProgress | None
    #: Why it ended, in plain words (``None`` while it runs or when it succeeded).
    ending: str | None
    checkpoints: list[CheckpointInfo]

    @property
    def active(self) -> bool:
        return JobState(self.job.state) in ACTIVE

    @property
    def resumable(self) -> bool:
        return self.job.state in (JobState.FAILED, JobState.CANCELLED, JobState.LOST)

    @property
    def title(self) -> str:
        spec = self.job.spec
        return f"#{self.job.id} · {spec.get('trainer')} on {spec.get('dataset')} · {spec.get('recipe')}"


def training_view(job_id: int) -> TrainingJobView:
    """Everything the job panel draws, read in one go (the page refreshes it every second or two)."""
    from canvascraft.jobs.checkpoints import list_checkpoints

    job = pool().get_job(job_id)
    if job.kind != "train":
        raise JobError(f"Job {job_id} is a {job.kind} job, not a training job.")
    return TrainingJobView(
        job=job,
        progress=TrainingProgress.from_dict(job.progress),
        ending=explain_ending(job),
        checkpoints=list_checkpoints(job_id),
    )


def list_training_jobs(limit: int | None = 100, *, trials: bool = True) -> list[TrainingJobView]:
    """Training jobs, newest first, without checkpoint details (cheap enough for every refresh).

    ``trials=False`` leaves out the jobs that run a study's trials: a study makes many, and the Train page
    lists studies on their own."""
    jobs = [
        job
        for job in pool().list_jobs(limit=limit if trials else None)
        if job.kind == "train" and (trials or not job.spec.get("study"))
    ]
    return [
        TrainingJobView(job, TrainingProgress.from_dict(job.progress), explain_ending(job), [])
        for job in jobs[:limit]
    ]


DEVICES = ("auto", "cpu", "cuda")


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
    pinned: list[int] | None = None,
    device: str = "auto",
    recipe_version: int | None = None,
    retrain_id: int | None = None,
    register_as: str | None = None,
) -> int:
    """Validate the names and settings, then queue a ``train`` job; returns its id.

    ``pinned``: validation items to watch each epoch (default: a few from every class, see
    ``validation_items``); ``device``: ``auto`` (CUDA when present), ``cpu`` or ``cuda``;
    ``recipe_version``: default the latest; ``retrain_id``: the retrain this job trains a candidate for
    (``canvascraft.services.retrain``), finished when the job ends; ``register_as``: register the run's
    model under this name with the alias ``champion`` when the job succeeds (the sample runs do, so a new
    workspace has models to try and watch)."""
    from canvascraft.services.datasets import open_version

    view = open_version(dataset)
    spec = _training_spec(
        dataset, view.version.number, recipe, trainer, {**(hyper or {}), **_epochs(epochs)},
        val_fraction, seed, max_items, pinned, device, recipe_version=recipe_version,
    )  # fmt: skip
    if retrain_id is not None:
        spec["retrain_id"] = retrain_id
    if register_as is not None:
        spec["register_as"] = register_as
    return pool().submit("train", spec)


def fork_job(
    job_id: int,
    *,
    checkpoint: str = "best",
    recipe: str | None = None,
    epochs: int | None = None,
    hyper: dict[str, Any] | None = None,
    device: str | None = None,
) -> int:
    """Queue a new training run that starts from one of a job's checkpoints, with a recipe and
    hyperparameters that may differ; the new run records which checkpoint it came from.

    The dataset version, split and pins stay the parent's, so metrics stay comparable; so do the
    hyperparameters that shape the model (its weights must fit)."""
    from canvascraft.jobs.checkpoints import CHECKPOINT_NAMES, list_checkpoints
    from canvascraft.training import LOOP_HYPERPARAMS, get_trainer

    parent = get_job(job_id)
    if parent.kind != "train":
        raise JobError(f"Job {job_id} is a {parent.kind} job; only training jobs can be forked.")
    if checkpoint not in CHECKPOINT_NAMES:
        raise JobError(f"checkpoint must be one of {', '.join(CHECKPOINT_NAMES)}, got {checkpoint!r}")
    if checkpoint not in {c.name for c in list_checkpoints(job_id)}:
        raise JobError(
            f"Job {job_id} has no {checkpoint} checkpoint yet (none is saved before its first epoch ends)."
        )
    old = parent.spec
    changed = {**(hyper or {}), **_epochs(epochs)}
    shaping = {p.name for p in get_trainer(old["trainer"]).hyperparams} - {p.name for p in LOOP_HYPERPARAMS}
    kept = old["hyper"]
    fixed = sorted(k for k in shaping & set(changed) if changed[k] != kept.get(k))
    if fixed:
        values = ", ".join(f"{k}={kept.get(k)}" for k in fixed)
        raise TrainingError(
            f"{', '.join(fixed)} shape the model, so a fork keeps the checkpoint's values ({values}); "
            "launch a new job to change them"
        )
    spec = _training_spec(
        old["dataset"], old["dataset_version"], recipe or old["recipe"], old["trainer"],
        {**old["hyper"], **changed}, old["val_fraction"], old["seed"], old.get("max_items"),
        old.get("pinned"), device or old.get("device") or "auto",
        recipe_version=None if recipe else old.get("recipe_version"),
    )  # fmt: skip
    spec["fork_from"] = {"job": job_id, "checkpoint": checkpoint}
    return pool().submit("train", spec)


def validation_items(
    dataset: str, val_fraction: float = 0.2, seed: int = 0, max_items: int | None = None
) -> tuple[list[Member], list[int]]:
    """The validation items a training job with these settings will hold out (latest version), and
    the default pins among them."""
    from canvascraft.training.data import validation_members
    from canvascraft.training.pinned import default_pins

    members = validation_members(dataset, val_fraction, seed, max_items=max_items)
    return members, default_pins(members)


def _epochs(epochs: int | None) -> dict[str, Any]:
    return {"epochs": epochs} if epochs is not None else {}


def _training_spec(
    dataset: str,
    dataset_version: int,
    recipe: str,
    trainer: str,
    hyper: dict[str, Any],
    val_fraction: float,
    seed: int,
    max_items: int | None,
    pinned: list[int] | None,
    device: str,
    *,
    recipe_version: int | None = None,
) -> dict[str, Any]:
    """A checked ``train`` job spec: every name, setting and pin is validated before a job exists."""
    from canvascraft.services.datasets import open_version
    from canvascraft.services.recipes import load_recipe, recipe_versions
    from canvascraft.training import get_trainer
    from canvascraft.training.data import validation_members
    from canvascraft.training.pinned import check_pins, default_pins

    view = open_version(dataset, dataset_version)
    version = recipe_version or recipe_versions(recipe)[-1].version
    saved = load_recipe(recipe, version)
    if saved.modality != view.modality:
        raise RecipeError(
            [f"recipe {recipe!r} is for {saved.modality}, but dataset {dataset!r} holds {view.modality}; "
             f"pick a {view.modality} recipe"]
        )  # fmt: skip
    trainer_class = get_trainer(trainer)  # an unknown name says the closest known ones
    if trainer_class.modality != view.modality:
        raise TrainingError(
            f"trainer {trainer!r} is for {trainer_class.modality}, but dataset {dataset!r} holds "
            f"{view.modality}; list trainers with `canvascraft trainers list`"
        )
    checked = trainer_class(**hyper).settings  # raises TrainingError naming every bad value
    if not 0.0 < val_fraction < 1.0:
        raise TrainingError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    if max_items is not None and max_items < 2:
        raise TrainingError(f"max_items must be at least 2, got {max_items}")
    members = validation_members(dataset, val_fraction, seed, version=dataset_version, max_items=max_items)
    pins = default_pins(members) if pinned is None else check_pins(pinned, members)
    return {
        "dataset": dataset,
        "dataset_version": dataset_version,
        "recipe": recipe,
        "recipe_version": version,
        "trainer": trainer,
        "hyper": checked,
        "val_fraction": val_fraction,
        "seed": seed,
        "max_items": max_items,
        "pinned": pins,
        "device": _checked_device(device),
    }


def _checked_device(device: str) -> str | None:
    """``None`` lets the job choose (CUDA when present); an explicit ``cuda`` needs a GPU here."""
    if device not in DEVICES:
        raise TrainingError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise TrainingError("no CUDA GPU is visible on this machine; choose device auto or cpu")
    return None if device == "auto" else device


def list_jobs(limit: int | None = None) -> list[Job]:
    """Newest first."""
    return pool().list_jobs(limit=limit)


def get_job(job_id: int) -> Job:
    return pool().get_job(job_id)


def job_log(job_id: int, tail: int | None = None) -> str:
    """The job's output so far ('' before it starts); ``tail`` keeps only the last lines."""
    job = pool().get_job(job_id)
    if not job.log_path or not Path(job.log_path).exists():
        return ""
    if tail is not None:
        return log_tail(job.log_path, tail) or ""
    return Path(job.log_path).read_text(encoding="utf-8", errors="replace")


def cancel_job(job_id: int) -> None:
    """Cancel a queued job at once, or ask a running one to stop; the next tick records it."""
    pool().cancel(job_id)


def resume_job(job_id: int) -> int:
    """Queue a new job that continues a finished one from its last checkpoint and MLflow run."""
    return pool().resume(job_id)


def wait_for(
    job_id: int, on_progress: Callable[[Job], None] | None = None, timeout_s: float | None = None
) -> Job:
    """Drive the pool until the job is final (no studio needed); ``on_progress`` sees each new progress."""
    jobs = pool()
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    seen: Any = None
    while True:
        jobs.tick()
        job = jobs.get_job(job_id)
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


@dataclass(frozen=True)
class TrainerInfo:
    """A trainer as the launch form offers it: its hyperparameters are what the form asks for."""

    name: str
    modality: str
    summary: str
    params: tuple[Param, ...]


def trainer_catalog(modality: str | None = None) -> list[TrainerInfo]:
    from canvascraft.training import all_trainers

    return [
        TrainerInfo(t.name, t.modality, t.summary, tuple(t.hyperparams))
        for t in all_trainers(modality)  # type: ignore[arg-type]
    ]
