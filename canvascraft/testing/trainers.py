"""``TrainerContract``: what every registered trainer must do for the loop, tuning and the gallery.

A trainer's test subclasses it and provides the ``trainer_class`` fixture (parametrised over the
trainers it covers); ``input_shape`` and ``batch`` may be overridden for inputs the defaults do not
fit. The checks run on tiny in-memory tensors, so a trainer proves itself in seconds.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import ClassVar

import pytest
import torch
from torch.utils.data import TensorDataset

from canvascraft.errors import TrainingError
from canvascraft.training.loop import BEST, LAST, load_checkpoint, train
from canvascraft.training.trainers import LOOP_HYPERPARAMS, Trainer

SHAPES: dict[str, tuple[int, ...]] = {"image": (3, 12, 12), "audio": (1, 16, 20), "table": (6,)}
"""One item's shape per modality (no batch axis): what a recipe's last brush hands the model."""
TINY = {"epochs": 1, "batch_size": 4, "patience": 3}


class TrainerContract:
    n_classes: ClassVar[int] = 3
    items: ClassVar[int] = 12

    def input_shape(self, trainer_class: type[Trainer]) -> tuple[int, ...]:
        return SHAPES[trainer_class.modality]

    def batch(
        self, trainer_class: type[Trainer], size: int, seed: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs and targets the trainer's objective reads (class indices for classification)."""
        generator = torch.Generator().manual_seed(seed)
        x = torch.rand((size, *self.input_shape(trainer_class)), generator=generator)
        y = torch.arange(size) % self.n_classes
        return x, y

    def model(self, trainer_class: type[Trainer], **hyper: object) -> torch.nn.Module:
        return trainer_class(**hyper).build_model(self.input_shape(trainer_class), self.n_classes)

    def test_declares_what_the_form_and_the_catalog_need(self, trainer_class: type[Trainer]) -> None:
        assert trainer_class.name and trainer_class.name == trainer_class.name.lower()
        assert trainer_class.modality in SHAPES and trainer_class.summary.strip()
        names = [p.name for p in trainer_class.hyperparams]
        assert {p.name for p in LOOP_HYPERPARAMS} <= set(names), "the loop's settings must be declared"
        assert len(names) == len(set(names))
        for param in trainer_class.hyperparams:
            assert param.help.strip(), f"{trainer_class.name}.{param.name} has no help text"

    def test_a_bad_setting_is_refused_by_name(self, trainer_class: type[Trainer]) -> None:
        with pytest.raises(TrainingError, match=rf"{trainer_class.name}\.epochs: must"):
            trainer_class(epochs=0)
        with pytest.raises(TrainingError, match="unknown parameter"):
            trainer_class(no_such_setting=1)

    def test_objective_declares_its_metrics(self, trainer_class: type[Trainer]) -> None:
        objective = trainer_class.objective
        keys = objective.metric_keys()
        assert objective.task and len(keys) == len(set(keys))
        assert objective.primary in objective.metric_keys("val")
        assert objective.monitor in objective.metric_keys("val")
        assert all(metric.direction in ("maximize", "minimize") for metric in objective.metrics)
        assert objective.metrics[0].name == "loss" and objective.metrics[0].direction == "minimize"

    def test_same_seed_same_initial_weights(self, trainer_class: type[Trainer]) -> None:
        first, second = self.model(trainer_class, seed=5), self.model(trainer_class, seed=5)
        other = self.model(trainer_class, seed=6)
        pairs = list(zip(first.state_dict().values(), second.state_dict().values(), strict=True))
        assert all(torch.equal(a, b) for a, b in pairs)
        assert any(
            not torch.equal(a, b)
            for a, b in zip(first.state_dict().values(), other.state_dict().values(), strict=True)
        )

    def test_the_loss_of_a_batch_is_a_finite_scalar_with_gradients(
        self, trainer_class: type[Trainer]
    ) -> None:
        model = self.model(trainer_class)
        x, y = self.batch(trainer_class, 4)
        loss, outputs = trainer_class.objective.loss(model, x, y)
        assert loss.dim() == 0 and math.isfinite(loss.item())
        loss.backward()
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
        meter = trainer_class.objective.meter()
        meter.add(outputs.detach(), y, loss.detach())
        assert set(meter.result()) == {metric.name for metric in trainer_class.objective.metrics}

    def test_an_epoch_saves_checkpoints_that_reload_and_resume(
        self, trainer_class: type[Trainer], tmp_path: Path
    ) -> None:
        trainer = trainer_class(**TINY)
        x, y = self.batch(trainer_class, self.items)
        data = TensorDataset(x, y)
        model = trainer.build_model(self.input_shape(trainer_class), self.n_classes)
        first = train(
            model, data, data, trainer.settings, checkpoint_dir=tmp_path, objective=trainer.objective
        )
        assert (tmp_path / BEST).exists() and (tmp_path / LAST).exists()
        assert [r.epoch for r in first.history] == [1]
        assert set(first.history[0].metrics) == set(trainer.objective.metric_keys())
        fresh = trainer.build_model(self.input_shape(trainer_class), self.n_classes)
        assert load_checkpoint(fresh, tmp_path / BEST)["epoch"] == 1
        longer = {**trainer.settings, "epochs": 2}
        resumed = train(
            model, data, data, longer, checkpoint_dir=tmp_path, resume=True, objective=trainer.objective
        )
        assert [r.epoch for r in resumed.history] == [1, 2]
