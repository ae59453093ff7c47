"""Training: trainers (strategy by name), torch datasets over versions, and the shared loop."""

from canvascraft.errors import TrainingError
from canvascraft.training.data import ItemDataset, SplitData, load_split, split_table
from canvascraft.training.loop import (
    EpochResult,
    TrainResult,
    load_checkpoint,
    resolve_device,
    save_checkpoint,
    train,
)
from canvascraft.training.split import stratified_split
from canvascraft.training.trainers import (
    LOOP_HYPERPARAMS,
    Trainer,
    all_trainers,
    get_trainer,
    register_trainer,
)

__all__ = [
    "LOOP_HYPERPARAMS",
    "EpochResult",
    "ItemDataset",
    "SplitData",
    "TrainResult",
    "Trainer",
    "TrainingError",
    "all_trainers",
    "get_trainer",
    "load_checkpoint",
    "load_split",
    "register_trainer",
    "resolve_device",
    "save_checkpoint",
    "split_table",
    "stratified_split",
    "train",
]
