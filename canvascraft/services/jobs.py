"""Job actions for the CLI and the pages: launch a training job, list, follow, cancel, resume, wait.

Launching is ``canvascraft.training.launch`` (names and settings checked before a job exists); what
happens when a job ends belongs to its kind (``canvascraft.jobs.kinds``). Torch and MLflow are imported
only by the actions that need them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canvascraft.brushes.base import Param
from canvascraft.errors import TrainingError
from canvascraft.jobs import TERMINAL, JobError, JobPool, JobState
from canvascraft.jobs.pool import log_tail
from canvascraft.jobs.reasons import explain_ending
from canvascraft.services.guard import action
from canvascraft.services.people import current_person, require_role
from canvascraft.store.models import Job
from canvascraft.training.baseline import Baseline, not_beaten
from canvascraft.training.launch import DEVICES, validation_items
from canvascraft.training.launch import fork_job as _fork_job
from canvascraft.training.launch import launch_training as _launch_training
from canvascraft.training.objectives import Objective
from canvascraft.training.pinned import MAX_PINNED
from canvascraft.training.progress import TrainingProgress

if TYPE_CHECKING:
    from canvascraft.jobs.checkpoints import CheckpointInfo
    from canvascraft.training.amount import DataAmount
    from canvascraft.training.estimate import TimeEstimate

launch_training = action(
    role="artist", does="launch a training run", audit="job.launch", target="job {result}: {dataset}"
)(_launch_training)
fork_job = action(
    role="artist", does="fork a training run", audit="job.fork", target="job {job_id} as job {result}"
)(_fork_job)

__all__ = [
    "DEFAULT_GROUPS",
    "DEVICES",
    "JOB_GROUPS",
    "MAX_PINNED",
    "MISSING",
    "POLL_S",
    "Baseline",
    "Objective",
    "TrainerInfo",
    "TrainingJobView",
    "TrainingProgress",
    "cancel_job",
    "data_amount",
    "estimate_time",
    "explain_ending",
    "fork_job",
    "get_job",
    "job_group",
    "job_is_active",
    "job_log",
    "job_rows",
    "launch_training",
    "list_jobs",
    "list_runs",
    "list_training_jobs",
    "named_version",
    "pool",
    "resume_job",
    "tick",
    "trainer_catalog",
    "training_view",
    "trial_note",
    "validation_items",
    "wait_for",
]
POLL_S = 0.5
ACTIVE = frozenset({JobState.QUEUED, JobState.RUNNING})
MISSING = "–"
"""What a table or a line shows for a value a job does not have (yet), never ``None``."""
JOB_GROUPS = {
    "training": "training runs",
    "trial": "study trials",
    "study": "study drivers",
    "drift": "drift checks",
}
"""What the jobs table can show, by group: every job id belongs to one, so none is hidden for good
(the pool numbers every kind of job from one sequence)."""
DEFAULT_GROUPS = ("training",)


def named_version(name: object, version: object) -> str:
    """``recipe v3``; the name alone when the version is unknown, a dash when the name is."""
    if name is None:
        return MISSING
    return f"{name} v{version}" if version is not None else str(name)


def trial_note(study: dict[str, Any] | None) -> str | None:
    """``trial 3 of study inks``, ``a trial of study inks`` before Optuna numbered it, None when the
    job is not a trial."""
    if not study:
        return None
    name = study.get("name") or MISSING
    number = study.get("number")
    return f"trial {number} of study {name}" if number is not None else f"a trial of study {name}"


def job_group(job: Job) -> str:
    """The jobs table's group of a job: ``training``, ``trial``, ``study``, ``drift`` (another kind: its
    own name)."""
    if job.kind == "train":
        return "trial" if job.spec.get("study") else "training"
    return {"tune": "study", "drift": "drift"}.get(job.kind, job.kind)


def pool() -> JobPool:
    """The studio's job pool; each job's kind does its own bookkeeping when the pool records its end."""
    return JobPool()


def tick() -> None:
    """Record ended jobs and start queued ones (the studio's scheduler calls this every second)."""
    pool().tick()


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
    def objective(self) -> Objective:
        """What the job's trainer optimises and reports (metric names, directions, labels)."""
        from canvascraft.training.trainers import objective_of

        return objective_of(self.job.spec.get("trainer"))

    @property
    def best_epoch(self) -> dict[str, Any] | None:
        """The epoch the ``best`` checkpoint holds (the one the model logged comes from), as its
        progress row."""
        history = self.progress.history if self.progress else []
        return self.objective.best_epoch(history, self.job.spec.get("hyper") or {})

    @property
    def best_primary(self) -> float | None:
        """The primary figure of the best epoch so far: the number the panel, the jobs table, Home and
        the Gallery all show for the run."""
        row = self.best_epoch
        key = self.objective.primary
        return None if row is None or key not in row else float(row[key])

    @property
    def best_figure(self) -> str | None:
        """The best primary figure as shown (``62.5%``), None before the first epoch."""
        best = self.best_primary
        return None if best is None else self.objective.primary_metric.shown(best)

    @property
    def baseline(self) -> Baseline | None:
        """The run's classical baseline, fitted before its first epoch; None for generators and jobs
        from before baselines."""
        return Baseline.from_dict(self.progress.baseline if self.progress else None)

    @property
    def baseline_figure(self) -> str | None:
        """The baseline's primary figure as shown (``88.0%``), beside ``best_figure``."""
        baseline = self.baseline
        value = baseline.value(self.objective, self.objective.primary) if baseline else None
        return None if value is None else self.objective.primary_metric.shown(value)

    @property
    def baseline_note(self) -> str | None:
        """``baseline 88.0% (logistic regression on 16×16 pixels)``: what the panel adds to a figure."""
        figure, baseline = self.baseline_figure, self.baseline
        return None if figure is None or baseline is None else f"baseline {figure} ({baseline.model})"

    @property
    def behind_baseline(self) -> str | None:
        """For a finished run whose model (the best checkpoint's epoch) is not above its baseline on the
        primary figure: the warning, naming both figures and what to try; None otherwise."""
        baseline, progress = self.baseline, self.progress
        if self.job.state != JobState.SUCCEEDED or baseline is None or progress is None:
            return None
        if progress.phase == "pruned":
            return None
        objective, key = self.objective, self.objective.primary
        row = self.best_epoch
        value = baseline.value(objective, key)
        if value is None or row is None or key not in row:
            return None
        model = float(row[key])
        if objective.better(key, model, value):
            return None
        metric = objective.primary_metric
        return not_beaten(metric.label, metric.shown(model), metric.shown(value))

    def summary_of(self, row: dict[str, Any]) -> str:
        """An epoch's validation figures in words, loss aside: ``validation accuracy 50.0%, …``."""
        shown = [m for m in self.objective.scores if m.key("val") in row]
        return ", ".join(f"validation {m.label} {m.shown(float(row[m.key('val')]))}" for m in shown)

    def epoch_pictures(self, most: int = 8) -> list[tuple[int, bytes]]:
        """What a generative trainer drew at up to ``most`` epochs (the first, the latest and evenly
        between), as (epoch, PNG), oldest first; empty for classifiers and before the first epoch."""
        from canvascraft.jobs.checkpoints import checkpoint_folder

        named = self.progress.pictures if self.progress else {}
        epochs = sorted(int(epoch) for epoch in named)
        if len(epochs) > most > 1:
            step = (len(epochs) - 1) / (most - 1)
            epochs = [epochs[round(i * step)] for i in range(most)]
        folder = checkpoint_folder(self.job.id).resolve()
        shown = []
        for epoch in epochs:
            path = (folder / named[str(epoch)]).resolve()
            if path.is_relative_to(folder) and path.is_file():  # names come from the job's own row
                shown.append((epoch, path.read_bytes()))
        return shown

    @property
    def title(self) -> str:
        spec = self.job.spec
        trainer, dataset = spec.get("trainer") or MISSING, spec.get("dataset") or MISSING
        return f"#{self.job.id} · {trainer} on {dataset} · {spec.get('recipe') or MISSING}"

    @property
    def trial_note(self) -> str | None:
        return trial_note(self.job.spec.get("study"))


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


def job_rows(groups: Collection[str] = DEFAULT_GROUPS, limit: int = 100) -> list[dict[str, Any]]:
    """The Train page's jobs table, newest first: one row per job of the chosen ``groups``
    (``JOB_GROUPS``), each value shown as text or a dash when the job has none (never ``None``), and
    the progress as a fraction. Trials and drift checks take ids from the same sequence as training
    runs, so listing them is how every id can be found."""
    rows = []
    for job in pool().list_jobs():
        group = job_group(job)
        if group not in groups:
            continue
        spec = job.spec
        row: dict[str, Any] = {
            "job": job.id, "kind": JOB_GROUPS.get(group, group).removesuffix("s"), "state": job.state,
            "dataset": spec.get("dataset") or MISSING, "recipe": spec.get("recipe") or MISSING,
            "trainer": spec.get("trainer") or MISSING, "progress": 0.0, "best": MISSING,
            "baseline": MISSING,
        }  # fmt: skip
        if job.kind == "train":
            view = TrainingJobView(job, TrainingProgress.from_dict(job.progress), None, [])
            row["progress"] = view.progress.fraction if view.progress else 0.0
            row["best"] = view.best_figure or MISSING
            row["baseline"] = view.baseline_figure or MISSING
            if view.trial_note:
                row["kind"] = view.trial_note
        elif group == "study":
            row["kind"] = f"study {spec.get('study') or MISSING}"
        elif group == "drift":
            row["kind"] = f"drift check {spec.get('check_id') or MISSING}"
        if job.kind != "train" and job.state == JobState.SUCCEEDED:
            row["progress"] = 1.0
        rows.append(row)
        if len(rows) >= limit:
            break
    return rows


def list_jobs(limit: int | None = None) -> list[Job]:
    """Newest first."""
    return pool().list_jobs(limit=limit)


def get_job(job_id: int) -> Job:
    return pool().get_job(job_id)


def launch_key(origin: str, nonce: str, settings: Mapping[str, Any]) -> str:
    """The idempotency key of one submission: the same ``nonce`` and settings give the same key, so
    a launch sent twice (a double click, a retried request) gets the first job back. The caller
    renews ``nonce`` once the job it launched has ended, so the same settings can run again."""
    digest = hashlib.sha256(json.dumps(dict(settings), sort_keys=True, default=str).encode()).hexdigest()
    return f"{origin}:{nonce}:{digest[:32]}"


def job_is_active(job_id: int) -> bool:
    """Whether the job is still queued or running (a job that no longer exists is not)."""
    try:
        return JobState(pool().get_job(job_id).state) not in TERMINAL
    except JobError:
        return False


def job_log(job_id: int, tail: int | None = None) -> str:
    """The job's output so far ('' before it starts); ``tail`` keeps only the last lines."""
    job = pool().get_job(job_id)
    if not job.log_path or not Path(job.log_path).exists():
        return ""
    if tail is not None:
        return log_tail(job.log_path, tail) or ""
    return Path(job.log_path).read_text(encoding="utf-8", errors="replace")


def _own_or_admin(job_id: int, does: str) -> None:
    """An artist acts on their own jobs; another person's (or the studio's own) need an admin."""
    if get_job(job_id).subject != current_person().subject:
        require_role("admin", f"{does} someone else's job")


@action(role="artist", does="cancel a job", audit="job.cancel", target="job {job_id}")
def cancel_job(job_id: int) -> None:
    """Cancel a queued job at once, or ask a running one to stop; the next tick records it."""
    _own_or_admin(job_id, "cancel")
    pool().cancel(job_id)


@action(role="artist", does="resume a job", audit="job.resume", target="job {job_id} as job {result}")
def resume_job(job_id: int) -> int:
    """Queue a new job that continues a finished one from its last checkpoint and MLflow run."""
    _own_or_admin(job_id, "resume")
    return pool().resume(job_id)


def wait_for(
    job_id: int, on_progress: Callable[[Job], None] | None = None, timeout_s: float | None = None
) -> Job:
    """Drive the pool until the job is final (no studio needed); ``on_progress`` sees each new progress."""
    return pool().wait(job_id, on_progress, timeout_s, poll_s=POLL_S)


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
    #: The recipe to start from with this trainer (the launch form offers it first).
    starter: str


def estimate_time(
    dataset: str,
    recipe: str,
    trainer: str,
    hyper: dict[str, Any],
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    max_items: int | None = None,
    device: str = "auto",
) -> TimeEstimate:
    """How long a training job with these settings would take here, measured on a few real steps
    (seconds of work: the launch form caches it). A setting the trainer refuses raises its
    ``TrainingError`` now, before a job exists."""
    from canvascraft.data.reads import open_version
    from canvascraft.recipe.library import load_recipe
    from canvascraft.training.estimate import estimate_training
    from canvascraft.training.launch import training_spec

    # Every check a launch makes (names, settings, the recipe's memory per item) before a step runs.
    version = open_version(dataset).version.number
    training_spec(dataset, version, recipe, trainer, hyper, val_fraction, seed, max_items, None, device)
    try:
        return estimate_training(
            dataset, load_recipe(recipe), trainer, hyper, val_fraction=val_fraction, seed=seed,
            max_items=max_items, device=device,
        )  # fmt: skip
    except (RuntimeError, ValueError) as error:  # torch's own errors: the job would meet them too
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise TrainingError(
            f"{trainer} cannot take a training step on {dataset} with {recipe}: {reason}"
        ) from None


def data_amount(
    dataset: str, *, val_fraction: float = 0.2, seed: int = 0, max_items: int | None = None
) -> DataAmount:
    """Items per class in the training split a launch with these settings would make (latest version),
    and whether any class is under the floor (``training.amount.MIN_TRAIN_PER_CLASS``): the launch form
    warns before launch, naming the smallest classes and what would help (``DataAmount.sentence``)."""
    from canvascraft.data.reads import open_version
    from canvascraft.training.amount import data_amount as amount

    return amount(open_version(dataset), val_fraction, seed, max_items)


def trainer_catalog(modality: str | None = None) -> list[TrainerInfo]:
    from canvascraft.training import all_trainers

    return [
        TrainerInfo(t.name, t.modality, t.summary, tuple(t.hyperparams), t.starter or f"{t.modality}-starter")
        for t in all_trainers(modality)  # type: ignore[arg-type]
    ]
