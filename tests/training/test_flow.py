"""The ``image-flow`` generator: it learns, samples the same picture for the same seed and label,
refuses pictures outside its range, and runs as a real training job whose run generates from the CLI.
"""

from __future__ import annotations

import io
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from canvascraft.cli import app
from canvascraft.errors import GalleryError, TrainingError
from canvascraft.gallery.registry import local_folder, logged_model_id
from canvascraft.jobs import JobPool, JobState
from canvascraft.services.gallery import generate, register, walk
from canvascraft.services.jobs import launch_training, resume_job
from canvascraft.services.jobs import wait_for as wait_until_final
from canvascraft.testing.trainers import TrainerContract
from canvascraft.tracking import tracking_client
from canvascraft.training import get_trainer
from canvascraft.training.flow import FLOW_MATCHING, choose_resolution, sample
from canvascraft.training.trainers import Trainer
from tests.conftest import TrainedTemplate
from tests.jobs.helpers import wait_for

TRAIN_S = 300.0


class TestImageFlowContract(TrainerContract):
    """The shipped trainer contract, on pictures in -1..1 as the flow recipe leaves them."""

    @pytest.fixture
    def trainer_class(self) -> type[Trainer]:
        return get_trainer("image-flow")

    def input_shape(self, trainer_class: type[Trainer]) -> tuple[int, ...]:
        return (3, 16, 16)

    def batch(
        self, trainer_class: type[Trainer], size: int, seed: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = super().batch(trainer_class, size, seed)
        return x * 2 - 1, y


TINY = {"width": 8, "batch_size": 16, "resolution": "16"}


def tiny_net(n_classes: int = 2, channels: int = 1):
    return get_trainer("image-flow")(**TINY).build_model((channels, 16, 16), n_classes)


def test_same_seed_and_label_give_the_same_picture_and_others_differ() -> None:
    net = tiny_net()
    first = sample(net, [0, 1, None], [7, 7, 7], steps=4)
    again = sample(net, [0, 1, None], [7, 7, 7], steps=4)
    other = sample(net, [0], [8], steps=4)

    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert first[0].shape == (16, 16, 1) and first[0].dtype == np.uint8
    assert not np.array_equal(first[0], other[0])
    assert not np.array_equal(first[0], first[1])  # the label changes the picture


def test_it_learns_two_labels_apart_in_a_few_dozen_steps() -> None:
    torch.manual_seed(0)
    net = tiny_net()
    x = torch.cat([torch.full((16, 1, 16, 16), -0.8), torch.full((16, 1, 16, 16), 0.8)])
    y = torch.cat([torch.zeros(16, dtype=torch.long), torch.ones(16, dtype=torch.long)])
    optimizer = torch.optim.AdamW(net.parameters(), lr=3e-3)
    net.train()
    losses = []
    for _ in range(60):
        loss, _ = FLOW_MATCHING.loss(net, x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

    dark, light = sample(net, [0, 1], [1, 1], steps=10, guidance=1.0)
    assert np.mean(losses[-10:]) < 0.6 * np.mean(losses[:5])
    assert dark.mean() < 100 < light.mean()  # -0.8 is about 25 in grey levels, 0.8 about 230


def test_pictures_outside_minus_one_to_one_are_refused_naming_the_fix() -> None:
    net = tiny_net()
    with pytest.raises(TrainingError, match="normalize set to the half preset"):
        FLOW_MATCHING.loss(net, torch.rand(4, 1, 16, 16) * 255, torch.zeros(4, dtype=torch.long))


def test_resolution_is_chosen_from_the_data() -> None:
    assert choose_resolution((3, 64, 64), "auto") == 32
    assert choose_resolution((3, 20, 24), "auto") == 16
    assert choose_resolution((3, 64, 64), "64") == 64
    with pytest.raises(TrainingError, match="at least 16 pixels"):
        choose_resolution((1, 8, 8), "auto")


def launch_flow(epochs: int) -> int:
    return launch_training(
        "sample-images", "image-flow-starter", "image-flow", epochs=epochs, hyper=TINY, max_items=30
    )


def test_a_flow_job_trains_draws_its_filmstrip_and_generates_by_label_and_seed(
    sample_workspace: Path, tmp_path: Path
) -> None:
    job_id = launch_flow(2)
    job = wait_until_final(job_id, timeout_s=TRAIN_S)
    assert job.state == JobState.SUCCEEDED, job.error_tail

    progress = job.progress or {}
    assert [row["epoch"] for row in progress["history"]] == [1, 2]
    assert set(progress["pictures"]) == {"1", "2"}
    run = tracking_client().get_run(job.mlflow_run_id or "")
    assert "val_loss" in run.data.metrics and "val_accuracy" not in run.data.metrics
    artifacts = {a.path for a in tracking_client().list_artifacts(run.info.run_id)}
    assert {"samples", "card.png"} <= artifacts
    model_id = logged_model_id(tracking_client(), run.info.run_id)
    folder = local_folder(tracking_client().get_logged_model(model_id).artifact_location)
    assert folder is not None
    assert sorted(p.name for p in folder.iterdir()) == [
        "classes.json",
        "config.json",
        "recipe.yaml",
        "weights.safetensors",
    ]
    names = {a.path for a in tracking_client().list_artifacts(run.info.run_id, "samples")}
    assert names == {"samples/epoch-0001.png", "samples/epoch-0002.png"}

    circles = generate(run.info.run_id, n=2, label="circle", seed=5, steps=4)
    again = generate(run.info.run_id, n=2, label="circle", seed=5, steps=4)
    assert [p.file_name for p in circles] == ["circle-5.png", "circle-6.png"]
    assert [p.png for p in circles] == [p.png for p in again]
    assert Image.open(io.BytesIO(circles[0].png)).size == (16, 16)
    with pytest.raises(GalleryError, match="knows no label 'hexagon'; its labels: checker, circle"):
        generate(run.info.run_id, n=1, label="hexagon")

    version = register(run.info.run_id, "shapes-maker", alias="champion")
    assert version.version == 1
    by_alias = generate("shapes-maker@champion", n=2, label="circle", seed=5, steps=4)
    assert [p.png for p in by_alias] == [p.png for p in circles]

    runner = CliRunner()
    result = runner.invoke(app, ["generate", "shapes-maker@champion", "--out", str(tmp_path / "aliased"),
                                 "--n", "1", "--label", "square", "--seed", "3", "--steps", "3"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "aliased").iterdir()] == ["square-3.png"]
    out = tmp_path / "made"
    result = runner.invoke(app, ["generate", run.info.run_id, "--out", str(out), "--n", "5", "--steps", "3"])
    assert result.exit_code == 0, result.output
    labels = ["checker", "circle", "square", "stripes", "triangle"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{label}-{i}.png" for i, label in enumerate(labels)
    )
    assert f"wrote 5 picture(s) to {out}" in result.output

    gif = tmp_path / "walk.gif"
    result = runner.invoke(app, ["generate", "walk", run.info.run_id, "--out", str(gif), "--n", "4",
                                 "--from", "1", "--to", "9", "--steps", "3"])  # fmt: skip
    assert result.exit_code == 0, result.output
    animation = Image.open(gif)
    assert animation.n_frames == 4
    assert Image.open(gif.with_suffix(".png")).size[0] > animation.size[0] // 4 * 3  # a strip of 4 frames

    result = runner.invoke(app, ["generate", job.mlflow_run_id or "", "--label", "hexagon"])
    assert result.exit_code == 1 and "error: run" in result.output and "hexagon" in result.output


def test_generating_from_a_classifier_run_says_what_to_use_instead(
    trained_runs_workspace: TrainedTemplate,
) -> None:
    with pytest.raises(
        GalleryError, match="has no generator to sample; generate with a finished image-flow run"
    ):
        walk(trained_runs_workspace.run_ids["image"])


def test_a_killed_flow_job_resumes_from_its_last_epoch_with_its_filmstrip(sample_workspace: Path) -> None:
    job_id = launch_flow(3)
    running = wait_for(
        JobPool(), job_id, lambda j: (j.progress or {}).get("epoch", 0) >= 1 and j.state == "running", TRAIN_S
    )
    os.kill(running.pid or 0, signal.SIGKILL)
    assert wait_until_final(job_id, timeout_s=TRAIN_S).state == JobState.FAILED

    resumed = wait_until_final(resume_job(job_id), timeout_s=TRAIN_S)

    assert resumed.state == JobState.SUCCEEDED, resumed.error_tail
    progress = resumed.progress or {}
    assert progress["first_epoch"] >= 1
    assert [row["epoch"] for row in progress["history"]] == [1, 2, 3]
    assert set(progress["pictures"]) == {"1", "2", "3"}
