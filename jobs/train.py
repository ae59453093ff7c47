"""``python -m jobs.train JOB_ID``: train one model from a dataset version and a recipe, tracked in MLflow.

Spec: ``dataset``, ``dataset_version``, ``recipe``, ``recipe_version``, ``trainer``, ``hyper``,
``val_fraction``, ``seed``, optional ``max_items``, ``pinned`` (validation items whose predictions are
kept each epoch), ``resume_from`` (the job whose checkpoints and MLflow run this one continues) and
``fork_from`` (``{"job": id, "checkpoint": "best"|"last"}``: start from those weights in a new run),
``recipe_overrides`` (searched brush parameters, ``brush.<step>.<brush>.<param>``) and ``study`` (this
job is a tuning trial: it reports each epoch to Optuna, runs as a child of the study's MLflow run, and
ends early, still succeeding, when the pruner stops it).
SIGTERM (cancel) closes the MLflow run as KILLED, then the process ends and the pool records the job
as cancelled.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from canvascraft.errors import Cancelled, TrainingError
from canvascraft.jobs.checkpoints import checkpoint_folder
from canvascraft.jobs.runtime import begin_job, report_progress, run_job, set_run_id, stop_on_sigterm
from canvascraft.recipe.io import to_yaml
from canvascraft.recipe.library import load_recipe
from canvascraft.recipe.spec import validate_recipe
from canvascraft.store.models import Job
from canvascraft.store.session import open_session
from canvascraft.tracking.runs import TrainingRun
from canvascraft.training import EpochResult, get_trainer, load_checkpoint, load_split, train
from canvascraft.training.baseline import log_baseline
from canvascraft.training.data import validation_members
from canvascraft.training.finish import FinishedRun
from canvascraft.training.loop import LAST, plan_training, read_info, resolve_device
from canvascraft.training.pinned import PinnedProbe
from canvascraft.training.progress import TrainingProgress
from canvascraft.tuning.space import apply_overrides
from canvascraft.tuning.trial import TrialReporter

REPORT_EVERY_S = 1.0
"""Step progress is written at most this often: a database write per batch would slow small batches."""


class Reporter:
    """Writes the job's ``TrainingProgress`` to its row: at once for phases and epochs, at most once per
    ``REPORT_EVERY_S`` for steps."""

    def __init__(self, job_id: int, progress: TrainingProgress) -> None:
        self.job_id = job_id
        self.progress = progress
        self._started = time.monotonic()
        self._last_write = 0.0

    def write(self, *, throttle: bool = False) -> None:
        now = time.monotonic()
        if throttle and now - self._last_write < REPORT_EVERY_S:
            return
        if self.progress.phase == "training":
            self.progress.elapsed_s = round(now - self._started, 2)
        self._last_write = now
        report_progress(self.job_id, self.progress.to_dict())

    def phase(self, phase: str) -> None:
        if phase == "training":
            self._started = time.monotonic()
        self.progress.phase = phase
        self.write()

    def step(self, epoch: int, step: int, steps: int) -> None:
        self.progress.step, self.progress.steps = step, steps
        self.write(throttle=True)


def _previous_progress(job_id: int) -> TrainingProgress | None:
    with open_session() as session:
        job = session.get(Job, job_id)
        return TrainingProgress.from_dict(job.progress) if job is not None else None


def _start_weights(model: torch.nn.Module, fork: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """Load the forked checkpoint's weights (not its optimiser: a fork is a new run)."""
    which = fork.get("checkpoint", "best")
    path = checkpoint_folder(int(fork["job"])) / f"{which}.safetensors"
    if not path.exists():
        raise TrainingError(f"job {fork['job']} has no {path.name}; fork from a checkpoint it saved")
    return path, load_checkpoint(model, path, f"job {fork['job']}'s {which} checkpoint")


