"""Trainers (Strategy + Factory, like the brush registry): one class per model family, named, with
declared hyperparameters, so the CLI, the Train page and tuning all read the same schema.

A trainer builds the model and names its ``objective`` (``canvascraft.training.objectives``: the task,
the loss of a batch, the metrics it reports); the loop (``canvascraft.training.loop``) is shared, so
every trainer gets the same early stopping, checkpoints and tracking. A new trainer is one module: a
``Trainer`` subclass registered with ``register_trainer``.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import torch
from torch import nn

from canvascraft.brushes.base import Modality, Param, check_settings
from canvascraft.errors import TrainingError
from canvascraft.registry import Registry
from canvascraft.training.objectives import CLASSIFICATION, Objective

MAX_SEED = 2**32 - 1


#: What the shared loop reads; every trainer declares these, model-specific ones come after.
LOOP_HYPERPARAMS: tuple[Param, ...] = (
    Param(
        "epochs",
        "int",
        100,
        "Passes over the training items, at most: the step budget or early stopping usually ends "
        "training sooner.",
        1,
        1000,
    ),
    Param(
        "max_steps",
        "int",
        2000,
        "Optimisation steps at most: a few dozen items get many epochs, thousands get a few.",
        1,
        1_000_000,
    ),
    Param(
        "batch_size",
        "int",
        32,
        "Items per optimisation step, at most: a small dataset takes smaller batches, so that every "
        "epoch still has 8 steps.",
        1,
        4096,
    ),
    Param(
        "learning_rate",
        "float",
        3e-3,
        "Peak step size of the AdamW optimiser: reached after a short warm-up, then eased to nearly "
        "zero by the last planned step.",
        0.0,
        1.0,
    ),
    Param("weight_decay", "float", 1e-4, "Pull of the weights towards zero (AdamW).", 0.0, 1.0),
    Param(
        "patience",
        "int",
        10,
        "Epochs without a better validation figure (the one best_by names) before training stops early.",
        0,
        1000,
    ),
    Param(
        "schedule",
        "choice",
        "warmup-cosine",
        "How the learning rate moves: a warm-up then a cosine decay, or constant.",
        choices=("warmup-cosine", "constant"),
    ),
    Param("seed", "int", 0, "Seeds the model's initial weights, the shuffling and dropout.", 0, MAX_SEED),
)

BEST_BY = Param(
    "best_by",
    "choice",
    "accuracy",
    "The validation figure that picks the best epoch (the model kept) and drives early stopping: "
    "accuracy, or macro-F1 when some classes are rare.",
    choices=("accuracy", "f1"),
)
CLASSIFIER_LOOP: tuple[Param, ...] = (*LOOP_HYPERPARAMS, BEST_BY)
"""The loop's settings for a classifier, which also chooses the metric its best epoch is picked by."""

InputShape = int | tuple[int, ...]


