"""Seeded stratified train/validation split.

Stratifying keeps small classes represented on both sides, so validation metrics (macro-F1 above
all) never silently skip a class; the split depends only on the labels and the seed, so the same
run can be repeated and resumed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch.utils.data import Dataset


@dataclass(frozen=True)
class SplitData:
    """Both splits of one version under one recipe, and what a saved model needs to be reused.

    Defined here, beside the split itself, so a modality can name it without importing torch."""

    modality: str
    classes: list[str]
    train: Dataset[tuple[torch.Tensor, int]]
    val: Dataset[tuple[torch.Tensor, int]]
    #: One item's shape without the batch axis: ``(C, H, W)``, ``(1, bins, frames)`` or ``(features,)``.
    input_shape: tuple[int, ...]
    train_indices: list[int]
    val_indices: list[int]
    #: ``Pipeline.state()`` of the fitted table recipe (JSON data), None for images and audio.
    table_state: list[dict[str, Any]] | None = None
    feature_names: list[str] | None = None


@dataclass(frozen=True)
class Member:
    """One validation item as the Train page lists it for pinning: ``index`` is what a job's
    ``pinned`` spec holds (manifest index for items, labelled-row index for tables)."""

    index: int
    name: str
    label: str
    sha256: str | None


def stratified_split(labels: list[str], val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices of the training and validation items, each list sorted.

    Every class with at least two items gets at least one item on each side; a class with a single
    item goes to training, where it can at least be learned.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    by_class: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_class[label].append(index)
    rng = np.random.default_rng(seed)
    train: list[int] = []
    val: list[int] = []
    # Sorted class order: the draws must not depend on which class happens to come first.
    for label in sorted(by_class):
        members = np.asarray(by_class[label])
        order = rng.permutation(len(members))
        n_val = 0
        if len(members) >= 2:
            n_val = min(max(round(len(members) * val_fraction), 1), len(members) - 1)
        val.extend(int(i) for i in members[order[:n_val]])
        train.extend(int(i) for i in members[order[n_val:]])
    return sorted(train), sorted(val)