def run(job_id: int, spec: dict[str, Any]) -> None:
    """The training itself; the caller turns any exception into a failed run and exit code 1."""
    resume_from = spec.get("resume_from")
    fork = spec.get("fork_from")
    trainer = get_trainer(spec["trainer"])(**spec.get("hyper", {}))
    objective = trainer.objective
    epochs = int(trainer.settings["epochs"])
    reporter = Reporter(job_id, TrainingProgress(epochs=epochs))
    reporter.write()
    recipe = load_recipe(spec["recipe"], spec.get("recipe_version"))
    overrides = spec.get("recipe_overrides") or {}
    if overrides:
        recipe = validate_recipe(apply_overrides(recipe.model_dump(mode="json"), overrides))
    study = spec.get("study")
    reporter_trial = TrialReporter(study) if study else None
    val_fraction, seed = float(spec.get("val_fraction", 0.2)), int(spec.get("seed", 0))
    version, max_items = spec.get("dataset_version"), spec.get("max_items")
    split = load_split(spec["dataset"], recipe, val_fraction, seed, version=version, max_items=max_items)
    members = validation_members(spec["dataset"], val_fraction, seed, version=version, max_items=max_items)
    probe = PinnedProbe(split, members, (spec.get("pinned") or []) if objective.pins_predictions else [])
    model = trainer.build_model(split.input_shape, len(split.classes))
    plan = plan_training(trainer.settings, len(split.train))
    epochs = plan.epochs
    print(f"job {job_id}: {len(split.train)} training and {len(split.val)} validation items, "
          f"{len(split.classes)} classes, {trainer!r}; planned {plan.epochs} epochs of "
          f"{plan.steps_per_epoch} steps (batches of {plan.batch_size})", flush=True)  # fmt: skip
    progress = reporter.progress
    progress.epochs = epochs
    progress.pinned = probe.items
    progress.picture_caption = objective.picture_caption(split.classes)
    folder = checkpoint_folder(int(resume_from) if resume_from else job_id)
    resuming = bool(resume_from) and (folder / LAST).exists()  # nothing saved yet: start over
    previous_run = _run_of_chain(int(resume_from)) if resume_from else None
    if resuming:
        label = f"the last checkpoint in {folder}"
        saved = read_info(folder / LAST, label)
        load_checkpoint(model, folder / LAST, label)  # a bad file fails here, before the run is reopened
        progress.history = list(saved.get("history") or [])
        progress.epoch = progress.first_epoch = len(progress.history)
        before = _previous_progress(int(resume_from))
        if before is not None and before.pinned == progress.pinned:
            progress.filmstrip = before.filmstrip[: progress.epoch]
        if before is not None:
            progress.pictures = {e: name for e, name in before.pictures.items() if int(e) <= progress.epoch}
    if previous_run:
        training = TrainingRun.resume(previous_run)
    else:
        params = {
            "trainer": trainer.name,
            **{f"hyper.{k}": v for k, v in trainer.settings.items()},
            "recipe": recipe.name,
            "recipe_version": spec.get("recipe_version"),
            "dataset": spec["dataset"],
            "dataset_version": version,
            "val_fraction": val_fraction,
            "split_seed": seed,
            "max_items": max_items,
            "classes": ",".join(split.classes),
            "input_shape": "x".join(map(str, split.input_shape)),
            "planned_epochs": plan.epochs,
            "batch_size_used": plan.batch_size,
            "steps_per_epoch": plan.steps_per_epoch,
            **overrides,
        }
        tags = {"canvascraft.job_id": str(job_id), "canvascraft.modality": split.modality}
        if study:
            tags |= {"canvascraft.study": study["name"], "canvascraft.trial": str(study["number"])}
        if fork:
            path, info = _start_weights(model, fork)
            parent_run = _run_of_chain(int(fork["job"]))
            params |= {"forked_from_job": fork["job"], "forked_from_checkpoint": path.stem,
                       "forked_from_epoch": info.get("epoch")}  # fmt: skip
            tags |= {"canvascraft.forked_from_run": parent_run or "", "canvascraft.forked_from": path.stem}
            print(f"job {job_id}: starting from job {fork['job']}'s {path.stem} checkpoint "
                  f"(epoch {info.get('epoch')})", flush=True)  # fmt: skip
        name = (
            f"trial-{study['number']}-{study['name']}"
            if study
            else f"job-{job_id}-{trainer.name}-{spec['dataset']}"
        )
        training = TrainingRun.start(
            run_name=name,
            params=params,
            tags=tags,
            parent_run_id=study.get("parent_run_id") if study else None,
        )
    set_run_id(job_id, training.run_id)
    print(f"job {job_id}: MLflow run {training.run_id}", flush=True)
    baseline = log_baseline(training, split, objective, resumed=previous_run is not None)
    if baseline is not None:
        progress.baseline = baseline.to_dict()
        print(f"job {job_id}: baseline {baseline.model} ({baseline.seconds:.1f}s)", flush=True)
    try:
        model_files = {"recipe.yaml": to_yaml(recipe), "classes.json": json.dumps(split.classes)}
        training.log_text(model_files["recipe.yaml"], "recipe.yaml")
        if split.table_state is not None:
            table = {
                "state": split.table_state,
                "feature_names": split.feature_names,
                "classes": split.classes,
            }
            model_files["table_state.json"] = json.dumps(table, indent=2)
            training.log_text(model_files["table_state.json"], "table_state.json")

        def on_epoch(result: EpochResult) -> None:
            result.metrics.update(objective.epoch_figures(model, result.epoch, epochs, split))
            predictions = probe.predict(model)
            progress.history.append(result.as_row())
            progress.filmstrip.append(predictions)
            picture = objective.epoch_picture(model, result.epoch, epochs, folder)
            if picture is not None:
                progress.pictures[str(result.epoch)] = picture
                training.log_bytes((folder / picture).read_bytes(), picture)
            progress.epoch, progress.step = result.epoch, 0
            training.log_epoch(result)
            if probe.items:
                training.log_text(json.dumps(_filmstrip(progress), indent=1), "pinned_predictions.json")
            reporter.write()
            shown = dict.fromkeys(["train_loss", objective.monitor_for(trainer.settings), objective.primary])
            figures = " ".join(f"{key} {result[key]:.4f}" for key in shown if key in result.metrics)
            print(f"epoch {result.epoch}/{epochs}: {figures} ({result.seconds:.1f}s)", flush=True)
            if reporter_trial is not None:
                reporter_trial.report(result.epoch, result.as_row())  # raises TrialPruned to stop here

        device = spec.get("device")
        progress.device = str(resolve_device(device))
        reporter.phase("training")
        result = train(
            model,
            split.train,
            split.val,
            trainer.settings,
            device=device,
            checkpoint_dir=folder,
            resume=resuming,
            on_epoch=on_epoch,
            on_step=reporter.step,
            objective=objective,
        )
        progress.stop_reason = result.stop_reason
        training.set_tag("canvascraft.stop_reason", result.stop_reason)
        print(f"job {job_id}: {result.stop_reason}", flush=True)
        reporter.phase("saving")
        model.to("cpu")
        if result.best_path.exists():
            load_checkpoint(model, result.best_path)  # the model that is logged is the best epoch's
        finished = FinishedRun(training, model, split, members, spec)
        objective.log_finished(finished)
        uri = objective.log_model(finished, model_files)
        best = result.best
        # The run's per-epoch metrics end at the last epoch; these describe the model that was logged.
        summary = {f"best_{key}": best[key] for key in objective.metric_keys("val")}
        training.log_summary({"best_epoch": best.epoch, **summary}, {})
        print(f"job {job_id}: done on {result.device}, best epoch {best.epoch} "
              f"{objective.primary} {best[objective.primary]:.4f}; model {uri}", flush=True)  # fmt: skip
    except _trial_pruned(study) as pruned:
        print(f"job {job_id}: {pruned}", flush=True)
        training.set_tag("canvascraft.pruned", "true")
        training.finish("KILLED")
        reporter.phase("pruned")
        return
    except Cancelled:
        training.finish("KILLED")
        raise
    except BaseException:
        training.finish("FAILED")
        raise
    training.finish("FINISHED")
    reporter.phase("done")


def _trial_pruned(study: dict[str, Any] | None) -> type[BaseException] | tuple[()]:
    """Optuna's pruning signal for a tuning trial; nothing to catch (and Optuna not imported,
    a third of a second) for a plain run."""
    if not study:
        return ()
    import optuna

    return optuna.TrialPruned


def _filmstrip(progress: TrainingProgress) -> dict[str, Any]:
    """The pinned items and their predictions per epoch, as the run's ``pinned_predictions.json``."""
    return {
        "items": [asdict(item) for item in progress.pinned],
        "epochs": [[asdict(p) for p in row] for row in progress.filmstrip],
    }


def _run_of_chain(job_id: int) -> str | None:
    """The MLflow run of a job, or of the earlier job of its resume chain that opened it."""
    with open_session() as session:
        job = session.get(Job, job_id)
        while job is not None:
            if job.mlflow_run_id:
                return job.mlflow_run_id
            job = session.get(Job, job.resume_from) if job.resume_from else None
    return None


def main(job_id: int) -> int:
    spec = begin_job(job_id)
    stop_on_sigterm()
    run(job_id, spec)
    return 0


if __name__ == "__main__":
    run_job(main)
