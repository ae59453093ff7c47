"""What a trainer optimises and reports: its task, how one batch becomes a loss, and its metrics.

The loop (``canvascraft.training.loop``) knows none of this: it asks the trainer's ``Objective`` for
the loss of each batch and hands every batch's outputs to a ``Meter``, which turns one pass over a
split into that split's figures. Everything outside a trainer reads metric names from here:
MLflow logs ``<split>_<metric>`` (``train_loss``, ``val_accuracy``…), tuning offers the validation
metrics with their directions, the gallery sorts by ``primary``, early stopping and the ``best``
checkpoint follow ``monitor`` (or the metric a run chose with its ``best_by`` setting), ties going to
``tie_break``.

A new task (generation, say: a denoising loss, no accuracy) is a new ``Objective`` with its own
metrics; a trainer names it in ``objective``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from canvascraft.errors import TrainingError

if TYPE_CHECKING:  # torch is imported by the loop that calls these, not by readers of metric names
    from pathlib import Path

    import torch
    from torch import nn
    from torch.utils.data import Dataset

    from canvascraft.training.finish import FinishedRun
    from canvascraft.training.split import SplitData

Direction = Literal["maximize", "minimize"]
SPLITS = ("train", "val")
BASELINE = "baseline"
"""What a run's classical baseline (``canvascraft.training.baseline``) logs its figures under, as a split
would: ``baseline_accuracy`` beside ``val_accuracy``."""


@dataclass(frozen=True)
class Metric:
    """One figure an objective reports for each split; logged as ``<split>_<name>``."""

    name: str
    direction: Direction
    label: str
    percent: bool = False
    """Shown as a percentage (accuracy) rather than a plain number (loss, F1)."""

    def key(self, split: str) -> str:
        return f"{split}_{self.name}"

    def shown(self, value: float) -> str:
        return f"{value:.1%}" if self.percent else f"{value:.2f}"

    @property
    def chart_format(self) -> str:
        """The same format as ``shown`` in d3's notation, for chart axes and hover labels (plotly)."""
        return ".1%" if self.percent else ".2f"


class Meter(ABC):
    """Collects one pass over a split, batch by batch; ``result`` gives that split's figures by metric
    name (every metric of its objective, ``loss`` included)."""

    @abstractmethod
    def add(self, outputs: torch.Tensor, targets: torch.Tensor, loss: torch.Tensor) -> None:
        """Called after each batch with what ``Objective.loss`` returned and the batch's targets."""

    @abstractmethod
    def result(self) -> dict[str, float]:
        """Called once the pass is over; a pass with no items raises ``TrainingError``."""


