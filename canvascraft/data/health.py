"""Dataset health: the numbers that tell an artist whether a dataset is ready to train on."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from canvascraft.data.catalog import ItemView, VersionView

UNLABELLED = "(no label)"


@dataclass(frozen=True)
class DuplicateGroup:
    """Items with identical bytes; different labels on one group mean a labelling mistake."""

    sha256: str
    names: list[str]
    labels: list[str]

    @property
    def conflicting_labels(self) -> bool:
        return len(set(self.labels)) > 1


@dataclass(frozen=True)
class Health:
    class_counts: dict[str, int]
    image_sizes: dict[str, int] = field(default_factory=dict)
    durations_s: list[float] = field(default_factory=list)
    duplicates: list[DuplicateGroup] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _duplicates(items: list[ItemView]) -> list[DuplicateGroup]:
    groups: dict[str, list[ItemView]] = {}
    for item in items:
        groups.setdefault(item.sha256, []).append(item)
    return [
        DuplicateGroup(sha, [i.name for i in members], [i.label or UNLABELLED for i in members])
        for sha, members in groups.items()
        if len(members) > 1
    ]


def assess(view: VersionView, table: pd.DataFrame | None = None) -> Health:
    """Class balance, sizes, durations and duplicates of one version (``table``: its rows, if a table)."""
    if view.modality == "table":
        column = view.version.label_column
        counts = (
            Counter(table[column].astype("string").fillna(UNLABELLED))
            if table is not None and column and column in table
            else Counter()
        )
    else:
        counts = Counter(i.label or UNLABELLED for i in view.items)
    class_counts = dict(sorted(counts.items()))
    sizes = Counter(f"{i.width}×{i.height}" for i in view.items if i.width is not None)
    durations = [i.duration_s for i in view.items if i.duration_s is not None]
    duplicates = _duplicates(view.items)

    warnings: list[str] = []
    if class_counts and len(class_counts) < 2:
        warnings.append("only one class: a classifier needs at least two labels")
    if len(class_counts) >= 2:
        smallest, largest = min(class_counts.values()), max(class_counts.values())
        if largest >= 3 * smallest:
            warnings.append(
                f"classes are imbalanced: the largest has {largest} items, the smallest {smallest}"
            )
    if len(sizes) > 1:
        warnings.append(f"images come in {len(sizes)} different sizes; a resize brush will even them out")
    if any(g.conflicting_labels for g in duplicates):
        warnings.append("some identical files carry different labels")
    return Health(dict(class_counts), dict(sizes.most_common()), durations, duplicates, warnings)
