"""What a finished classification run keeps beside its model, so the Gallery and Drift can use it.

A trainer's objective decides what its finished runs log (``Objective.log_finished``); for
classifiers that is the best model's prediction on every validation item with its embedding, the
run's card, and the reference profile drift checks compare new data with. A generative objective
logs other things (samples, a grid) through the same hook.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from torch import nn

from canvascraft.data.reads import item_bytes, open_version
from canvascraft.drift.profile import build_profile
from canvascraft.modalities import get_modality
from canvascraft.tracking.runs import TrainingRun
from canvascraft.training.data import Member, SplitData
from canvascraft.training.evaluate import CARD, EMBEDDINGS, PREDICTIONS, PROFILE, card_png, validation_report
from canvascraft.training.progress import PinnedItem

PROFILE_ITEMS = 2000
"""At most this many training items are profiled (evenly spread): enough for stable statistics."""

CARD_ITEMS = 4


@dataclass(frozen=True)
class FinishedRun:
    """A run whose training ended: its MLflow run, the best epoch's model (on the CPU) and its data."""

    training: TrainingRun
    model: nn.Module
    split: SplitData
    members: list[Member]
    spec: dict[str, Any]


def log_classification(finished: FinishedRun) -> None:
    """The validation report and card, then the drift reference profile with the predictions."""
    predicted = _log_validation(finished)
    _log_profile(finished, predicted)


def _log_validation(finished: FinishedRun) -> list[str]:
    """The best model's predictions and embeddings on every validation item, and the run's card."""
    split, members, training = finished.split, finished.members, finished.training
    items = [PinnedItem(m.index, m.name, m.label, m.sha256) for m in members]
    report = validation_report(finished.model, split.val, items, split.classes)
    training.log_text(report.predictions_json(), PREDICTIONS)
    training.log_bytes(report.embeddings_npy(), EMBEDDINGS)
    modality = get_modality(split.modality)
    pictures = [
        None if member.sha256 is None else modality.card_picture(item_bytes(member.sha256))
        for member in members[:CARD_ITEMS]
    ]
    training.log_bytes(card_png(report, pictures), CARD)
    return [str(item["predicted"]) for item in report.items]


def _log_profile(finished: FinishedRun, predicted: list[str]) -> None:
    """The reference profile drift checks compare new data with: the training data's signal statistics
    (per-column statistics for tables) and the distribution of the model's validation predictions."""
    split, spec = finished.split, finished.spec
    view = open_version(spec["dataset"], spec.get("dataset_version"))
    step = max(1, len(split.train_indices) // PROFILE_ITEMS)
    chosen = split.train_indices[::step][:PROFILE_ITEMS]
    frame = get_modality(split.modality).drift_frame(view, chosen)
    profile = build_profile(split.modality, frame, Counter(predicted))
    finished.training.log_text(profile.to_json(), PROFILE)
