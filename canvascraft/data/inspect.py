"""Decide whether one file is a usable item and describe it for the manifest.

Each ``inspect_*`` function decodes the whole file (not just its header) so that truncated or
corrupt data is caught at import time rather than in the middle of a training run. Failures raise
``CorruptItemError`` with a reason the user can act on.
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import soundfile as sf
from PIL import Image, UnidentifiedImageError

from canvascraft.errors import CorruptItemError

Modality = Literal["image", "audio", "table"]

IMAGE_EXTENSIONS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP"}
AUDIO_EXTENSIONS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}
TABLE_EXTENSIONS = {".csv": "CSV", ".parquet": "PARQUET"}
UNLABELLED = "(no label)"
SUPPORTED = "images (.png .jpg .jpeg .webp .bmp), audio (.wav .flac .ogg) or tables (.csv .parquet)"


@dataclass
class ItemInfo:
    """What inspection learned about one file; becomes one manifest row."""

    modality: Modality
    format: str
    width: int | None = None
    height: int | None = None
    channels: int | None = None
    duration_s: float | None = None
    sample_rate: int | None = None
    n_rows: int | None = None
    columns: list[dict[str, Any]] | None = None
    class_counts: dict[str, int] | None = None


def modality_of(name: str) -> Modality | None:
    """The modality a file name's extension promises, or None for files the studio does not read."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    if suffix in AUDIO_EXTENSIONS:
        return "audio"
    if suffix in TABLE_EXTENSIONS:
        return "table"
    return None


def inspect_item(
    name: str, data: bytes, *, max_image_pixels: int, label_column: str | None = None
) -> ItemInfo:
    """Validate ``data`` as the kind of file ``name`` claims to be."""
    if not data:
        raise CorruptItemError("empty file (0 bytes)")
    modality = modality_of(name)
    if modality == "image":
        return inspect_image(data, max_pixels=max_image_pixels)
    if modality == "audio":
        return inspect_audio(data)
    if modality == "table":
        suffix = PurePosixPath(name).suffix.lower()
        return inspect_table(data, TABLE_EXTENSIONS[suffix], label_column=label_column)
    raise CorruptItemError(f"unsupported file type; the studio reads {SUPPORTED}")


def inspect_image(data: bytes, *, max_pixels: int) -> ItemInfo:
    allowed = set(IMAGE_EXTENSIONS.values())
    with warnings.catch_warnings():
        # Our own pixel limit below replaces Pillow's warning with a clear refusal.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise CorruptItemError(
                "not an image: the bytes are not PNG, JPEG, WebP or BMP data (wrong extension?)"
            ) from None
        except Image.DecompressionBombError as error:
            raise CorruptItemError(f"refused as a possible decompression bomb: {error}") from None
        except OSError as error:
            raise CorruptItemError(f"unreadable image: {error}") from None
        with image:
            # Phone and camera JPEGs that carry extra pictures (MPF: depth or HDR gain maps) open as MPO.
            fmt = "JPEG" if image.format == "MPO" else image.format
            if fmt not in allowed:
                raise CorruptItemError(
                    f"{image.format} images are not supported; convert it to PNG, JPEG, WebP or BMP"
                )
            pixels = image.width * image.height
            if pixels > max_pixels:
                raise CorruptItemError(
                    f"image is {image.width}×{image.height} = {pixels:,} pixels, over the "
                    f"{max_pixels:,}-pixel limit (possible decompression bomb); resize it or raise "
                    "CANVASCRAFT_MAX_IMAGE_PIXELS"
                )
            try:
                image.load()
            except (OSError, SyntaxError, ValueError) as error:
                raise CorruptItemError(f"corrupt or truncated image: {error}") from None
            return ItemInfo(
                modality="image",
                format=fmt,
                width=image.width,
                height=image.height,
                channels=len(image.getbands()),
            )


def inspect_audio(data: bytes) -> ItemInfo:
    try:
        with sf.SoundFile(io.BytesIO(data)) as sound:
            fmt = sound.format
            sample_rate = sound.samplerate
            channels = sound.channels
            samples = sound.read(dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as error:
        # libsndfile's own text, without the "Error opening <_io.BytesIO object at 0x…>" prefix.
        detail = getattr(error, "error_string", None) or error
        raise CorruptItemError(f"undecodable audio: {detail}") from None
    if samples.shape[0] == 0:
        raise CorruptItemError("audio file holds no samples (0 s long)")
    return ItemInfo(
        modality="audio",
        format=fmt,
        sample_rate=sample_rate,
        channels=channels,
        duration_s=round(samples.shape[0] / sample_rate, 6),
    )


def _check_csv_shape(text: str) -> None:
    """pandas pads short rows with NaN silently; a ragged row is a broken export, so say where."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise CorruptItemError("CSV has no header row")
    expected = len(header)
    for row in reader:
        if row and len(row) != expected:
            raise CorruptItemError(
                f"ragged CSV: line {reader.line_num} has {len(row)} fields, the header has {expected}"
            )


def describe_columns(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The table schema stored in the manifest: column names and dtypes."""
    return [{"name": str(name), "dtype": str(dtype)} for name, dtype in frame.dtypes.items()]


def read_table(data: bytes, fmt: str) -> pd.DataFrame:
    """Decode a stored table (CSV or Parquet) into a DataFrame."""
    if fmt == "CSV":
        return pd.read_csv(io.BytesIO(data), encoding="utf-8")
    return pd.read_parquet(io.BytesIO(data))


def inspect_table(data: bytes, fmt: str, *, label_column: str | None) -> ItemInfo:
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