class Trainer(ABC):
    """Base class of every trainer; subclasses register with ``register_trainer``.

    ``__init__`` only validates and stores the hyperparameters (as brushes do), so a trainer built
    from a saved run's settings is the same trainer. ``build_model`` is seeded by ``seed``, so two
    runs with the same settings start from the same weights.
    """

    name: ClassVar[str]
    modality: ClassVar[Modality]
    summary: ClassVar[str]
    hyperparams: ClassVar[tuple[Param, ...]] = CLASSIFIER_LOOP
    objective: ClassVar[Objective] = CLASSIFICATION
    starter: ClassVar[str | None] = None
    """The starter recipe made for this trainer, offered first; ``None``: the modality's own starter."""

    def __init__(self, **hyper: Any) -> None:
        values, errors = check_settings(self.hyperparams, hyper)
        if errors:
            raise TrainingError("; ".join(f"{self.name}.{e.param}: {e.message}" for e in errors))
        self.settings = values

    def build_model(self, input_shape: InputShape, n_classes: int) -> nn.Module:
        """A freshly initialised model for inputs of ``input_shape`` (one item, no batch axis)."""
        self.objective.check_targets(self.name, n_classes)
        shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.settings["seed"])
            return self.make(shape, n_classes)

    @abstractmethod
    def make(self, shape: tuple[int, ...], n_classes: int) -> nn.Module:
        """Build the model; runs with torch's RNG already seeded by ``build_model``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.settings.items())})"


TRAINER_MODULES = ("canvascraft.training.flow",)
"""Trainers in modules of their own, imported on the first lookup; those below register as this
module loads."""
TRAINERS: Registry[type[Trainer]] = Registry("trainer", TRAINER_MODULES)
register_trainer = TRAINERS.register


def all_trainers(modality: Modality | None = None) -> list[type[Trainer]]:
    return TRAINERS.all(modality)


def objective_of(trainer: str | None) -> Objective:
    """The objective of the trainer called ``trainer`` (a run's ``trainer`` param); classification for
    a run whose trainer this studio does not know (it made every older run)."""
    try:
        return TRAINERS.get(trainer or "").objective
    except KeyError:
        return CLASSIFICATION


def get_trainer(name: str) -> type[Trainer]:
    """The trainer class called ``name``; raises ``UnknownNameError`` naming the closest known ones."""
    return TRAINERS.get(name)


WIDTH = Param("width", "int", 32, "Channels of the first convolution (doubled twice after).", 4, 256)
DROPOUT = Param("dropout", "float", 0.2, "Share of features dropped before the classifier.", 0.0, 0.9)


def norm_groups(channels: int) -> int:
    """Groups for a ``GroupNorm`` over ``channels``: up to 8, each of at least 4 channels."""
    return max(g for g in (8, 4, 2, 1) if channels % g == 0 and (channels // g >= 4 or g == 1))


def small_cnn(channels: int, width: int, dropout: float, n_classes: int) -> nn.Sequential:
    """Three conv blocks and global average pooling, so any input size works.

    Group normalisation, not batch normalisation: it needs no running statistics, so a model trained
    for a few dozen steps on small batches evaluates as it trained (batch statistics barely moved from
    their start then, and validation accuracy sat at one class's share)."""
    layers: list[nn.Module] = []
    widths = [channels, width, width * 2, width * 4]
    for c_in, c_out in itertools.pairwise(widths):
        layers += [
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
            nn.GroupNorm(norm_groups(c_out), c_out),
            nn.ReLU(inplace=True),
            # ceil_mode keeps a 1-pixel map at 1 pixel, so small inputs still pass.
            nn.MaxPool2d(2, ceil_mode=True),
        ]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(widths[-1], n_classes)]
    return nn.Sequential(*layers)


def _expect_rank(name: str, shape: tuple[int, ...], rank: int, what: str) -> None:
    if len(shape) != rank:
        raise TrainingError(f"{name} takes {what}, got items shaped {shape}; check the recipe's last brushes")


@register_trainer
class ImageCnn(Trainer):
    name = "image-cnn"
    modality = "image"
    summary = "A small convolutional network for pictures of any size."
    hyperparams = (*CLASSIFIER_LOOP, WIDTH, DROPOUT)

    def make(self, shape: tuple[int, ...], n_classes: int) -> nn.Module:
        _expect_rank(self.name, shape, 3, "images shaped (channels, height, width)")
        return small_cnn(shape[0], self.settings["width"], self.settings["dropout"], n_classes)


@register_trainer
class AudioCnn(Trainer):
    name = "audio-cnn"
    modality = "audio"
    summary = "A small convolutional network reading a spectrogram as a one-channel picture."
    hyperparams = (*CLASSIFIER_LOOP, Param("width", "int", 16, WIDTH.help, 4, 256), DROPOUT)

    def make(self, shape: tuple[int, ...], n_classes: int) -> nn.Module:
        _expect_rank(self.name, shape, 3, "spectrograms shaped (1, bins, frames)")
        return small_cnn(shape[0], self.settings["width"], self.settings["dropout"], n_classes)


@register_trainer
class TableMlp(Trainer):
    name = "table-mlp"
    modality = "table"
    summary = "A multilayer perceptron over the recipe's numeric columns."
    hyperparams = (
        *CLASSIFIER_LOOP,
        Param("hidden", "int", 64, "Units in each hidden layer.", 1, 4096),
        Param("layers", "int", 2, "Number of hidden layers.", 1, 8),
        Param("dropout", "float", 0.1, DROPOUT.help, 0.0, 0.9),
    )

    def make(self, shape: tuple[int, ...], n_classes: int) -> nn.Module:
        _expect_rank(self.name, shape, 1, "rows of numeric features")
        layers: list[nn.Module] = []
        size, hidden = shape[0], self.settings["hidden"]
        for _ in range(self.settings["layers"]):
            layers += [nn.Linear(size, hidden), nn.ReLU(), nn.Dropout(self.settings["dropout"])]
            size = hidden
        layers.append(nn.Linear(size, n_classes))
        return nn.Sequential(*layers)
