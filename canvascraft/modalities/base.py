"""``Modality``: everything that differs between images, audio and tables, in one object per kind of data.

Generic code (import, training, drift checks, predictions, previews) asks the modality of the data in
hand, ``get_modality(view.modality)``, and calls it; it never compares a modality's name. Code whose
shape differs for tables (samples are the rows of table files, labelled by a column, rather than one
sample per file labelled by its folder) reads the declared ``rows`` instead.

This module imports nothing heavy and no implementation: the implementations (``image``, ``audio``,
``table``) are imported by name on the first registry lookup, and import torch, Pillow or pandas only
inside their methods, so any module may ask for a modality without paying for the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from canvascraft.errors import DatasetError, DriftError

if TYPE_CHECKING:
    import pandas as pd
    import torch

    from canvascraft.data.catalog import VersionView
    from canvascraft.recipe.spec import Recipe
    from canvascraft.recipe.starters import FittedStarter
    from canvascraft.training.split import Member, SplitData

Reader = Callable[[str], bytes]
"""Stored bytes by sha256. ``None`` where one is asked for means the workspace's blob store."""

UNLABELLED = "(no label)"
PREVIEW_SIDE = 128
"""Images are previewed at display resolution: thumbnails on the Brushes page are about this wide."""
PREVIEW_ROWS = 500
"""A table's preview fits its brushes on at most this many rows."""


@dataclass
class ItemInfo:
    """What inspection learned about one file; becomes one manifest row."""

    modality: str
    format: str
    width: int | None = None
    height: int | None = None
    channels: int | None = None
    duration_s: float | None = None
    sample_rate: int | None = None
    n_rows: int | None = None
    columns: list[dict[str, Any]] | None = None
    class_counts: dict[str, int] | None = None


class ItemMemory(Protocol):
    """An estimate of the memory one item needs through a recipe (``Modality.item_memory``)."""

    peak_bytes: int

    def check(self, note: str = "") -> None:
        """Raise ``RecipeError`` naming the recipe, the costly steps, the estimate and the limit when
        the estimate is over the limit; ``note`` is added after the item's description."""
        ...


def listed(words: Sequence[str], last: str = "or") -> str:
    """``a, b or c``: how messages name several modalities or file kinds."""
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


