"""How long a training run will take, said before it is launched.

The cost of a step depends on the model, the picture size and the machine far more than any table
could say, so it is measured: the trainer builds its model for the real input shape and takes a few
optimiser steps on a batch of real (recipe-processed) items, on the device the job would use. The
estimate is steps × that time, plus the validation passes; it leaves out what the job does between
epochs (a generator's filmstrip and quality checks), which the sentence says.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import torch

from canvascraft.training.data import load_split
from canvascraft.training.loop import plan_training, resolve_device
from canvascraft.training.trainers import get_trainer

TIMED_STEPS = 2
VALIDATION_COST = 1 / 3
"""A validation batch (forward only) costs about a third of a training step (forward and backward)."""


@dataclass(frozen=True)
class TimeEstimate:
    epochs: int
    steps_per_epoch: int
    batch_size: int
    seconds_per_step: float
    validation_steps: int
    device: str

    @property
    def seconds(self) -> float:
        per_epoch = (self.steps_per_epoch + self.validation_steps * VALIDATION_COST) * self.seconds_per_step
        return self.epochs * per_epoch

    def sentence(self) -> str:
        """``At most about 6 min on the CPU here: 150 epochs of 2 steps (batches of 64), 1.2 s a step…``."""
        where = "the CPU" if self.device == "cpu" else f"the GPU ({self.device})"
        return (
            f"At most about {duration(self.seconds)} on {where} here: {self.epochs} epochs of "
            f"{self.steps_per_epoch} step(s) (batches of {self.batch_size}), {self.seconds_per_step:.2g} s a "
            "step as measured just now; early stopping usually ends it sooner, and anything else training "
            "here slows it."
        )


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def estimate_training(
    dataset: str,
    recipe: Any,
    trainer: str,
    hyper: dict[str, Any],
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    max_items: int | None = None,
    device: str = "auto",
) -> TimeEstimate:
    """Measure a few training steps of ``trainer`` with ``hyper`` on the dataset's real items."""
    configured = get_trainer(trainer)(**hyper)
    split = load_split(dataset, recipe, val_fraction, seed, max_items=max_items)
    settings = configured.settings
    plan = plan_training(settings, len(split.train))  # type: ignore[arg-type]
    batch = min(plan.batch_size, len(split.train))  # type: ignore[arg-type]
    where = resolve_device(None if device == "auto" else device)
    items = [split.train[i % len(split.train)] for i in range(batch)]  # type: ignore[arg-type]
    x = torch.stack([item[0] for item in items]).to(where)
    y = torch.tensor([int(item[1]) for item in items], device=where)
    model = configured.build_model(split.input_shape, len(split.classes)).to(where).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=float(settings["learning_rate"]))
    objective = configured.objective

    def step() -> None:
        optimiser.zero_grad()
        loss, _ = objective.loss(model, x, y)
        loss.backward()
        optimiser.step()

    step()  # the first step allocates and warms caches
    if where.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(TIMED_STEPS):
        step()
    if where.type == "cuda":
        torch.cuda.synchronize()
    per_step = (time.perf_counter() - started) / TIMED_STEPS
    return TimeEstimate(
        epochs=plan.epochs,
        steps_per_epoch=plan.steps_per_epoch,
        batch_size=batch,
        seconds_per_step=per_step,
        validation_steps=math.ceil(len(split.val) / batch),  # type: ignore[arg-type]
        device=str(where),
    )
