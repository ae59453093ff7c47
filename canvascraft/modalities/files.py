"""``FileModality``: data where one stored file is one sample, labelled by the folder it came from.

Images and audio are both this shape: training decodes each file and runs the recipe on it as it is
read (``ItemDataset``), drift reduces each file to a few signal statistics, and a preview shows a few
files spread over the labels. A subclass says how to inspect, decode, describe and draw its files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from canvascraft.modalities.base import PREVIEW_SIDE, Modality, Reader

if TYPE_CHECKING:
    import pandas as pd

    from canvascraft.data.catalog import VersionView
    from canvascraft.recipe.spec import Recipe
    from canvascraft.training.split import Member, SplitData


def _reader(read: Reader | None) -> Reader:
    from canvascraft.data.reads import item_bytes

    return read or item_bytes


class FileModality(Modality):
    rows: ClassVar[bool] = False

    def collate_fn(self) -> Callable[..., Any] | None:
        """How a DataLoader batches prepared items; None keeps torch's default (same-shaped items)."""
        return None

    def split(
        self,
        view: VersionView,
        recipe: Recipe,
        *,
        val_fraction: float,
        seed: int,
        max_items: int | None,
        read: Reader | None = None,
    ) -> SplitData:
        from canvascraft.training.data import split_items

        return split_items(view, recipe, val_fraction, seed, max_items, _reader(read))

    def members(
        self,
        view: VersionView,
        *,
        val_fraction: float,
        seed: int,
        max_items: int | None,
        read: Reader | None = None,
    ) -> list[Member]:
        from canvascraft.training.data import item_members

        return item_members(view, val_fraction, seed, max_items)

    def probe_shape(self, width: int) -> tuple[int, ...]:
        """Convolutional trainers pool globally, so any height and width will do."""
        return (width, 1, 1)

    def feature_table(
        self, blobs: Iterable[bytes], *, label_column: str | None = None, table_format: str = "CSV"
    ) -> pd.DataFrame:
        import pandas as pd

        rows = [self.signal_features(blob) for blob in blobs]
        return pd.DataFrame(rows, columns=list(self.signals))

    def drift_frame(
        self, view: VersionView, indices: Sequence[int], *, read: Reader | None = None
    ) -> pd.DataFrame:
        read = _reader(read)
        return self.feature_table(read(view.items[i].sha256) for i in indices)

    def grid_png(self, previews: list[Any]) -> bytes:
        """The previews of ``preview_file`` laid out as one picture, a row per file."""
        raise NotImplementedError

    def preview_png(
        self,
        recipe: Recipe,
        view: VersionView,
        *,
        count: int,
        n_variants: int,
        seed: int,
        read: Reader | None = None,
    ) -> bytes:
        from canvascraft.data.reads import items_across_labels

        read = _reader(read)
        previews = [
            self.preview_file(recipe, item.name, read(item.sha256), n_variants, seed, max_side=PREVIEW_SIDE)
            for item in items_across_labels(view, count)
        ]
        return self.grid_png(previews)