class Modality:
    """One kind of data. Subclass ``FileModality`` (one sample per file) or ``TableModality`` (rows),
    set the class attributes, implement the abstract methods and register the class with
    ``register_modality``; ``canvascraft.testing.modalities.ModalityContract`` checks the result.

    Methods raise the studio's errors: ``CorruptItemError`` for a file that cannot be used (import
    skips and lists it; a prediction turns it into ``UnreadableFileError``), ``DriftError`` from
    drift descriptions, ``DatasetError`` from previews and splits.
    """

    name: ClassVar[str]
    """As stored on datasets, recipes, trainers and runs (``image``)."""
    extensions: ClassVar[Mapping[str, str]]
    """File suffix → format name (``.jpg`` → ``JPEG``): the files an import gives to this modality."""
    files: ClassVar[str]
    """How the list of supported files names them (``images``)."""
    reads: ClassVar[str]
    """What a model of this modality reads, ending a message about a file it could not read."""
    rows: ClassVar[bool]
    """True when a stored item is a table whose rows are the samples, labelled by a column."""
    item_noun: ClassVar[str | None] = None
    """How drift sentences name new items (``photos``); None where items are rows."""
    signals: ClassVar[Mapping[str, tuple[str, str]]] = {}
    """Drift signal → (phrase when its mean rose, when it fell), read as "new <items> <phrase> than the
    training <items>"; the order is the feature table's column order. Empty: no signal features."""
    thumbnails: ClassVar[bool] = False
    """Items can be shown as small pictures (``thumbnail``) in drift's farthest items."""
    shape_hint: ClassVar[str] = ""
    """Added to the message when a prepared input does not have the shape the model reads."""

    def __repr__(self) -> str:
        return f"<modality {self.name}>"

    def format_of(self, filename: str) -> str | None:
        """The format a file name's extension promises, or None when it is not this modality's."""
        return self.extensions.get(PurePosixPath(filename).suffix.lower())

    def supported(self) -> str:
        """``images (.png .jpg …)``: one part of the sentence naming the files the studio reads."""
        return f"{self.files} ({' '.join(self.extensions)})"

    undecodable: ClassVar[Mapping[str, str]] = {}
    """File suffix → why this modality's decoder cannot read such a file and what to convert it to:
    the skip reason of a file kind people expect to work (``.m4a``) instead of "unsupported"."""

    def cannot_read(self, filename: str) -> str | None:
        """Why a file kind this modality knows of but cannot decode is refused; None for the others."""
        return self.undecodable.get(PurePosixPath(filename).suffix.lower())

    # Files.

    def inspect(
        self, filename: str, data: bytes, *, max_image_pixels: int, label_column: str | None
    ) -> ItemInfo:
        """Decode the whole file (not only its header), so a truncated or corrupt file is refused at
        import rather than in the middle of a training run; raises ``CorruptItemError``."""
        raise NotImplementedError

    def decode(self, data: bytes, fmt: str) -> Any:
        """A stored item (already inspected at import) as the first brush of a recipe reads it."""
        raise NotImplementedError

    def read_file(self, data: bytes, filename: str) -> Any:
        """A user's file (a prediction, a drift check), checked as an import checks it and decoded as
        a stored item is; raises ``CorruptItemError`` (or ``OSError``/``ValueError`` from a decoder)."""
        raise NotImplementedError

    # Training.

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
        """Training and validation data of a version under a recipe, as the loop iterates them."""
        raise NotImplementedError

    def members(
        self,
        view: VersionView,
        *,
        val_fraction: float,
        seed: int,
        max_items: int | None,
        read: Reader | None = None,
    ) -> list[Member]:
        """The validation split ``split`` makes with these settings, without running a recipe."""
        raise NotImplementedError

    def item_memory(self, recipe: Recipe, view: VersionView) -> ItemMemory | None:
        """The memory the costliest item of ``view`` needs through ``recipe``, estimated from what the
        import recorded (nothing is decoded), or None where the modality does not estimate it. Launches
        call its ``check`` before a job exists: settings that are each in bounds can still multiply."""
        return None

    def fit_starter(self, view: VersionView) -> FittedStarter | None:
        """This modality's starter recipe fitted to ``view`` (sizes, augmentation strength from what the
        import recorded; nothing is decoded), or None where the plain starter suits any dataset. The
        launch form offers it beside the recipe picker."""
        return None

    def probe_shape(self, width: int) -> tuple[int, ...]:
        """An input shape a trainer builds a model for, knowing only the input width (the first weight's
        input channels or features): how a checkpoint without a logged model is rebuilt."""
        raise NotImplementedError

    def fit_input(self, x: torch.Tensor, want: tuple[int, ...]) -> torch.Tensor | None:
        """``x`` made to the shape an exported model reads, or None when it cannot be (refused then)."""
        return None

    def baseline_features(self, x: torch.Tensor) -> torch.Tensor | None:
        """One prepared item (as training reads it, without the batch axis) as the flat float vector a
        quick classical model learns from (``canvascraft.training.baseline``): few enough numbers that a
        logistic regression fits in well under a second. None, the default, when the modality offers
        no baseline."""
        return None

    def baseline_input(self, input_shape: tuple[int, ...]) -> str:
        """What ``baseline_features`` makes of items of ``input_shape``, ending the baseline's name
        (``16×16 pixels``)."""
        return "its inputs"

    # Drift.

    def signal_features(self, data: bytes) -> dict[str, float]:
        """One stored or new file reduced to its ``signals``: raw pixels and samples cannot be compared
        column by column, but "the new photos are darker" can. Raises ``DriftError``."""
        raise DriftError(f"{self.name} data has no signal features; its own columns are compared")

    def feature_table(
        self, blobs: Iterable[bytes], *, label_column: str | None = None, table_format: str = "CSV"
    ) -> pd.DataFrame:
        """What drift compares, one row per sample: signal features per file, or a table's own rows
        without the label column (the label is the model's output, profiled on its own)."""
        raise NotImplementedError

    def drift_frame(
        self, view: VersionView, indices: Sequence[int], *, read: Reader | None = None
    ) -> pd.DataFrame:
        """The feature table of a version's items at ``indices`` (a table profiles all its rows, which
        are not items), the reference a model's new data is compared with."""
        raise NotImplementedError

    def thumbnail(self, data: bytes, side: int) -> bytes | None:
        """A PNG at most ``side`` pixels wide for lists of items; None when there is no picture."""
        return None

    def card_picture(self, data: bytes) -> bytes | None:
        """The picture of a validation item on a run's card; None when the modality draws none."""
        return None

    # Previews.

    def preview_file(
        self,
        recipe: Recipe,
        name: str,
        data: bytes,
        n_variants: int,
        seed: int,
        *,
        max_side: int = PREVIEW_SIDE,
    ) -> Any:
        """One file through the recipe as training runs it: the original and ``n_variants`` draws."""
        raise DatasetError(f"{self.name} data is previewed a version at a time, not file by file")

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
        """The before/after picture ``canvascraft recipe preview`` writes for ``count`` items."""
        raise NotImplementedError
