"""Tables: CSV and Parquet files whose rows are the samples, labelled by a column chosen at import.

A table version's files are stacked into one frame; training fits the table brushes on the training
rows only, drift compares the columns themselves, and a model reads ``(rows, features)`` batches.
pandas and pyarrow are imported inside the functions, so registering the modality costs nothing.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from canvascraft.errors import CorruptItemError
from canvascraft.modalities.base import PREVIEW_ROWS, UNLABELLED, ItemInfo, Modality, Reader
from canvascraft.modalities.registry import register_modality

if TYPE_CHECKING:
    import pandas as pd
    import torch

    from canvascraft.data.catalog import VersionView
    from canvascraft.recipe.spec import Recipe
    from canvascraft.training.split import Member, SplitData

EXTENSIONS = {".csv": "CSV", ".parquet": "PARQUET"}


def check_columns(names: list[str]) -> None:
    """Refuse a header pandas would quietly repair (a blank name becomes ``Unnamed: 3``, a repeated one
    ``a.1``) or one too wide to train on (``CANVASCRAFT_MAX_TABLE_COLUMNS``)."""
    from canvascraft.config import get_settings

    limit = get_settings().max_table_columns
    if len(names) > limit:
        raise CorruptItemError(
            f"table has {len(names):,} columns, over the {limit:,} a table may have; keep the columns to "
            "train on, or raise CANVASCRAFT_MAX_TABLE_COLUMNS"
        )
    blank = [str(i + 1) for i, name in enumerate(names) if not str(name).strip()]
    if blank:
        raise CorruptItemError(f"column {', '.join(blank)} has no name; name every column in the header")
    twice = sorted(name for name, count in Counter(map(str, names)).items() if count > 1)
    if twice:
        raise CorruptItemError(f"column name {', '.join(map(repr, twice))} appears more than once")


OTHER_DELIMITERS = (";", "\t", "|")
"""Separators other exports use: a header that is one column holding one of them is a wrong-delimiter file."""


def _check_csv_shape(text: str) -> None:
    """pandas pads short rows with NaN silently, reads a ';'-separated file as one column, and lets a
    stray quote swallow the lines after it; each is a broken export, so say what and where."""
    reader = csv.reader(io.StringIO(text), strict=True)
    start = 1  # the line the record being read starts on (a quoted field may span lines)
    try:
        header = next(reader, None)
        if not header:
            raise CorruptItemError("CSV has no header row")
        other = [d for d in OTHER_DELIMITERS if len(header) == 1 and d in header[0]]
        if other:
            shown = "tab" if other[0] == "\t" else repr(other[0])
            raise CorruptItemError(
                f"CSV line 1 is one column {header[0][:60]!r}: it looks separated by {shown}, not ','; "
                "re-save it as comma-separated"
            )
        check_columns(header)
        expected = len(header)
        start = reader.line_num + 1
        for row in reader:
            if row and len(row) != expected:
                raise CorruptItemError(
                    f"ragged CSV: line {reader.line_num} has {len(row)} fields, the header has {expected}"
                )
            start = reader.line_num + 1
    except csv.Error as error:
        why = "a quote opened there is never closed" if "end of data" in str(error) else str(error)
        raise CorruptItemError(
            f'stray quote in CSV line {start}: {why}; quote whole fields ("a, b") and double a quote '
            'inside one ("")'
        ) from None


def describe_columns(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The table schema stored in the manifest: column names and dtypes, and for a text column whose
    values are mostly numbers (``1, 2, large``; decimal commas), how many of each (``mixed``), so the
    Health view can say so instead of the column silently becoming categories."""
    import pandas as pd

    schema: list[dict[str, Any]] = []
    for name, dtype in frame.dtypes.items():
        entry: dict[str, Any] = {"name": str(name), "dtype": str(dtype)}
        if not pd.api.types.is_numeric_dtype(dtype):
            values = frame[name].dropna().astype(str)
            numbers = pd.to_numeric(values, errors="coerce").notna()
            if numbers.any() and not numbers.all():
                text = values[~numbers]
                entry["mixed"] = {"numbers": int(numbers.sum()), "text": len(text),
                                  "examples": sorted(set(text))[:3]}  # fmt: skip
        schema.append(entry)
    return schema


def read_table(data: bytes, fmt: str) -> pd.DataFrame:
    """Decode a stored table (CSV or Parquet) into a DataFrame."""
    import pandas as pd

    if fmt == "CSV":
        return pd.read_csv(io.BytesIO(data), encoding="utf-8")
    return pd.read_parquet(io.BytesIO(data))


