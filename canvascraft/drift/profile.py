"""Reference profile of a model's training data, and plain-language sentences about drift against it.

When a model is trained the studio keeps a :class:`Profile`: per-column statistics and histograms of a
feature table, and the predicted-label distribution. Tables profile their own columns; images and audio
are reduced first to a few signal statistics per file (:func:`signal_features`), because raw pixels and
samples cannot be compared column by column but "the new photos are darker" can. The profile is plain
JSON (no pickle), so it can be stored beside the run, read by any tool and never executes code on load.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from canvascraft.drift.metrics import MetricResult
from canvascraft.errors import CorruptItemError, DriftError

PROFILE_VERSION = 1
"""Bumped when the JSON layout changes, so an old profile is refused instead of misread."""

HISTOGRAM_BINS = 10
QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)

IMAGE_SIDE = 512
"""Images are shrunk to at most this side before their statistics: means and spreads of luminance and
colour barely move, and a 24-megapixel photo costs a few milliseconds instead of a second."""

IMAGE_FEATURES = ("brightness", "contrast", "mean_r", "mean_g", "mean_b", "saturation")
AUDIO_FEATURES = ("rms", "spectral_centroid_hz", "duration_s", "zero_crossing_rate")

ITEM_NOUNS = {"image": "photos", "audio": "clips"}

SIGNAL_PHRASES: dict[str, tuple[str, str]] = {
    "brightness": ("are brighter", "are darker"),
    "contrast": ("have more contrast", "have less contrast"),
    "mean_r": ("are redder", "are less red"),
    "mean_g": ("are greener", "are less green"),
    "mean_b": ("are bluer", "are less blue"),
    "saturation": ("are more colourful", "are more washed out"),
    "rms": ("are louder", "are quieter"),
    "spectral_centroid_hz": ("sound higher-pitched or hissier", "sound lower-pitched or more muffled"),
    "duration_s": ("are longer", "are shorter"),
    "zero_crossing_rate": ("are noisier", "are smoother"),
}
"""Signal → (phrase when the mean rose, phrase when it fell), read as "new <items> <phrase> than the
training <items>". One small table, so a new signal needs one line here and nothing else."""


# ----------------------------------------------------------------------------------------------- signals


def signal_features(modality: str, data: bytes) -> dict[str, float]:
    """A handful of statistics for one stored image or audio file, the columns drift is checked on.

    Images: brightness (mean Rec. 601 luminance, 0–1), contrast (its standard deviation), mean R/G/B and
    mean HSV saturation (all 0–1). Audio: RMS level, spectral centroid in Hz (magnitude-weighted mean
    frequency of the whole clip), duration in seconds and zero-crossing rate (crossings per sample).
    """
    if modality == "image":
        return _image_features(data)
    if modality == "audio":
        return _audio_features(data)
    raise DriftError(f"signal features exist for image and audio data, not {modality!r}")


def _image_features(data: bytes) -> dict[str, float]:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (IMAGE_SIDE, IMAGE_SIDE))  # JPEG decodes at reduced size, others ignore it
            rgb = image.convert("RGB")
            rgb.thumbnail((IMAGE_SIDE, IMAGE_SIDE))
            pixels = np.asarray(rgb, dtype=np.float64) / 255.0
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise DriftError(f"cannot read the image for its drift profile: {error}") from None
    if pixels.size == 0:
        raise DriftError("cannot read the image for its drift profile: it has no pixels")
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    luminance = 0.299 * red + 0.587 * green + 0.114 * blue
    high, low = pixels.max(axis=2), pixels.min(axis=2)
    saturation = np.divide(high - low, high, out=np.zeros_like(high), where=high > 0)
    return {
        "brightness": float(luminance.mean()),
        "contrast": float(luminance.std()),
        "mean_r": float(red.mean()),
        "mean_g": float(green.mean()),
        "mean_b": float(blue.mean()),
        "saturation": float(saturation.mean()),
    }


