"""The expected time said before launch: measured steps times the steps a job would take."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from canvascraft.errors import TrainingError
from canvascraft.services.jobs import estimate_time, validation_items


def test_the_estimate_counts_the_jobs_steps_and_measures_one(sample_workspace: Path) -> None:
    estimate = estimate_time(
        "sample-images", "image-starter", "image-cnn", {"epochs": 3, "batch_size": 8, "width": 8}
    )

    held_out = len(validation_items("sample-images")[0])
    assert estimate.epochs == 3 and estimate.batch_size == 8 and estimate.device == "cpu"  # as the run plans
    assert estimate.steps_per_epoch == math.ceil((120 - held_out) / 8)
    assert estimate.validation_steps == math.ceil(held_out / 8)
    assert 0 < estimate.seconds_per_step < 30
    assert estimate.seconds == pytest.approx(
        3 * (estimate.steps_per_epoch + estimate.validation_steps / 3) * estimate.seconds_per_step
    )
    assert (
        estimate.sentence().startswith("At most about ")
        and "3 epochs of 12 step(s) (batches of 8)" in estimate.sentence()
    )


def test_a_recipe_the_trainer_refuses_is_named_before_launch(sample_workspace: Path) -> None:
    with pytest.raises(TrainingError, match=r"learns pictures with values in -1\.\.1.*half preset"):
        estimate_time("sample-images", "image-starter", "image-flow", {"width": 8, "resolution": "16"})