class Objective(ABC):
    """A task's loss and metrics. ``metrics`` lists what each split reports (``loss`` first);
    ``primary`` is the one figure shown, compared and tuned by default; ``monitor`` (with its
    direction) picks the ``best`` checkpoint and drives early stopping, unless a run chose another of
    ``best_by``; between epochs equal on it, the better ``tie_break`` wins (accuracy on a few dozen
    validation items often ties)."""

    task: ClassVar[str]
    metrics: ClassVar[tuple[Metric, ...]]
    primary: ClassVar[str]
    monitor: ClassVar[str]
    best_by: ClassVar[tuple[str, ...]] = ()
    """Metric names a run may pick its best epoch by (its trainer's ``best_by`` setting)."""
    tie_break: ClassVar[str | None] = None
    pins_predictions: ClassVar[bool] = True
    """Whether pinned validation items get a prediction each epoch (a classifier's filmstrip)."""

    @abstractmethod
    def check_targets(self, trainer: str, n_classes: int) -> None:
        """Refuse data this task cannot learn from (before a model is built), naming the trainer."""

    @abstractmethod
    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One batch: the scalar loss to minimise and the outputs the meter reads."""

    @abstractmethod
    def meter(self) -> Meter:
        """A fresh meter for one pass over one split."""

    def log_finished(self, finished: FinishedRun) -> None:  # noqa: B027 (an optional hook)
        """Log what a finished run keeps beside its model (reports, samples, a drift reference);
        runs after the best checkpoint is loaded and before the model is logged. Nothing by default."""

    def epoch_picture(self, model: nn.Module, epoch: int, epochs: int, folder: Path) -> str | None:
        """Draw what this epoch's model makes into a PNG under ``folder`` and return its name there
        (a generative filmstrip); ``None``, the default, when there is nothing to show."""
        return None

    def epoch_figures(self, model: nn.Module, epoch: int, epochs: int, split: SplitData) -> dict[str, float]:
        """Figures measured on this epoch's model besides the meter's (a generator's sample quality),
        logged and charted with the epoch's metrics. None by default."""
        return {}

    def picture_caption(self, classes: list[str]) -> str:
        """What the rows and columns of ``epoch_picture``'s PNGs are, for a dataset of ``classes``."""
        return ""

    def log_model(self, finished: FinishedRun, extra_files: dict[str, str]) -> str:
        """Log the finished model with ``extra_files`` beside it; returns its MLflow URI. By default an
        MLflow model (a ``torch.export`` program and safetensors weights) that predicts from one input."""
        return finished.training.log_model(
            finished.model, example_batch(finished.split.val), extra_files=extra_files
        )

    # Derived names, so no caller spells one.

    @property
    def loss_metric(self) -> Metric:
        """The loss every objective reports (the metric named ``loss``)."""
        return next(m for m in self.metrics if m.name == "loss")

    @property
    def scores(self) -> tuple[Metric, ...]:
        """The metrics besides the loss: the figures tables and summaries show (the loss itself for an
        objective that reports nothing else, such as a generator's)."""
        return tuple(m for m in self.metrics if m.name != "loss") or self.metrics

    @property
    def primary_metric(self) -> Metric:
        return self.metric(self.primary)

    def metric_keys(self, split: str | None = None) -> list[str]:
        """Every logged metric name (of one split, or both)."""
        return [m.key(s) for s in ((split,) if split else SPLITS) for m in self.metrics]

    def direction(self, key: str) -> Direction:
        """Whether ``key`` (``val_accuracy``) improves upwards or downwards."""
        for metric in self.metrics:
            if key in (metric.key(s) for s in SPLITS):
                return metric.direction
        raise TrainingError(
            f"{key!r} is not a metric of {self.task}; choose from {', '.join(self.metric_keys())}"
        )

    def metric(self, key: str) -> Metric:
        """The metric behind a logged name (``val_accuracy`` → accuracy)."""
        for metric in self.metrics:
            if key in (metric.key(s) for s in SPLITS):
                return metric
        known = ", ".join(self.metric_keys())
        raise TrainingError(f"{key!r} is not a metric of {self.task}; choose from {known}")

    def monitor_for(self, settings: Mapping[str, Any]) -> str:
        """The validation metric a run with these trainer ``settings`` picks its best epoch by."""
        chosen = settings.get("best_by")
        return f"val_{chosen}" if chosen in self.best_by else self.monitor

    def improves(self, key: str, row: Mapping[str, float], than: Mapping[str, float] | None) -> bool:
        """Whether the epoch ``row`` is better than ``than`` on ``key``, ties settled by ``tie_break``."""
        if than is None:
            return True
        if row[key] != than[key]:
            return self.better(key, row[key], than[key])
        tie = self.tie_break
        if tie is None or tie == key or tie not in row or tie not in than:
            return False
        return self.better(tie, row[tie], than[tie])

    def best(self, key: str, rows: list[dict[str, float]]) -> dict[str, float] | None:
        """The row (an epoch's figures) with the best ``key`` (ties settled by ``tie_break``); the first
        of equals, None for no rows."""
        best: dict[str, float] | None = None
        for row in rows:
            if key in row and self.improves(key, row, best):
                best = row
        return best

    def best_epoch(self, rows: list[dict[str, Any]], settings: Mapping[str, Any]) -> dict[str, Any] | None:
        """The epoch a run's ``best`` checkpoint holds, as its progress row: the last the loop marked
        ``is_best``, else (rows that carry no mark) the best on the run's monitored metric."""
        marked = [row for row in rows if row.get("is_best")]
        return marked[-1] if marked else self.best(self.monitor_for(settings), rows)

    def better(self, key: str, value: float, than: float) -> bool:
        return value > than if self.direction(key) == "maximize" else value < than

    def worst(self, key: str) -> float:
        """The value every real one beats (where a search for the best starts)."""
        return -np.inf if self.direction(key) == "maximize" else np.inf


def example_batch(val: Dataset[Any]) -> torch.Tensor:
    """A batch of two validation inputs for exporting a model (a batch of 1 would fix its batch size)."""
    import torch

    first = val[0][0]
    second = val[1][0] if len(val) > 1 else first  # type: ignore[arg-type]
    if first.shape != second.shape:  # audio clips of different lengths
        second = first
    return torch.stack([first, second])


class _ClassificationMeter(Meter):
    def __init__(self) -> None:
        self.total, self.count, self.n_classes = 0.0, 0, 0
        self.predicted: list[np.ndarray] = []
        self.targets: list[np.ndarray] = []

    def add(self, outputs: torch.Tensor, targets: torch.Tensor, loss: torch.Tensor) -> None:
        self.total += loss.item() * len(targets)
        self.count += len(targets)
        self.n_classes = outputs.shape[1]
        self.predicted.append(outputs.argmax(1).cpu().numpy())
        self.targets.append(targets.cpu().numpy())

    def result(self) -> dict[str, float]:
        from sklearn.metrics import f1_score

        if self.count == 0:
            raise TrainingError("a split has no items; pick a larger dataset or a smaller validation share")
        pred, true = np.concatenate(self.predicted), np.concatenate(self.targets)
        f1 = f1_score(true, pred, labels=list(range(self.n_classes)), average="macro", zero_division=0)
        return {"loss": self.total / self.count, "accuracy": float((pred == true).mean()), "f1": float(f1)}


LABEL_SMOOTHING = 0.1
"""Share of each training target spread over the other classes: on a few dozen items a model otherwise
grows sure of every training item and its validation loss climbs while it still learns."""


class Classification(Objective):
    """Cross-entropy over class logits (label-smoothed while training; the validation loss is plain);
    accuracy and macro-F1 (every class counts the same). The best epoch is the most accurate one by
    default (the figure users read), the lower validation loss settling ties."""

    task = "classify"
    metrics = (
        Metric("loss", "minimize", "loss"),
        Metric("accuracy", "maximize", "accuracy", percent=True),
        Metric("f1", "maximize", "macro-F1"),
    )
    primary = "val_accuracy"
    monitor = "val_accuracy"
    best_by = ("accuracy", "f1")
    tie_break = "val_loss"

    def check_targets(self, trainer: str, n_classes: int) -> None:
        if n_classes < 2:
            raise TrainingError(f"{trainer}: training needs at least 2 classes, got {n_classes}")

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from torch.nn.functional import cross_entropy

        logits = model(x)
        smoothing = LABEL_SMOOTHING if model.training else 0.0
        return cross_entropy(logits.float(), y, label_smoothing=smoothing), logits

    def meter(self) -> Meter:
        return _ClassificationMeter()

    def log_finished(self, finished: FinishedRun) -> None:
        from canvascraft.training.finish import log_classification

        log_classification(finished)


CLASSIFICATION = Classification()
