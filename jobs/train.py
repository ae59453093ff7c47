"""``python -m jobs.train JOB_ID``: train one model from a dataset version and a recipe, tracked in MLflow.

Spec: ``dataset``, ``dataset_version``, ``recipe``, ``recipe_version``, ``trainer``, ``hyper``,
``val_fraction``, ``seed``, optional ``max_items`` and ``resume_from`` (the job whose checkpoints and
MLflow run this one continues). SIGTERM keeps its default handler: the process ends and the pool
records the job as cancelled.
"""

from __future__ import annotations

import json
from typing import Any

import torch
from torch.utils.data import Dataset

from canvascraft.config import get_settings
from canvascraft.jobs.runtime import begin_job, report_progress, run_job, set_run_id
from canvascraft.recipe.io import to_yaml
from canvascraft.services.recipes import load_recipe
from canvascraft.store.models import Job
from canvascraft.store.session import open_session
from canvascraft.tracking.runs import TrainingRun
from canvascraft.training import EpochResult, get_trainer, load_checkpoint, load_split, train
from canvascraft.training.loop import LAST


def _example(val: Dataset[Any]) -> torch.Tensor:
    """A batch of two validation inputs (a batch of 1 would fix the exported batch size)."""
    first = val[0][0]
    second = val[1][0] if len(val) > 1 else first  # type: ignore[arg-type]
    if first.shape != second.shape:  # audio clips of different lengths
        second = first
    return torch.stack([first, second])


def _lineage(job_id: int) -> tuple[int, str | None]:
    """The first job of a resume chain (its folder holds the checkpoints) and the latest run id on it."""
    run_id: str | None = None
    with open_session() as session:
        job = session.get(Job, job_id)
        while job is not None:
            run_id = run_id or job.mlflow_run_id
            if job.resume_from is None:
                return job.id, run_id
            job = session.get(Job, job.resume_from)
    return job_id, run_id


def run(job_id: int, spec: dict[str, Any]) -> None:
    """The training itself; the caller turns any exception into a failed run and exit code 1."""
    resume_from = spec.get("resume_from")
    recipe = load_recipe(spec["recipe"], spec.get("recipe_version"))
    split = load_split(
        spec["dataset"],
        recipe,
        float(spec.get("val_fraction", 0.2)),
        int(spec.get("seed", 0)),
        version=spec.get("dataset_version"),
        max_items=spec.get("max_items"),
    )
    trainer = get_trainer(spec["trainer"])(**spec.get("hyper", {}))
    model = trainer.build_model(split.input_shape, len(split.classes))
    print(f"job {job_id}: {len(split.train)} training and {len(split.val)} validation items, "
          f"{len(split.classes)} classes, {trainer!r}", flush=True)  # fmt: skip
    root, previous_run = _lineage(int(resume_from)) if resume_from else (job_id, None)
    folder = get_settings().jobs_dir / str(root) / "checkpoints"
    if previous_run:
        training = TrainingRun.resume(previous_run)
    else:
        params = {
            "trainer": trainer.name,
            **{f"hyper.{k}": v for k, v in trainer.settings.items()},
            "recipe": recipe.name,
            "recipe_version": spec.get("recipe_version"),
            "dataset": spec["dataset"],
            "dataset_version": spec.get("dataset_version"),
            "val_fraction": spec.get("val_fraction", 0.2),
            "split_seed": spec.get("seed", 0),
            "max_items": spec.get("max_items"),
            "classes": ",".join(split.classes),
        }
        training = TrainingRun.start(
            run_name=f"job-{job_id}-{trainer.name}-{spec['dataset']}",
            params=params,
            tags={"canvascraft.job_id": str(job_id), "canvascraft.modality": split.modality},
        )
    set_run_id(job_id, training.run_id)
    print(f"job {job_id}: MLflow run {training.run_id}", flush=True)
    try:
        training.log_text(to_yaml(recipe), "recipe.yaml")
        if split.table_state is not None:
            table = {
                "state": split.table_state,
                "feature_names": split.feature_names,
                "classes": split.classes,
            }
            training.log_text(json.dumps(table, indent=2), "table_state.json")
        epochs = int(trainer.settings["epochs"])

        def on_epoch(result: EpochResult) -> None:
            training.log_epoch(result)
            report_progress(
                job_id,
                {"epoch": result.epoch, "epochs": epochs,
                 "val_accuracy": result.val_accuracy, "val_loss": result.val_loss},
            )  # fmt: skip
            print(f"epoch {result.epoch}/{epochs}: train_loss {result.train_loss:.4f} "
                  f"val_loss {result.val_loss:.4f} val_accuracy {result.val_accuracy:.4f} "
                  f"({result.seconds:.1f}s)", flush=True)  # fmt: skip

        result = train(
            model,
            split.train,
            split.val,
            trainer.settings,
            checkpoint_dir=folder,
            resume=bool(resume_from) and (folder / LAST).exists(),  # nothing saved yet: start over
            on_epoch=on_epoch,
        )
        model.to("cpu")
        if result.best_path.exists():
            load_checkpoint(model, result.best_path)  # the model that is logged is the best epoch's
        uri = training.log_model(model, _example(split.val))
        best = result.best
        print(f"job {job_id}: done on {result.device}, best epoch {best.epoch} "
              f"val_accuracy {best.val_accuracy:.4f}; model {uri}", flush=True)  # fmt: skip
    except BaseException:
        training.finish("FAILED")
        raise
    training.finish("FINISHED")


def main(job_id: int) -> int:
    run(job_id, begin_job(job_id))
    return 0


if __name__ == "__main__":
    run_job(main)
