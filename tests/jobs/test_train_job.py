"""``canvascraft train`` end to end: a real ``python -m jobs.train`` process, real MLflow, tiny data."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from canvascraft.cli import app
from canvascraft.jobs import JobPool
from canvascraft.services.audit import list_audit

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


def test_pins_and_fork_from_the_cli(sample_workspace: Path) -> None:
    from canvascraft.services.jobs import validation_items

    members, _ = validation_items("sample-table")
    held_out = {m.index for m in members}
    trained_on = next(i for i in range(1000) if i not in held_out)
    command = ["train", "--dataset", "sample-table", "--recipe", "table-starter", "--trainer", "table-mlp",
               "--epochs", "2", "--wait"]  # fmt: skip
    refused = runner.invoke(app, [*command, "--pin", str(trained_on)])
    assert refused.exit_code == 1
    assert f"items [{trained_on}] are not in the validation split" in refused.stderr
    assert JobPool().list_jobs() == []

    pins = [str(m.index) for m in members[:2]]
    trained = runner.invoke(app, [*command, "--pin", pins[0], "--pin", pins[1]])
    assert trained.exit_code == 0, trained.output
    assert "epoch 1/2: val_accuracy" in trained.output and "best epoch" in trained.output
    (job,) = JobPool().list_jobs()
    assert job.spec["pinned"] == [int(p) for p in pins]

    forked = runner.invoke(
        app, ["jobs", "fork", str(job.id), "--checkpoint", "last", "--epochs", "1", "--learning-rate", "0.01",
              "--wait"],
    )  # fmt: skip
    assert forked.exit_code == 0, forked.output
    assert f"starts from job {job.id}'s last checkpoint" in forked.output
    child = JobPool().list_jobs()[0]
    assert child.spec["fork_from"] == {"job": job.id, "checkpoint": "last"}
    assert child.spec["hyper"]["learning_rate"] == 0.01 and child.spec["hyper"]["epochs"] == 1


def test_init_queues_the_sample_runs_once(sample_workspace: Path) -> None:
    assert runner.invoke(app, ["init", "--no-sample-runs"]).exit_code == 0
    assert JobPool().list_jobs() == []
    first = runner.invoke(app, ["init"])
    assert first.exit_code == 0 and "queued sample training jobs 1, 2, 3" in first.output
    jobs = JobPool().list_jobs()
    assert sorted((j.spec["dataset"], j.spec["trainer"]) for j in jobs) == [
        ("sample-audio", "audio-cnn"), ("sample-images", "image-cnn"), ("sample-table", "table-mlp"),
    ]  # fmt: skip
    assert all(j.state == "queued" for j in jobs)
    assert all(j.spec["register_as"] == j.spec["dataset"] for j in jobs)  # ready to try and watch
    assert list_audit(action="job.launch") == []  # the studio's own work, nobody's action
    again = runner.invoke(app, ["init"])
    assert "queued" not in again.output and len(JobPool().list_jobs()) == 3


def test_a_job_asked_to_register_its_model_does_so_as_champion(sample_workspace: Path) -> None:
    from canvascraft.gallery.registry import resolve
    from canvascraft.services.jobs import launch_training, wait_for

    job = wait_for(launch_training("sample-table", "table-starter", "table-mlp", epochs=1,
                                   register_as="starter"), timeout_s=300)  # fmt: skip
    assert job.state == "succeeded", job.error_tail
    assert resolve("starter@champion").run_id == job.mlflow_run_id
