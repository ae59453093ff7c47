"""Pinned items, live progress and forks, through real job processes and real MLflow (tiny data)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from canvascraft.drift.profile import Profile
from canvascraft.errors import JobError, TrainingError
from canvascraft.jobs.checkpoints import list_checkpoints
from canvascraft.recipe.spec import validate_recipe
from canvascraft.services.jobs import fork_job, launch_training, training_view, validation_items, wait_for
from canvascraft.services.recipes import load_recipe, save_recipe
from canvascraft.tracking.runs import tracking_client


def test_image_job_records_progress_and_the_pinned_items_each_epoch(sample_workspace: Path) -> None:
    members, defaults = validation_items("sample-images", max_items=30)
    pins = [m.index for m in members[:3]]
    job_id = launch_training(
        "sample-images", "image-starter", "image-cnn", epochs=2, max_items=30, pinned=pins,
        hyper={"batch_size": 8, "width": 8},
    )  # fmt: skip
    assert len(defaults) == min(8, len(members))
    job = wait_for(job_id, timeout_s=240)
    assert job.state == "succeeded", job.error_tail

    view = training_view(job_id)
    progress = view.progress
    assert progress is not None and progress.phase == "done" and progress.fraction == 1.0
    assert [r["epoch"] for r in progress.history] == [1, 2]
    log = (sample_workspace / "jobs" / f"{job_id}.log").read_text()
    trained = int(re.search(r"(\d+) training and (\d+) validation items", log).group(1))  # type: ignore[union-attr]
    assert progress.steps == math.ceil(trained / 8)  # batches of 8
    assert [p.index for p in progress.pinned] == pins
    assert [p.label for p in progress.pinned] == [m.label for m in members[:3]]
    assert len(progress.filmstrip) == 2 and all(len(row) == 3 for row in progress.filmstrip)
    classes = {m.label for m in members}
    assert all(p.predicted in classes and 0 < p.confidence <= 1 for row in progress.filmstrip for p in row)

    client = tracking_client()
    path = client.download_artifacts(job.mlflow_run_id, "pinned_predictions.json", str(sample_workspace))
    logged = json.loads(Path(path).read_text())
    assert [item["index"] for item in logged["items"]] == pins and len(logged["epochs"]) == 2
    assert [c.name for c in view.checkpoints] == ["best", "last"]

    # The best model's view of every validation item, for the gallery and drift checks.
    folder = Path(client.download_artifacts(job.mlflow_run_id, "validation", str(sample_workspace / "v")))
    report = json.loads((folder / "predictions.json").read_text())
    assert [item["index"] for item in report["items"]] == [m.index for m in members]
    assert all(abs(sum(item["probabilities"]) - 1) < 1e-4 for item in report["items"])
    assert all(item["predicted"] == report["classes"][max(range(5), key=item["probabilities"].__getitem__)]
               for item in report["items"])  # fmt: skip
    embeddings = np.load(folder / "embeddings.npy", allow_pickle=False)
    assert embeddings.shape == (len(members), 32)  # width 8 → 32 channels before the classifier
    card = client.download_artifacts(job.mlflow_run_id, "card.png", str(sample_workspace / "c"))
    assert Image.open(card).size == (196, 196)

    # The reference profile drift checks will compare new photos with.
    profile_file = client.download_artifacts(
        job.mlflow_run_id, "drift/profile.json", str(sample_workspace / "p")
    )
    profile = Profile.from_json(Path(profile_file).read_text())
    assert profile.modality == "image" and 0 < profile.columns["brightness"]["mean"] < 1
    assert profile.columns["brightness"]["count"] == trained
    assert sum(profile.label_counts.values()) == len(members)


def test_fork_starts_from_a_checkpoint_with_another_recipe(sample_workspace: Path) -> None:
    parent_id = launch_training("sample-table", "table-starter", "table-mlp", epochs=2)
    parent = wait_for(parent_id, timeout_s=180)
    assert parent.state == "succeeded", parent.error_tail
    base = load_recipe("table-starter").model_dump()
    save_recipe(validate_recipe({**base, "name": "table-minmax", "brushes": [
        {"brush": "impute_missing"}, {"brush": "one_hot_encode"}, {"brush": "minmax_scale"},
    ]}))  # fmt: skip

    child_id = fork_job(parent_id, checkpoint="best", recipe="table-minmax", epochs=1)
    child = wait_for(child_id, timeout_s=180)
    assert child.state == "succeeded", child.error_tail
    assert child.spec["fork_from"] == {"job": parent_id, "checkpoint": "best"}
    assert child.mlflow_run_id != parent.mlflow_run_id

    run = tracking_client().get_run(child.mlflow_run_id)
    best_epoch = next(c.epoch for c in list_checkpoints(parent_id) if c.name == "best")
    assert run.data.params["recipe"] == "table-minmax"
    assert run.data.params["forked_from_job"] == str(parent_id)
    assert run.data.params["forked_from_checkpoint"] == "best"
    assert run.data.params["forked_from_epoch"] == str(best_epoch)
    assert run.data.tags["canvascraft.forked_from_run"] == parent.mlflow_run_id
    assert "starting from job" in (sample_workspace / "jobs" / f"{child_id}.log").read_text()
    # The fork's checkpoints are its own; the parent's stay as they were.
    assert (sample_workspace / "jobs" / str(child_id) / "checkpoints" / "last.safetensors").exists()


def test_fork_refuses_what_cannot_fit_the_checkpoint(sample_workspace: Path) -> None:
    parent_id = launch_training("sample-table", "table-starter", "table-mlp", epochs=1)
    assert wait_for(parent_id, timeout_s=180).state == "succeeded"
    with pytest.raises(TrainingError, match=r"hidden shape the model, so a fork keeps .*hidden=64"):
        fork_job(parent_id, hyper={"hidden": 32})
    with pytest.raises(JobError, match="checkpoint must be one of best, last"):
        fork_job(parent_id, checkpoint="epoch-3")
    queued = launch_training("sample-table", "table-starter", "table-mlp", epochs=1)
    with pytest.raises(JobError, match="has no best checkpoint yet"):
        fork_job(queued)
