"""Training jobs through their whole life: killed and resumed, cancelled, audio, and jobs that raise.

Real ``python -m jobs.train`` processes, real MLflow in the test's workspace and tiny data (a few dozen
items, one to three epochs), so what is checked is what a user sees in ``jobs list``, ``jobs logs``,
``runs list`` and MLflow's own UI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

from canvascraft.jobs import JobPool, JobState
from canvascraft.recipe.spec import BrushStep, Recipe
from canvascraft.services.jobs import (
    cancel_job,
    job_log,
    launch_training,
    list_runs,
    resume_job,
)
from canvascraft.services.jobs import wait_for as wait_until_final
from canvascraft.services.recipes import save_recipe
from canvascraft.store.models import Job
from canvascraft.tracking import tracking_client
from tests.jobs.helpers import wait_for

TRAIN_S = 240.0
"""Bound on one tiny job: generous, because the machine may be busy with other work."""
EPOCHS = 3


def launch_audio(epochs: int) -> int:
    """An audio-cnn job on 30 of the sample clips: an epoch takes about a second, long enough to act
    between two epochs without racing the job, short enough to keep the tests quick."""
    return launch_training(
        "sample-audio", "audio-starter", "audio-cnn", epochs=epochs, hyper={"batch_size": 8}, max_items=30
    )


def epoch_logged(number: int) -> Callable[[Job], bool]:
    """Running, with epoch ``number`` finished, reported and written to its log."""

    def ready(job: Job) -> bool:
        done = (job.progress or {}).get("epoch", 0) >= number
        return job.state == JobState.RUNNING and done and f"epoch {number}/" in job_log(job.id)

    return ready


def run_started(job: Job) -> bool:
    return job.state == JobState.RUNNING and job.mlflow_run_id is not None


def epochs_in(log: str) -> list[int]:
    return [int(n) for n in re.findall(r"^epoch (\d+)/\d+:", log, flags=re.MULTILINE)]


def metric_steps(run_id: str, key: str) -> list[int]:
    return sorted(m.step for m in tracking_client().get_metric_history(run_id, key))


def test_a_killed_job_keeps_log_and_checkpoint_and_resume_trains_only_the_missing_epochs(
    sample_workspace: Path,
) -> None:
    job_id = launch_audio(EPOCHS)
    running = wait_for(JobPool(), job_id, epoch_logged(1), timeout=TRAIN_S)
    assert running.pid is not None and running.mlflow_run_id is not None

    os.kill(running.pid, signal.SIGKILL)

    killed = wait_until_final(job_id, timeout_s=TRAIN_S)
    assert (killed.state, killed.exit_code, killed.signal) == (JobState.FAILED, None, signal.SIGKILL)
    assert killed.error_tail and "epoch 1/3" in killed.error_tail
    assert killed.error_tail == job_log(job_id, tail=20)  # what `jobs logs --tail 20` shows
    assert killed.log_path and Path(killed.log_path).is_file()
    assert epochs_in(job_log(job_id)) == [1]
    checkpoints = sample_workspace / "jobs" / str(job_id) / "checkpoints"
    assert (checkpoints / "last.safetensors").is_file()
    assert json.loads((checkpoints / "last.json").read_text())["epoch"] == 1
    # The process could not close its run; MLflow's UI must not show it as still training.
    assert tracking_client().get_run(running.mlflow_run_id).info.status == "FAILED"

    resumed_id = resume_job(job_id)
    resumed = wait_until_final(resumed_id, timeout_s=TRAIN_S)

    assert (resumed.state, resumed.exit_code) == (JobState.SUCCEEDED, 0), resumed.error_tail
    assert resumed.resume_from == job_id
    assert resumed.mlflow_run_id == killed.mlflow_run_id  # the same run continues, no second run
    assert epochs_in(job_log(resumed_id)) == [2, 3]  # epoch 1 is not trained again
    assert epochs_in(job_log(job_id)) == [1]  # the failed job's log is left as it was
    for key in ("val_loss", "val_accuracy", "train_loss"):
        assert metric_steps(resumed.mlflow_run_id, key) == [1, 2, 3], key
    run = tracking_client().get_run(resumed.mlflow_run_id)
    assert run.info.status == "FINISHED" and run.info.end_time is not None
    assert [r["run_id"] for r in list_runs()] == [resumed.mlflow_run_id]
    assert json.loads((checkpoints / "last.json").read_text())["epoch"] == 3  # the chain's one folder
    assert not (sample_workspace / "jobs" / str(resumed_id) / "checkpoints").exists()


def test_cancelling_a_running_job_keeps_its_log_and_closes_its_mlflow_run(sample_workspace: Path) -> None:
    job_id = launch_audio(EPOCHS)
    wait_for(JobPool(), job_id, epoch_logged(1), timeout=TRAIN_S)

    cancel_job(job_id)

    job = wait_until_final(job_id, timeout_s=TRAIN_S)
    assert job.state == JobState.CANCELLED and job.cancel_requested_at is not None
    log = job_log(job_id)
    assert log and 1 in epochs_in(log) and 3 not in epochs_in(log)
    assert job.mlflow_run_id is not None
    run = tracking_client().get_run(job.mlflow_run_id)
    # Left RUNNING, `mlflow ui` would show the run as still training, forever.
    assert run.info.status == "KILLED" and run.info.end_time is not None
    assert [(r["run_id"], r["status"]) for r in list_runs()] == [(job.mlflow_run_id, "KILLED")]


def test_audio_training_end_to_end(sample_workspace: Path) -> None:
    job_id = launch_audio(1)

    job = wait_until_final(job_id, timeout_s=TRAIN_S)

    assert (job.state, job.exit_code, job.error_tail) == (JobState.SUCCEEDED, 0, None)
    log = job_log(job_id)
    assert epochs_in(log) == [1] and "model models:/" in log
    (run,) = [r for r in list_runs() if r["run_id"] == job.mlflow_run_id]
    assert (run["status"], run["trainer"], run["dataset"], run["recipe"]) == (
        "FINISHED", "audio-cnn", "sample-audio", "audio-starter"
    )  # fmt: skip
    assert run["job_id"] == str(job_id)
    assert 0.0 <= run["metrics"]["val_accuracy"] <= 1.0
    assert {"val_loss", "train_loss", "val_f1"} <= set(run["metrics"])


def test_a_table_recipe_without_encoding_fails_the_job_with_the_reason(sample_workspace: Path) -> None:
    # Valid as a recipe, but the sample table has text columns that nothing turns into numbers.
    save_recipe(
        Recipe(
            name="scale-only",
            modality="table",
            brushes=[BrushStep(brush="impute_missing"), BrushStep(brush="standard_scale")],
        )
    )
    job_id = launch_training("sample-table", "scale-only", "table-mlp", epochs=1)

    job = wait_until_final(job_id, timeout_s=TRAIN_S)

    assert (job.state, job.exit_code, job.signal) == (JobState.FAILED, 1, None)
    assert job.error_tail and len(job.error_tail.splitlines()) <= 20
    reason = "are not numbers after the recipe: add one_hot_encode to the recipe"
    assert re.search(rf"^canvascraft\.errors\.DatasetError: columns .+ {reason}$", job.error_tail, re.M)
    assert job.mlflow_run_id is None and list_runs() == []  # no half-made run left in MLflow


def test_stored_files_vanishing_mid_run_fail_the_job_and_its_mlflow_run(sample_workspace: Path) -> None:
    job_id = launch_audio(EPOCHS)
    run_id = wait_for(JobPool(), job_id, run_started, timeout=TRAIN_S).mlflow_run_id
    assert run_id is not None

    shutil.rmtree(sample_workspace / "blobs")  # e.g. the workspace's drive went away

    job = wait_until_final(job_id, timeout_s=TRAIN_S)
    assert (job.state, job.exit_code, job.signal) == (JobState.FAILED, 1, None)
    assert job.error_tail and "FileNotFoundError: [Errno 2] No such file or directory" in job.error_tail
    assert str(sample_workspace / "blobs") in job.error_tail
    run = tracking_client().get_run(run_id)
    assert run.info.status == "FAILED" and run.info.end_time is not None