def _audio_features(data: bytes) -> dict[str, float]:
    # Imported here: the audio brushes pull in torch, which table and image profiles never need.
    from canvascraft.brushes.audio import load_clip

    try:
        clip = load_clip(data)
    except CorruptItemError as error:
        raise DriftError(f"cannot read the audio for its drift profile: {error}") from None
    samples = clip.samples.astype(np.float64)
    magnitude = np.abs(np.fft.rfft(samples))
    frequencies = np.fft.rfftfreq(samples.size, d=1.0 / clip.sample_rate)
    total = float(magnitude.sum())
    centroid = float((frequencies * magnitude).sum() / total) if total > 0 else 0.0
    signs = np.signbit(samples)
    crossings = float(np.count_nonzero(signs[1:] != signs[:-1]) / max(samples.size - 1, 1))
    return {
        "rms": float(np.sqrt(np.mean(samples**2))),
        "spectral_centroid_hz": centroid,
        "duration_s": float(clip.duration_s),
        "zero_crossing_rate": crossings,
    }


def feature_table(
    modality: str, blobs: Iterable[bytes], *, label_column: str | None = None, table_format: str = "CSV"
) -> pd.DataFrame:
    """One row per item: signal features for images and audio; for tables the rows of every file, stacked,
    without the label column (the label is the model's output, profiled as ``label_counts`` instead)."""
    if modality == "table":
        from canvascraft.data.inspect import read_table

        frames = [read_table(blob, table_format) for blob in blobs]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if label_column is not None and label_column in frame.columns:
            frame = frame.drop(columns=[label_column])
        return frame
    names = {"image": IMAGE_FEATURES, "audio": AUDIO_FEATURES}.get(modality)
    if names is None:
        raise DriftError(f"unknown modality {modality!r}; expected image, audio or table")
    rows = [signal_features(modality, blob) for blob in blobs]
    return pd.DataFrame(rows, columns=list(names))


# ----------------------------------------------------------------------------------------------- profile


