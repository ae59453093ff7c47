"""A new trainer is one module: this one declares a linear model with an objective of its own (a
"top-2" hit rate beside the loss), registers it, and the shared loop, tracking names and tuning all
follow its declarations without a change anywhere else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from canvascraft.testing.trainers import TrainerContract
from canvascraft.training import LOOP_HYPERPARAMS, Trainer, train
from canvascraft.training.objectives import Meter, Metric, Objective
from canvascraft.training.trainers import TRAINERS, register_trainer
from canvascraft.tuning.studies import tuning_metrics


class TopTwoMeter(Meter):
    def __init__(self) -> None:
        self.loss, self.hits, self.count = 0.0, 0, 0

    def add(self, outputs: torch.Tensor, targets: torch.Tensor, loss: torch.Tensor) -> None:
        top = outputs.topk(2, dim=1).indices
        self.hits += int((top == targets[:, None]).any(dim=1).sum())
        self.loss += loss.item() * len(targets)
        self.count += len(targets)

    def result(self) -> dict[str, float]:
        return {"loss": self.loss / self.count, "top2": self.hits / self.count}


class TopTwo(Objective):
    task = "classify"
    metrics = (Metric("loss", "minimize", "loss"), Metric("top2", "maximize", "top-2 hit rate", percent=True))
    primary = "val_top2"
    monitor = "val_loss"

    def check_targets(self, trainer: str, n_classes: int) -> None:
        assert n_classes >= 2

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = model(x)
        return nn.functional.cross_entropy(logits, y), logits

    def meter(self) -> Meter:
        return TopTwoMeter()


class TableLinear(Trainer):
    name = "test-table-linear"
    modality = "table"
    summary = "One linear layer over the numeric columns."
    hyperparams = LOOP_HYPERPARAMS
    objective = TopTwo()

    def make(self, shape: tuple[int, ...], n_classes: int) -> nn.Module:
        return nn.Linear(shape[0], n_classes)


@pytest.fixture
def registered() -> Iterator[type[Trainer]]:
    register_trainer(TableLinear)
    yield TableLinear
    TRAINERS.unregister(TableLinear.name)


class TestTableLinear(TrainerContract):
    @pytest.fixture
    def trainer_class(self, registered: type[Trainer]) -> type[Trainer]:
        return registered


def test_its_own_metric_is_logged_and_offered_for_tuning(registered: type[Trainer], tmp_path: Path) -> None:
    data = TensorDataset(torch.rand(12, 4), torch.arange(12) % 3)
    trainer = registered(epochs=2, batch_size=4)
    result = train(
        trainer.build_model((4,), 3), data, data, trainer.settings, checkpoint_dir=tmp_path,
        objective=trainer.objective,
    )  # fmt: skip
    assert list(result.history[-1].metrics) == ["train_loss", "train_top2", "val_loss", "val_top2"]
    assert tuning_metrics(registered.name) == {"val_loss": "minimize", "val_top2": "maximize"}
