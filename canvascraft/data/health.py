"""Dataset health: the numbers that tell an artist whether a dataset is ready to train on."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from canvascraft.data.catalog import ItemView, VersionView
from canvascraft.data.inspect import UNLABELLED


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

    @property
    def all_clear(self) -> str | None:
        """The one-line all-clear, only when nothing below it says otherwise (no warning, no
        duplicate group): it once read "duplicates look fine" above a table of four groups."""
        if self.warnings or self.duplicates:
            return None
        return "No problems found: labels, sizes and duplicates look fine."


def _duplicates(items: list[ItemView]) -> list[DuplicateGroup]:
    groups: dict[str, list[ItemView]] = {}
    for item in items:
        groups.setdefault(item.sha256, []).append(item)
    return [
        DuplicateGroup(sha, [i.name for i in members], [i.label or UNLABELLED for i in members])
        for sha, members in groups.items()
        if len(members) > 1
    ]


def class_counts(items: list[ItemView]) -> Counter[str]:
    """Items per label; a table item counts its rows per value of the label column."""
    counts: Counter[str] = Counter()
    for item in items:
        if item.class_counts is not None:
            counts.update(item.class_counts)
        elif item.n_rows is None:
            counts[item.label or UNLABELLED] += 1
    return counts


def assess(view: VersionView) -> Health:
    """Class balance, sizes, durations and duplicates of one version."""
    counts = class_counts(view.items)
    balance = dict(sorted(counts.items()))
    sizes = Counter(f"{i.width}×{i.height}" for i in view.items if i.width is not None)
    durations = [i.duration_s for i in view.items if i.duration_s is not None]
    duplicates = _duplicates(view.items)

    warnings: list[str] = []
    if balance and len(balance) < 2:
        warnings.append("only one class: a classifier needs at least two labels")
    if len(balance) >= 2:
        smallest, largest = min(balance.values()), max(balance.values())
        if largest >= 3 * smallest:
            warnings.append(
                f"classes are imbalanced: the largest has {largest} items, the smallest {smallest}"
            )
    if len(sizes) > 1:
        warnings.append(f"images come in {len(sizes)} different sizes; a resize brush will even them out")
    for item in view.items:
        for column in item.columns or []:
            if mixed := column.get("mixed"):
                examples = ", ".join(repr(e) for e in mixed["examples"])
                warnings.append(
                    f"{item.name}: column {column['name']!r} mixes numbers and text ({mixed['text']} of "
                    f"{mixed['numbers'] + mixed['text']} values are text, e.g. {examples}); it is read as "
                    "categories, so fix those values if it holds numbers"
                )
    if any(g.conflicting_labels for g in duplicates):
        warnings.append("some identical files carry different labels")
    if duplicates:
        copies = sum(len(g.names) - 1 for g in duplicates)
        warnings.append(
            f"{len(duplicates)} group(s) of identical files ({copies} extra copies, listed under "
            "Duplicates): a copy counts twice in training and can land in both the training and the "
            "validation split, which flatters the validation figures; delete the copies and import again"
        )
    return Health(balance, dict(sizes.most_common()), durations, duplicates, warnings)
