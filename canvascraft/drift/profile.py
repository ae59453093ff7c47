"""Reference profile of a model's training data, and plain-language sentences about drift against it.

When a model is trained the studio keeps a :class:`Profile`: per-column statistics and histograms of a
feature table, and the predicted-label distribution. Tables profile their own columns; images and audio
are reduced first to a few signal statistics per file (:func:`signal_features`), because raw pixels and
samples cannot be compared column by column but "the new photos are darker" can. The profile is plain
JSON (no pickle), so it can be stored beside the run, read by any tool and never executes code on load.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from canvascraft.drift.metrics import MetricResult
from canvascraft.errors import DriftError, UnknownNameError
from canvascraft.modalities import Modality, all_modalities, get_modality, listed

PROFILE_VERSION = 1
"""Bumped when the JSON layout changes, so an old profile is refused instead of misread."""

HISTOGRAM_BINS = 10
QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)


def _known(modality: str) -> Modality | None:
    """The modality called ``modality``, or None (a profile read from JSON may name any)."""
    try:
        return get_modality(modality)
    except UnknownNameError:
        return None


# ----------------------------------------------------------------------------------------------- signals


def signal_features(modality: str, data: bytes) -> dict[str, float]:
    """A handful of statistics for one stored image or audio file, the columns drift is checked on:
    the modality's own ``signals`` (brightness and colour of a picture, loudness and pitch of a clip)."""
    found = _known(modality)
    if found is None or not found.signals:
        with_signals = [m.name for m in all_modalities() if m.signals]
        raise DriftError(f"signal features exist for {listed(with_signals, 'and')} data, not {modality!r}")
    return found.signal_features(data)


def feature_table(
    modality: str, blobs: Iterable[bytes], *, label_column: str | None = None, table_format: str = "CSV"
) -> pd.DataFrame:
    """One row per item: signal features for images and audio; for tables the rows of every file, stacked,
    without the label column (the label is the model's output, profiled as ``label_counts`` instead)."""
    found = _known(modality)
    if found is None:
        names = [m.name for m in all_modalities()]
        raise DriftError(f"unknown modality {modality!r}; expected {listed(names)}")
    return found.feature_table(blobs, label_column=label_column, table_format=table_format)


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
    modality = _known(reference.modality)
    nouns = modality.item_noun if modality is not None else None
    phrases = modality.signals if modality is not None else {}
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
    if nouns and column in phrases:
        return f"new {nouns} {phrases[column][0 if rose else 1]} than the training {nouns}"
    return f"column {column} has {'higher' if rose else 'lower'} values than in training"


def plain_sentences(
    reference: Profile,
    current: pd.DataFrame,
    results: Mapping[str, Mapping[str, MetricResult] | MetricResult] | Iterable[MetricResult],
) -> list[str]:
    """One sentence per drifted signal that someone without statistics can act on, e.g. "new photos are
    darker than the training photos". The direction comes from the current mean against the profile's."""
    return [_sentence(reference, current, column) for column in _drifted_columns(results)]
