"""Training core: split, datasets over the sample workspace, trainers, loop, checkpoints, resume."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from canvascraft.recipe.starters import STARTER_RECIPES
from canvascraft.services.datasets import open_version, table_rows
from canvascraft.training import (
    EpochResult,
    SplitData,
    TrainingError,
    all_trainers,
    get_trainer,
    load_checkpoint,
    load_split,
    stratified_split,
    train,
)

TINY: dict[str, Any] = {"epochs": 1, "batch_size": 16, "width": 8}


def starter(modality: str) -> Any:
    return next(r for r in STARTER_RECIPES if r.name == f"{modality}-starter")


def table_split() -> SplitData:
    return load_split("sample-table", starter("table"), val_fraction=0.25, seed=3)


def check_metrics(result: EpochResult) -> None:
    for value in (result.train_accuracy, result.train_f1, result.val_accuracy, result.val_f1):
        assert 0.0 <= value <= 1.0
    assert 0.0 < result.train_loss < 20 and 0.0 < result.val_loss < 20
    assert result.seconds >= 0


def test_split_is_stratified_and_deterministic() -> None:
    labels = ["a"] * 50 + ["b"] * 20 + ["c"] * 2 + ["d"]
    train_idx, val_idx = stratified_split(labels, 0.2, seed=7)
    assert sorted(train_idx + val_idx) == list(range(len(labels)))
    val_counts = Counter(labels[i] for i in val_idx)
    assert val_counts == {"a": 10, "b": 4, "c": 1}  # "d" has one item: it stays in training
    assert Counter(labels[i] for i in train_idx)["c"] == 1
    assert stratified_split(labels, 0.2, seed=7) == (train_idx, val_idx)
    assert stratified_split(labels, 0.2, seed=8) != (train_idx, val_idx)
    with pytest.raises(ValueError, match="val_fraction"):
        stratified_split(labels, 1.0, seed=0)


def test_trainers_build_seeded_models() -> None:
    shapes = {"image": (3, 20, 28), "audio": (1, 64, 50), "table": (12,)}
    classifiers = [t for t in all_trainers() if t.objective.task == "classify"]
    assert {t.modality for t in classifiers} == set(shapes)
    for cls in classifiers:
        trainer = cls(seed=5, **({"width": 4} if "width" in {p.name for p in cls.hyperparams} else {}))
        model, again = (trainer.build_model(shapes[cls.modality], 4) for _ in range(2))
        model.eval()
        assert model(torch.zeros(2, *shapes[cls.modality])).shape == (2, 4)
        for (name, a), b in zip(model.state_dict().items(), again.state_dict().values(), strict=True):
            assert torch.equal(a, b), name


def test_unknown_trainer_and_bad_hyperparameters_are_explained() -> None:
    with pytest.raises(KeyError, match="unknown trainer 'image-cn'; did you mean image-cnn"):
        get_trainer("image-cn")
    with pytest.raises(TrainingError, match=r"table-mlp.colour: unknown.*table-mlp.epochs: must be >= 1"):
        get_trainer("table-mlp")(epochs=0, colour=1)


@pytest.mark.parametrize(("modality", "dataset"), [("image", "sample-images"), ("audio", "sample-audio")])
def test_item_training_checkpoints_and_best_reloads(
    sample_workspace: Path, tmp_path: Path, modality: str, dataset: str
) -> None:
    split = load_split(dataset, starter(modality), val_fraction=0.25, seed=1, max_items=30)
    assert len(split.val) > 0 and set(split.train_indices).isdisjoint(split.val_indices)
    x, y = split.train[0]
    assert x.dtype == torch.float32 and x.shape == split.input_shape and 0 <= y < len(split.classes)
    if modality == "audio":
        assert split.input_shape[0] == 1 and len(split.input_shape) == 3
    trainer = get_trainer(f"{modality}-cnn")(**TINY)
    model = trainer.build_model(split.input_shape, len(split.classes))
    seen: list[EpochResult] = []
    hyper = trainer.settings
    result = train(model, split.train, split.val, hyper, device="cpu", checkpoint_dir=tmp_path,
                   on_epoch=seen.append)  # fmt: skip
    assert seen == result.history and [r.epoch for r in seen] == [1] and result.best_epoch == 1
    check_metrics(result.best)
    files = ["best.safetensors", "best.json", "last.safetensors", "last.json", "last.optimizer.safetensors"]
    assert all((tmp_path / name).is_file() for name in files)

    fresh = trainer.build_model(split.input_shape, len(split.classes))
    info = load_checkpoint(fresh, result.best_path)
    assert info["epoch"] == 1
    batch = torch.stack([split.val[i][0] for i in range(len(split.val))])
    model.eval()
    fresh.eval()
    with torch.no_grad():
        assert torch.equal(model(batch), fresh(batch))


def test_table_recipe_is_fitted_on_training_rows_only(sample_workspace: Path) -> None:
    split = table_split()
    frame = table_rows(open_version("sample-table"))
    train_rows = frame.iloc[split.train_indices]
    assert split.table_state is not None
    scale = next(s["state"] for s in split.table_state if s["brush"] == "standard_scale")
    means = dict(zip(scale["columns"], scale["fitted"]["mean_"]["values"], strict=True))
    for column in ("hue", "stroke_count"):
        assert means[column] == pytest.approx(train_rows[column].mean())
        assert means[column] != pytest.approx(frame[column].mean())
    assert scale["fitted"]["n_samples_seen_"] == len(split.train_indices)
    x_train = torch.stack([x for x, _ in split.train])
    assert x_train.shape == (len(split.train_indices), *split.input_shape)
    assert x_train.mean(0).abs().max() < 1e-4  # standardised on exactly these rows


def test_resume_continues_exactly_where_the_run_stopped(sample_workspace: Path, tmp_path: Path) -> None:
    split = table_split()
    trainer = get_trainer("table-mlp")(epochs=3, batch_size=32, seed=2)
    shape, n = split.input_shape, len(split.classes)

    whole = train(trainer.build_model(shape, n), split.train, split.val, trainer.settings, device="cpu",
                  checkpoint_dir=tmp_path / "whole")  # fmt: skip
    interrupted: list[EpochResult] = []

    def stop_after_one(result: EpochResult) -> None:  # as a job killed during epoch 2
        interrupted.append(result)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(trainer.build_model(shape, n), split.train, split.val, trainer.settings, device="cpu",
              checkpoint_dir=tmp_path / "parts", on_epoch=stop_after_one)  # fmt: skip
    assert [r.epoch for r in interrupted] == [1]
    seen: list[int] = []
    resumed = train(trainer.build_model(shape, n), split.train, split.val, trainer.settings, device="cpu",
                    checkpoint_dir=tmp_path / "parts", on_epoch=lambda r: seen.append(r.epoch),
                    resume=True)  # fmt: skip
    assert seen == [2, 3]  # the finished epoch is not run again
    assert [r.epoch for r in resumed.history] == [1, 2, 3]
    assert resumed.history[0] == interrupted[0]
    for r in resumed.history:
        check_metrics(r)
    a, b = load_file(str(whole.last_path)), load_file(str(resumed.last_path))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(TrainingError, match="nothing to resume"):
        train(trainer.build_model(shape, n), split.train, split.val, trainer.settings,
              checkpoint_dir=tmp_path / "empty", resume=True)  # fmt: skip


def test_early_stopping_when_validation_loss_stalls(sample_workspace: Path, tmp_path: Path) -> None:
    split = table_split()
    trainer = get_trainer("table-mlp")(epochs=6, learning_rate=0.0, patience=1)
    model = trainer.build_model(split.input_shape, len(split.classes))
    result = train(model, split.train, split.val, trainer.settings, device="cpu", checkpoint_dir=tmp_path)
    # Epoch 1 sets the best loss; with nothing learned, epochs 2 and 3 are not lower: patience 1 stops.
    assert [r.epoch for r in result.history] == [1, 2, 3]
    assert result.stopped_early and result.best_epoch == 1
    assert [r.is_best for r in result.history] == [True, False, False]


@pytest.mark.parametrize(
    ("poison", "cause"),
    [("inputs", "inputs hold NaN or infinite values"), ("diverged", "lower the learning rate")],
)
def test_a_non_finite_loss_stops_training_at_once_naming_the_cause(
    poison: str, cause: str, tmp_path: Path
) -> None:
    trainer = get_trainer("table-mlp")(epochs=3, batch_size=4)
    generator = torch.Generator().manual_seed(0)
    x, y = torch.rand((16, 5), generator=generator), torch.arange(16) % 2
    if poison == "inputs":
        x[5, 2] = float("nan")
    model = trainer.build_model(5, 2)
    if poison == "diverged":
        with torch.no_grad():
            for weight in model.parameters():
                weight.fill_(float("inf"))
    data = torch.utils.data.TensorDataset(x, y)
    with pytest.raises(TrainingError, match=rf"the loss became (nan|inf) at training batch \d+; .*{cause}"):
        train(model, data, data, trainer.settings, device="cpu", checkpoint_dir=tmp_path)
    assert not (tmp_path / "best.safetensors").exists()  # nothing was saved from a poisoned epoch


def test_pictures_of_different_sizes_without_a_resize_say_so(sample_workspace: Path, tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    from canvascraft.errors import DatasetError
    from canvascraft.services.datasets import import_path

    for label, size in (("ink", (8, 8)), ("wash", (12, 10))):
        (tmp_path / "mixed" / label).mkdir(parents=True)
        for copy in range(4):
            Image.fromarray(np.full((*size[::-1], 3), 40 * copy, np.uint8)).save(
                tmp_path / "mixed" / label / f"{copy}.png"
            )
    import_path(tmp_path / "mixed", "mixed")
    split = load_split("mixed", {"name": "as-is", "modality": "image", "brushes": []}, 0.25, 0)
    trainer = get_trainer("image-cnn")(epochs=1, batch_size=8, width=4)
    model = trainer.build_model(split.input_shape, len(split.classes))
    with pytest.raises(
        DatasetError, match=r"pictures of 2 different sizes \(3×8×8, 3×10×12\); add a resize brush"
    ):
        train(model, split.train, split.val, trainer.settings, device="cpu", checkpoint_dir=tmp_path / "ck")


def test_a_run_is_planned_from_its_data_so_small_sets_get_enough_steps() -> None:
    from canvascraft.training.loop import plan_training

    defaults = get_trainer("image-cnn")().settings
    few = plan_training(defaults, 96)  # 3 classes of 32 items: batches of 32 would be 3 steps an epoch
    assert (few.batch_size, few.steps_per_epoch, few.epochs, few.capped_by_steps) == (12, 8, 100, False)
    many = plan_training(defaults, 10_000)  # thousands of items: the step budget ends it after a few epochs
    assert (many.batch_size, many.steps_per_epoch, many.epochs, many.capped_by_steps) == (32, 313, 7, True)
    chosen = plan_training({**defaults, "batch_size": 4}, 96)  # a smaller batch than the floor is kept
    assert chosen.batch_size == 4


def test_the_learning_rate_warms_up_then_eases_off() -> None:
    from canvascraft.training.loop import Plan, learning_rate_at

    plan = Plan(epochs=10, batch_size=8, steps_per_epoch=10, capped_by_steps=False)
    rates = [learning_rate_at(step, plan, 0.01, "warmup-cosine") for step in range(plan.steps)]
    peak = rates.index(max(rates))
    assert 0 < peak < 10 and rates[0] < rates[peak] / 2  # a short climb
    assert all(a >= b for a, b in zip(rates[peak:], rates[peak + 1 :], strict=False))  # then only down
    assert rates[-1] < 0.001
    assert {learning_rate_at(step, plan, 0.01, "constant") for step in range(plan.steps)} == {0.01}


def test_the_best_epoch_is_the_most_accurate_with_ties_to_the_lower_loss() -> None:
    objective = get_trainer("image-cnn").objective
    rows = [
        {"epoch": 1, "val_loss": 0.9, "val_accuracy": 0.50, "val_f1": 0.40},
        {"epoch": 2, "val_loss": 0.6, "val_accuracy": 0.75, "val_f1": 0.50},  # lowest loss is not the best
        {"epoch": 3, "val_loss": 0.7, "val_accuracy": 0.875, "val_f1": 0.60},
        {"epoch": 4, "val_loss": 0.65, "val_accuracy": 0.875, "val_f1": 0.80},  # same accuracy, lower loss
    ]
    assert objective.best_epoch(rows, {})["epoch"] == 4
    assert objective.best(objective.monitor_for({"best_by": "f1"}), rows)["epoch"] == 4
    assert objective.best(objective.monitor_for({"best_by": "f1"}), rows[:3])["epoch"] == 3
    marked = [{**row, "is_best": row["epoch"] == 2} for row in rows]  # what the loop marked wins
    assert objective.best_epoch(marked, {})["epoch"] == 2


def test_training_says_why_it_stopped(sample_workspace: Path, tmp_path: Path) -> None:
    split = table_split()
    stalled = get_trainer("table-mlp")(epochs=6, learning_rate=0.0, patience=1)
    result = train(stalled.build_model(split.input_shape, len(split.classes)), split.train, split.val,
                   stalled.settings, device="cpu", checkpoint_dir=tmp_path / "stalled")  # fmt: skip
    assert result.stop_reason == "stopped early: no better validation accuracy for 2 epochs"
    budget = get_trainer("table-mlp")(epochs=50, max_steps=3)
    result = train(budget.build_model(split.input_shape, len(split.classes)), split.train, split.val,
                   budget.settings, device="cpu", checkpoint_dir=tmp_path / "budget")  # fmt: skip
    assert result.stop_reason.startswith("used its step budget: ") and "(max_steps 3)" in result.stop_reason
    assert len(result.history) == result.plan.epochs < 50
    whole = get_trainer("table-mlp")(epochs=2)
    result = train(whole.build_model(split.input_shape, len(split.classes)), split.train, split.val,
                   whole.settings, device="cpu", checkpoint_dir=tmp_path / "whole")  # fmt: skip
    assert result.stop_reason == "ran all 2 epochs"


def test_real_handwritten_digits_are_learnt_from_a_few_dozen_each_with_the_defaults(tmp_path: Path) -> None:
    """Three classes of 32 real digits (scikit-learn's bundled set, 8×8 pixels): the defaults must
    learn them, not sit at one class's share while training accuracy climbs."""
    from sklearn.datasets import load_digits

    digits = load_digits(n_class=3)
    x = (torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16.0 - 0.5) / 0.5
    y = torch.tensor(digits.target)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    train_idx = torch.cat([order[y[order] == c][:32] for c in range(3)])
    val_idx = torch.cat([order[y[order] == c][32:42] for c in range(3)])
    trainer = get_trainer("image-cnn")(max_steps=120)
    model = trainer.build_model((1, 8, 8), 3)
    data = torch.utils.data.TensorDataset
    result = train(model, data(x[train_idx], y[train_idx]), data(x[val_idx], y[val_idx]), trainer.settings,
                   device="cpu", checkpoint_dir=tmp_path)  # fmt: skip
    assert result.best["val_accuracy"] >= 0.9, [round(r["val_accuracy"], 2) for r in result.history]


def test_ties_on_accuracy_move_the_best_epoch_but_do_not_keep_training(tmp_path: Path) -> None:
    """Accuracy that cannot climb any more ends the run after ``patience`` epochs, even while the
    validation loss still edges down; the kept epoch is the tie's lowest loss."""
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).repeat(16, 1)
    y = torch.tensor([0, 1]).repeat(16)
    model = torch.nn.Linear(2, 2)
    with torch.no_grad():  # already right on every item, but not yet sure of it
        model.weight.copy_(torch.eye(2))
        model.bias.zero_()
    data = torch.utils.data.TensorDataset(x, y)
    settings = {**get_trainer("table-mlp")(epochs=12, patience=2, schedule="constant").settings}
    result = train(model, data, data, settings, device="cpu", checkpoint_dir=tmp_path)
    losses = [row.metrics["val_loss"] for row in result.history]
    assert {row.metrics["val_accuracy"] for row in result.history} == {1.0}
    assert losses == sorted(losses, reverse=True) and losses[0] > losses[-1]  # still falling
    assert len(result.history) == 4, losses  # the first epoch's 1.0, then patience + 1 without a gain
    assert result.stop_reason == "stopped early: no better validation accuracy for 3 epochs"
    assert result.best_epoch == 4  # the lowest loss of the tied epochs is the one kept
