"""Progress document, plain-words endings and pinned items: the parts the Train page reads."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from canvascraft.errors import TrainingError
from canvascraft.jobs.reasons import explain_ending
from canvascraft.store.models import Job
from canvascraft.training.data import Member, load_split, validation_members
from canvascraft.training.pinned import MAX_PINNED, check_pins, default_pins
from canvascraft.training.progress import PinnedItem, Prediction, TrainingProgress


def test_fraction_and_eta_follow_epochs_and_steps() -> None:
    progress = TrainingProgress(epochs=4, phase="training", epoch=1, step=5, steps=10, elapsed_s=30.0)
    assert progress.fraction == pytest.approx(1.5 / 4)
    assert progress.eta_s == pytest.approx(30.0 / 1.5 * 2.5)  # 20 s per epoch, 2.5 epochs to go
    resumed = TrainingProgress(
        epochs=4, phase="training", epoch=3, step=0, steps=10, first_epoch=2, elapsed_s=8
    )
    assert resumed.eta_s == pytest.approx(8.0)  # its own pace: one epoch in 8 s, one left
    assert TrainingProgress(epochs=4, phase="preparing").eta_s is None
    assert TrainingProgress(epochs=4, phase="done", epoch=4).fraction == 1.0


def test_progress_round_trips_and_ignores_other_jobs_progress() -> None:
    progress = TrainingProgress(
        epochs=2,
        phase="training",
        epoch=1,
        history=[{"epoch": 1, "val_loss": 0.5}],
        pinned=[PinnedItem(3, "a.png", "cat", "ab" * 32)],
        filmstrip=[[Prediction("dog", 0.6)]],
    )
    assert TrainingProgress.from_dict(progress.to_dict()) == progress
    assert TrainingProgress.from_dict({"step": 3, "fraction": 0.2}) is None  # a sleep job's progress
    assert TrainingProgress.from_dict(None) is None


def job(state: str, **fields: object) -> Job:
    return Job(id=7, kind="train", spec={}, state=state, **fields)


def test_endings_are_explained_in_plain_words() -> None:
    killed = explain_ending(job("failed", signal=signal.SIGKILL, error_tail="epoch 1/3: ..."))
    assert killed is not None and "killed" in killed and "out of memory" in killed and "Resume" in killed
    tail = (
        "Traceback (most recent call last):\n  File x\n"
        "canvascraft.errors.DatasetError: dataset 'x' has no items"
    )
    error = explain_ending(job("failed", exit_code=1, error_tail=tail))
    assert error == "It stopped with an error (DatasetError): dataset 'x' has no items"
    memory = explain_ending(job("failed", exit_code=1, error_tail="RuntimeError: CUDA out of memory. Tried"))
    assert memory is not None and memory.startswith("It ran out of memory")
    lost = explain_ending(job("lost"))
    assert lost is not None and "lost track" in lost
    assert explain_ending(job("succeeded", exit_code=0)) is None
    assert explain_ending(job("running")) is None
    bare = explain_ending(job("failed", exit_code=3, error_tail="just some output"))
    assert bare == "It exited with code 3; the log below shows its last lines."


def members(labels: list[str]) -> list[Member]:
    return [Member(i, f"item-{i}", label, None) for i, label in enumerate(labels)]


def test_default_pins_take_every_class_in_turn() -> None:
    pool = members(["a"] * 6 + ["b"] * 2 + ["c"] * 5)
    pins = default_pins(pool)
    assert len(pins) == MAX_PINNED
    labels = [pool[i].label for i in pins]
    assert labels[:3] == ["a", "b", "c"] and labels.count("b") == 2  # b runs out; a and c fill up
    assert default_pins(members(["a", "b"])) == [0, 1]


def test_pins_outside_the_validation_split_or_too_many_are_refused() -> None:
    pool = members(["a"] * 12)
    assert check_pins([2, 2, 5], pool) == [2, 5]
    with pytest.raises(TrainingError, match=r"items \[40\] are not in the validation split"):
        check_pins([1, 40], pool)
    with pytest.raises(TrainingError, match="pin at most 8"):
        check_pins(list(range(9)), pool)


@pytest.mark.parametrize("dataset", ["sample-images", "sample-table"])
def test_validation_members_are_the_split_training_holds_out(sample_workspace: Path, dataset: str) -> None:
    from canvascraft.services.recipes import load_recipe

    recipe = load_recipe("image-starter" if dataset == "sample-images" else "table-starter")
    split = load_split(dataset, recipe, 0.25, 3, max_items=40)
    listed = validation_members(dataset, 0.25, 3, max_items=40)
    assert [m.index for m in listed] == split.val_indices
    assert sorted({m.label for m in listed}) == split.classes
