"""Is there enough data to train on? Items per class in the training split, checked before a launch.

The floor, ``MIN_TRAIN_PER_CLASS`` = 20 training items per class: below it a network trained from scratch
mostly memorises (a 3 × 40 set of real handwritten digits, 32 training items per class, already had
validation accuracy stuck at the majority share while training accuracy climbed), and the
validation share of such a class is four or five items, so one item moves its figure by 20–25
points. A classical baseline copes better there, which is why the warning points at it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from canvascraft.data.catalog import VersionView
from canvascraft.modalities.registry import get_modality

MIN_TRAIN_PER_CLASS = 20
"""Training items per class below which the launch form warns (see the module's docstring)."""
NAMED = 3
"""The smallest classes named in the warning."""


@dataclass(frozen=True)
class DataAmount:
    """Items per class in the training split a launch with these settings would make."""

    dataset: str
    counts: dict[str, int]
    floor: int = MIN_TRAIN_PER_CLASS
    #: What a sample is called (``items``, ``rows``).
    noun: str = "items"

    @property
    def short(self) -> list[tuple[str, int]]:
        """The classes under the floor, smallest first (then by name)."""
        return sorted(
            ((c, n) for c, n in self.counts.items() if n < self.floor), key=lambda cn: (cn[1], cn[0])
        )

    @property
    def enough(self) -> bool:
        return not self.short

    def problem(self) -> str:
        """What is short, naming the smallest classes and their counts; "" when there is enough."""
        short = self.short
        if not short:
            return ""
        counts = {count for _, count in short}
        if len(short) == len(self.counts) and len(counts) == 1:
            return (
                f"Too little data to train well: every class has {counts.pop()} training {self.noun}, "
                f"fewer than {self.floor}."
            )
        named = ", ".join(f"{label} {count}" for label, count in short[:NAMED])
        more = f" and {len(short) - NAMED} more" if len(short) > NAMED else ""
        which = (
            "every class has"
            if len(short) == len(self.counts)
            else f"{len(short)} of {len(self.counts)} classes have"
        )
        return (
            f"Too little data to train well: {which} fewer than {self.floor} training {self.noun} "
            f"({named}{more})."
        )

    def remedies(self, gentle: str | None = None, picked: str | None = None) -> list[str]:
        """What would help, one point each. ``gentle`` names a gentler recipe to try (the starter fitted
        to the dataset), when there is one; it is left out when it is the ``picked`` recipe already."""
        helps = [f"more {self.noun} per class (import them as a new version of the dataset)"]
        if gentle is None:
            helps.append("a gentler recipe (fewer, milder augmentations)")
        elif gentle != picked:
            helps.append(f"the gentle {gentle} recipe")
        helps.append("a smaller model (fewer channels or units, under More settings)")
        helps.append(
            f"the baseline every run fits beside the model, which copes better with few {self.noun}: "
            "compare the two"
        )
        return helps

    def sentence(self, gentle: str | None = None) -> str:
        """The problem and what would help, in one paragraph (the CLI); "" when there is enough."""
        if self.enough:
            return ""
        return f"{self.problem()} What helps: {'; '.join(self.remedies(gentle))}."


def training_counts(
    view: VersionView, val_fraction: float, seed: int, max_items: int | None
) -> dict[str, int]:
    """Samples per class in the training split these settings make (no recipe runs; a table is read)."""
    from canvascraft.training.data import item_split, table_frame
    from canvascraft.training.split import stratified_split

    if get_modality(view.modality).rows:
        label_column, frame = table_frame(view, view.dataset, max_items, seed)
        labels = frame[label_column].dropna().astype(str).tolist()
        train_rows, _ = stratified_split(labels, val_fraction, seed)
        return dict(Counter(labels[i] for i in train_rows))
    train_idx, _, _ = item_split(view, val_fraction, seed, max_items)
    return dict(Counter(str(view.items[i].label) for i in train_idx))


def data_amount(
    view: VersionView, val_fraction: float, seed: int, max_items: int | None, floor: int = MIN_TRAIN_PER_CLASS
) -> DataAmount:
    noun = "rows" if get_modality(view.modality).rows else "items"
    return DataAmount(view.dataset, training_counts(view, val_fraction, seed, max_items), floor, noun)
