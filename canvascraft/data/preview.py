"""Small renderings for browsing a dataset: thumbnails, waveforms and column statistics."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import soundfile as sf
from PIL import Image, ImageDraw


def thumbnail_png(data: bytes, size: int = 128) -> bytes:
    """A PNG no larger than ``size`` on its longest side (small images are enlarged crisply)."""
    with Image.open(io.BytesIO(data)) as image:
        image = image.convert("RGB")
        scale = size / max(image.size)
        target = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        resample = Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS
        out = io.BytesIO()
        image.resize(target, resample).save(out, format="PNG")
    return out.getvalue()


def waveform_png(data: bytes, width: int = 320, height: int = 64, color: str = "#7c3aed") -> bytes:
    """A min/max envelope drawing of an audio clip, cheap enough to show dozens per page."""
    samples, _ = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    middle = height / 2
    draw.line([(0, middle), (width, middle)], fill="#d4d4d8")
    if mono.size:
        columns = np.array_split(mono, min(width, mono.size))
        for x, chunk in enumerate(columns):
            low, high = float(chunk.min()), float(chunk.max())
            draw.line([(x, middle - high * middle), (x, middle - low * middle)], fill=color)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def column_stats(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per column: type, missing values and a numeric or categorical summary."""
    rows = []
    for name in frame.columns:
        column = frame[name]
        row: dict[str, object] = {
            "column": str(name),
            "type": str(column.dtype),
            "missing": int(column.isna().sum()),
            "distinct": int(column.nunique(dropna=True)),
        }
        if pd.api.types.is_numeric_dtype(column):
            row.update(
                mean=float(column.mean()), std=float(column.std()), min=float(column.min()),
                max=float(column.max()), top="",
            )  # fmt: skip
        else:
            top = column.value_counts().head(3)
            row.update(mean=None, std=None, min=None, max=None,
                       top=", ".join(f"{k} ({v})" for k, v in top.items()))  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)