@dataclass(frozen=True)
class Profile:
    """A model's training data in summary: what later data is compared with.

    ``columns`` maps each column to plain JSON: numeric ones ``{"kind": "numeric", count, missing, mean,
    std (population, as the drift metrics use), min, max, quantiles {"0.5": …}, histogram {edges,
    counts}}``, categorical ones ``{"kind": "categorical", count, missing, counts {value: n}}``.
    """

    modality: str
    columns: dict[str, dict[str, Any]]
    label_counts: dict[str, int]
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_json(self) -> str:
        """Strict JSON: NaN is never written (statistics of an empty column are null)."""
        payload = {
            "version": PROFILE_VERSION,
            "modality": self.modality,
            "created": self.created,
            "columns": self.columns,
            "label_counts": self.label_counts,
        }
        return json.dumps(payload, allow_nan=False, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> Profile:
        """The profile back from :meth:`to_json`; anything else raises :class:`DriftError`."""
        try:
            payload = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise DriftError(f"the stored drift profile is not valid JSON: {error}") from None
        if not isinstance(payload, dict):
            raise DriftError("the stored drift profile is not a JSON object")
        if payload.get("version") != PROFILE_VERSION:
            raise DriftError(
                f"the stored drift profile has layout version {payload.get('version')!r}; "
                f"this studio reads version {PROFILE_VERSION}"
            )
        missing = [key for key in ("modality", "created", "columns", "label_counts") if key not in payload]
        if missing:
            raise DriftError(f"the stored drift profile lacks {', '.join(missing)}")
        if not isinstance(payload["columns"], dict) or not isinstance(payload["label_counts"], dict):
            raise DriftError("the stored drift profile's columns and label_counts must be JSON objects")
        return cls(
            modality=str(payload["modality"]),
            columns=payload["columns"],
            label_counts={str(k): int(v) for k, v in payload["label_counts"].items()},
            created=str(payload["created"]),
        )


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _numeric_column(series: pd.Series) -> dict[str, Any]:
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
    finite = values[np.isfinite(values)]
    summary: dict[str, Any] = {
        "kind": "numeric",
        "count": int(finite.size),
        "missing": int(values.size - finite.size),
    }
    if finite.size == 0:
        summary.update(mean=None, std=None, min=None, max=None, quantiles={}, histogram=None)
        return summary
    counts, edges = np.histogram(finite, bins=HISTOGRAM_BINS)
    summary.update(
        mean=_finite_or_none(finite.mean()),
        std=_finite_or_none(finite.std()),
        min=float(finite.min()),
        max=float(finite.max()),
        quantiles={str(q): float(v) for q, v in zip(QUANTILES, np.quantile(finite, QUANTILES), strict=True)},
        histogram={"edges": edges.tolist(), "counts": counts.astype(int).tolist()},
    )
    return summary


def _categorical_column(series: pd.Series) -> dict[str, Any]:
    present = series.dropna()
    counts = present.astype(str).value_counts()
    return {
        "kind": "categorical",
        "count": int(present.size),
        "missing": int(series.size - present.size),
        "counts": {str(k): int(v) for k, v in counts.items()},
    }


def _is_numeric(series: pd.Series) -> bool:
    """Booleans are categories (a histogram of 0/1 says less than two counts)."""
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def build_profile(modality: str, frame: pd.DataFrame, label_counts: Mapping[Any, int]) -> Profile:
    """The profile of a feature table (from :func:`feature_table`) and the predicted-label counts."""
    columns = {
        str(name): _numeric_column(frame[name])
        if _is_numeric(frame[name])
        else _categorical_column(frame[name])
        for name in frame.columns
    }
    return Profile(modality, columns, {str(k): int(v) for k, v in label_counts.items()})


# ---------------------------------------------------------------------------------------------- sentences


def _drifted_columns(
    results: Mapping[str, Mapping[str, MetricResult] | MetricResult] | Iterable[MetricResult],
) -> list[str]:
    """Names flagged by any metric, in the order given; accepts numeric_drift's nested dict, a mapping
    of column → result, or a flat list of results (each carrying its column)."""
    flagged: dict[str, None] = {}
    if isinstance(results, Mapping):
        for name, value in results.items():
            found = value.values() if isinstance(value, Mapping) else [value]
            if any(result.drifted for result in found):
                flagged[str(name)] = None
    else:
        for result in results:
            if result.drifted:
                flagged[result.column or result.name] = None
    return list(flagged)


def _current_mean(current: pd.DataFrame, column: str) -> float | None:
    if column not in current.columns:
        return None
    values = pd.to_numeric(current[column], errors="coerce").to_numpy(dtype=np.float64)
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else None


def _sentence(reference: Profile, current: pd.DataFrame, column: str) -> str:
    summary = reference.columns.get(column)
    nouns = ITEM_NOUNS.get(reference.modality)
    if column == "embedding":
        things = nouns or "rows"
        return f"new {things} look different to the model than the training {things}"
    if column == "prediction" or (summary is None and column not in current.columns):
        return "the model predicts a different mix of labels than it did on its training data"
    if summary is None or summary.get("kind") == "categorical":
        return f"column {column} has a different mix of values than in training"
    before, after = summary.get("mean"), _current_mean(current, column)
    if before is None or after is None or after == before:
        subject = f"the {column.replace('_', ' ')} of new {nouns}" if nouns else f"column {column}"
        return f"{subject} is spread differently than in training"
    rose = after > before
    if nouns and column in SIGNAL_PHRASES:
        return f"new {nouns} {SIGNAL_PHRASES[column][0 if rose else 1]} than the training {nouns}"
    return f"column {column} has {'higher' if rose else 'lower'} values than in training"


def plain_sentences(
    reference: Profile,
    current: pd.DataFrame,
    results: Mapping[str, Mapping[str, MetricResult] | MetricResult] | Iterable[MetricResult],
) -> list[str]:
    """One sentence per drifted signal that someone without statistics can act on, e.g. "new photos are
    darker than the training photos". The direction comes from the current mean against the profile's."""
    return [_sentence(reference, current, column) for column in _drifted_columns(results)]
