"""Seeded stratified train/validation split.

Stratifying keeps small classes represented on both sides, so validation metrics (macro-F1 above
all) never silently skip a class; the split depends only on the labels and the seed, so the same
run can be repeated and resumed.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np


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
