"""Training: trainers (strategy by name), torch datasets over versions, and the shared loop.

Names are loaded on first use, so reading a job's progress (``training.progress``) in the studio or
the CLI does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ItemDataset": "data",
    "SplitData": "data",
    "load_split": "data",
    "split_table": "data",
    "EpochResult": "epochs",
    "TrainResult": "loop",
    "load_checkpoint": "loop",
    "resolve_device": "loop",
    "save_checkpoint": "loop",
    "train": "loop",
    "CLASSIFICATION": "objectives",
    "Metric": "objectives",
    "Objective": "objectives",
    "stratified_split": "split",
    "LOOP_HYPERPARAMS": "trainers",
    "Trainer": "trainers",
    "all_trainers": "trainers",
    "get_trainer": "trainers",
    "register_trainer": "trainers",
}
__all__ = sorted([*_EXPORTS, "TrainingError"])


def __getattr__(name: str) -> Any:
    if name == "TrainingError":
        from canvascraft.errors import TrainingError

        return TrainingError
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"canvascraft.training.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'canvascraft.training' has no attribute {name!r}")
