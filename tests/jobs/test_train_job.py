"""``canvascraft train`` end to end: a real ``python -m jobs.train`` process, real MLflow, tiny data."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from canvascraft.cli import app
from canvascraft.jobs import JobPool

runner = CliRunner()


def test_train_table_job_tracks_run_checkpoints_and_log(sample_workspace: Path) -> None:
    result = runner.invoke(
        app,
        ["train", "--dataset", "sample-table", "--recipe", "table-starter", "--trainer", "table-mlp",
         "--epochs", "2", "--wait"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "epoch 2/2" in result.output and "succeeded" in result.output

    (job,) = JobPool().list_jobs()
    assert job.state == "succeeded" and job.exit_code == 0
    assert job.mlflow_run_id and job.progress and job.progress["epoch"] == 2

    runs = json.loads(runner.invoke(app, ["runs", "list", "--json"]).output)
    (run,) = [r for r in runs if r["run_id"] == job.mlflow_run_id]
    assert run["status"] == "FINISHED"
    assert (run["dataset"], run["recipe"], run["trainer"]) == ("sample-table", "table-starter", "table-mlp")
    assert 0.0 <= run["metrics"]["val_accuracy"] <= 1.0

    checkpoints = sample_workspace / "jobs" / str(job.id) / "checkpoints"
    assert (checkpoints / "best.safetensors").exists() and (checkpoints / "last.safetensors").exists()

    logs = runner.invoke(app, ["jobs", "logs", str(job.id)]).output
    assert "epoch 1/2" in logs and "epoch 2/2" in logs

    listed = json.loads(runner.invoke(app, ["jobs", "list", "--json"]).output)
    assert listed[0]["id"] == job.id and listed[0]["mlflow_run_id"] == job.mlflow_run_id


def test_unknown_trainer_is_one_clear_line(sample_workspace: Path) -> None:
    result = runner.invoke(
        app, ["train", "--dataset", "sample-table", "--recipe", "table-starter", "--trainer", "table-mlx"]
    )
    assert result.exit_code == 1
    expected = "error: unknown trainer 'table-mlx'; did you mean table-mlp?"
    assert result.stderr.strip().splitlines() == [expected]
    assert JobPool().list_jobs() == []


def test_recipe_of_another_modality_is_refused_before_a_job_exists(sample_workspace: Path) -> None:
    result = runner.invoke(
        app, ["train", "--dataset", "sample-table", "--recipe", "image-starter", "--trainer", "table-mlp"]
    )
    assert result.exit_code == 1
    assert "is for image" in result.stderr and "pick a table recipe" in result.stderr
    assert JobPool().list_jobs() == []


def test_train_image_subset(sample_workspace: Path) -> None:
    result = runner.invoke(
        app,
        ["train", "--dataset", "sample-images", "--recipe", "image-starter", "--trainer", "image-cnn",
         "--max-items", "30", "--epochs", "1", "--wait"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (job,) = JobPool().list_jobs()
    assert job.state == "succeeded" and job.mlflow_run_id
