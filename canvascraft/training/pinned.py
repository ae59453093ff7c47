"""Pinned validation items: the few items a user watches epoch by epoch (the filmstrip).

The inputs are prepared once with the validation pipeline (deterministic), so every epoch's
predictions differ only because the model changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.data import default_collate

from canvascraft.errors import TrainingError
from canvascraft.training.data import Member, SplitData
from canvascraft.training.progress import PinnedItem, Prediction

MAX_PINNED = 8


def default_pins(members: Sequence[Member], count: int = MAX_PINNED) -> list[int]:
    """Up to ``count`` validation items taken in turn from each class, so every class is watched."""
    by_class: dict[str, list[int]] = defaultdict(list)
    for member in members:
        by_class[member.label].append(member.index)
    queues = [by_class[label] for label in sorted(by_class)]
    picked: list[int] = []
    while len(picked) < count and any(queues):
        for queue in queues:
            if queue and len(picked) < count:
                picked.append(queue.pop(0))
    return picked


def check_pins(indices: Sequence[int], members: Sequence[Member]) -> list[int]:
    """The pins as given, once each; refuses items outside the validation split or too many pins."""
    pins = list(dict.fromkeys(int(i) for i in indices))
    if len(pins) > MAX_PINNED:
        raise TrainingError(f"pin at most {MAX_PINNED} validation items, got {len(pins)}")
    valid = {m.index for m in members}
    outside = [i for i in pins if i not in valid]
    if outside:
        raise TrainingError(
            f"items {outside} are not in the validation split (the split depends on the dataset version, "
            "validation share, seed and item limit); pick pins from the validation items listed"
        )
    return pins


class PinnedProbe:
    """Predicts the pinned items with a model; built once per job from the validation split."""

    def __init__(self, split: SplitData, members: Sequence[Member], indices: Sequence[int]) -> None:
        by_index = {m.index: m for m in members}
        positions = {index: position for position, index in enumerate(split.val_indices)}
        self.items = [PinnedItem(i, by_index[i].name, by_index[i].label, by_index[i].sha256) for i in indices]
        self.classes = split.classes
        samples = [split.val[positions[i]] for i in indices]  # type: ignore[index]
        collate = getattr(split.val, "collate_fn", None) or default_collate
        self.inputs = collate(samples)[0] if samples else None

    @torch.no_grad()
    def predict(self, model: nn.Module) -> list[Prediction]:
        """Each pinned item's top class and its probability, with the model in eval mode."""
        if self.inputs is None:
            return []
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        probabilities = torch.softmax(model(self.inputs.to(device)).float(), dim=1).cpu()
        model.train(was_training)
        confidence, top = probabilities.max(dim=1)
        return [
            Prediction(self.classes[int(c)], round(float(p), 4)) for c, p in zip(top, confidence, strict=True)
        ]