def inspect_table(data: bytes, fmt: str, *, label_column: str | None) -> ItemInfo:
    """Every row parsed (UTF-8, no ragged rows); with ``label_column``, the class counts."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    if fmt == "CSV":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CorruptItemError(
                f"CSV is not UTF-8 (bad byte at position {error.start}); re-save it as UTF-8"
            ) from None
        _check_csv_shape(text)
        try:
            frame = pd.read_csv(io.StringIO(text))
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
            raise CorruptItemError(f"unreadable CSV: {error}") from None
    else:
        try:
            check_columns(pq.read_schema(pa.BufferReader(data)).names)
            frame = pq.read_table(pa.BufferReader(data)).to_pandas()
        except (pa.ArrowException, OSError, ValueError) as error:
            raise CorruptItemError(f"unreadable Parquet file: {error}") from None
    if frame.empty:
        raise CorruptItemError("table has no rows")
    class_counts = None
    if label_column is not None:
        if label_column not in frame.columns:
            known = ", ".join(map(str, frame.columns))
            raise CorruptItemError(f"no label column '{label_column}' (columns: {known})")
        counts = frame[label_column].astype("string").fillna(UNLABELLED).value_counts()
        class_counts = {str(label): int(count) for label, count in counts.sort_index().items()}
    return ItemInfo(
        modality="table",
        format=fmt,
        n_rows=len(frame),
        columns=describe_columns(frame),
        class_counts=class_counts,
    )


def _reader(read: Reader | None) -> Reader:
    from canvascraft.data.reads import item_bytes

    return read or item_bytes


@register_modality
class TableModality(Modality):
    name: ClassVar[str] = "table"
    extensions: ClassVar[dict[str, str]] = EXTENSIONS
    files: ClassVar[str] = "tables"
    reads: ClassVar[str] = "a table of rows (CSV or Parquet) with the columns it was trained on"
    rows: ClassVar[bool] = True

    def inspect(
        self, filename: str, data: bytes, *, max_image_pixels: int, label_column: str | None
    ) -> ItemInfo:
        return inspect_table(data, self.format_of(filename) or "CSV", label_column=label_column)

    def decode(self, data: bytes, fmt: str = "CSV") -> pd.DataFrame:
        return read_table(data, fmt)

    def read_file(self, data: bytes, filename: str) -> pd.DataFrame:
        """A file of rows to predict: the label column may be there or not (it is not read)."""
        fmt = self.format_of(filename) or "CSV"
        inspect_table(data, fmt, label_column=None)
        return read_table(data, fmt)

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
        from canvascraft.training.data import split_rows

        return split_rows(view, recipe, val_fraction, seed, max_items, _reader(read))

    def members(
        self,
        view: VersionView,
        *,
        val_fraction: float,
        seed: int,
        max_items: int | None,
        read: Reader | None = None,
    ) -> list[Member]:
        from canvascraft.training.data import row_members

        return row_members(view, val_fraction, seed, max_items, _reader(read))

    def probe_shape(self, width: int) -> tuple[int, ...]:
        return (width,)

    def baseline_features(self, x: torch.Tensor) -> torch.Tensor | None:
        """The row's columns as the recipe left them."""
        return x.float().flatten()

    def baseline_input(self, input_shape: tuple[int, ...]) -> str:
        return f"the {input_shape[-1]} columns"

    def feature_table(
        self, blobs: Iterable[bytes], *, label_column: str | None = None, table_format: str = "CSV"
    ) -> pd.DataFrame:
        import pandas as pd

        frames = [read_table(blob, table_format) for blob in blobs]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if label_column is not None and label_column in frame.columns:
            frame = frame.drop(columns=[label_column])
        return frame

    def drift_frame(
        self, view: VersionView, indices: Sequence[int], *, read: Reader | None = None
    ) -> pd.DataFrame:
        """Every row of the version: ``indices`` count items, and a table's samples are its rows."""
        from canvascraft.data.reads import table_rows

        return table_rows(view, _reader(read)).drop(columns=[view.version.label_column], errors="ignore")

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
        """Histograms of each numeric column before and after, the brushes fitted on the rows shown."""
        from canvascraft.data.reads import table_rows
        from canvascraft.recipe import preview

        frame = table_rows(view, _reader(read)).head(PREVIEW_ROWS)
        return preview.table_grid_png(preview.preview_table(recipe, frame, view.version.label_column))
