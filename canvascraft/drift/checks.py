"""Drift check of a registered model: is the data it sees now still like the data it was trained on?

:func:`run_check` compares a *current* batch (a dataset's latest version, or a folder of files) with the
model version's training run:

* **Reference features.** The run's ``drift/profile.json`` holds histograms and quantiles, not raw
  values, and KS or Wasserstein on binned values would be approximate. The run's params pin the dataset
  and its version, and stored items never change, so the reference feature table is rebuilt exactly from
  those items (evenly capped at :data:`REFERENCE_ITEMS`, as training caps its profile). It covers the
  whole version rather than only the training split: the split is not stored, and the validation items are
  the same population. Numeric columns go through :func:`numeric_drift`; categorical table columns are
  compared with the profile's stored category counts (:func:`chi_square`), which are exact already.
* **Predictions.** The model predicts every current item; :func:`prediction_drift` compares those labels
  with the profile's ``label_counts`` (the model's own predictions on its validation items).

Files that cannot be read are listed in ``skipped`` and left out; only a check with nothing to compare
raises :class:`DriftError`. Model and dataset modules are imported inside :func:`run_check`, so importing
:mod:`canvascraft.drift` stays light.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from canvascraft.drift.metrics import (
    MetricResult,
    chi_square,
    numeric_drift,
    prediction_drift,
    resolve_thresholds,
)
from canvascraft.drift.profile import Profile, feature_table, plain_sentences
from canvascraft.errors import CanvasCraftError, DriftError

if TYPE_CHECKING:
    from canvascraft.gallery.predict import Predictor

PROFILE_ARTIFACT = "drift/profile.json"
REFERENCE_ITEMS = 2000
"""Reference items rebuilt from the run's dataset version, evenly spread (training profiles as many)."""
CURRENT_ITEMS = 2000
"""A current dataset is checked on at most this many items, evenly spread, so a check stays quick."""


@dataclass(frozen=True)
class DriftCheckResult:
    """The verdict of one check: per-feature metric results, prediction drift, plain sentences, and the
    files or columns left out (``skipped``: ``(name, reason)``) so a partial check is never silent."""

    model_ref: str
    run_id: str
    current: str
    n_reference: int
    n_current: int
    results: dict[str, dict[str, MetricResult]]
    prediction: MetricResult | None
    drifted: bool
    sentences: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def drifted_features(self) -> list[str]:
        """Features flagged by any metric, in table order."""
        return [name for name, found in self.results.items() if any(r.drifted for r in found.values())]

    def to_json(self) -> str:
        """Plain JSON (numpy numbers become Python ones; NaN becomes null) for scripts and reports."""
        payload = {
            "model_ref": self.model_ref,
            "run_id": self.run_id,
            "current": self.current,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "drifted": self.drifted,
            "drifted_features": self.drifted_features,
            "results": {
                name: {metric: asdict(result) for metric, result in found.items()}
                for name, found in self.results.items()
            },
            "prediction": asdict(self.prediction) if self.prediction is not None else None,
            "sentences": self.sentences,
            "skipped": [{"name": name, "reason": reason} for name, reason in self.skipped],
        }
        return json.dumps(_jsonable(payload), indent=2, ensure_ascii=False, allow_nan=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


@dataclass
class _Batch:
    """Current data: its feature table, the model's predicted labels, and what was left out."""

    frame: pd.DataFrame
    predicted: list[str]
    skipped: list[tuple[str, str]]


def _spread(count: int, cap: int) -> list[int]:
    step = max(1, count // cap)
    return list(range(0, count, step))[:cap]


def _load_profile(run_id: str) -> Profile:
    from canvascraft.gallery.detail import artifact_file, get_run

    path = artifact_file(get_run(run_id), PROFILE_ARTIFACT)
    if path is None:
        raise DriftError(
            f"run {run_id} has no {PROFILE_ARTIFACT}; it was trained before drift profiles were kept, "
            "so retrain it to check drift"
        )
    return Profile.from_json(path.read_bytes())


def _reference_frame(predictor: Predictor) -> pd.DataFrame:
    """The training dataset version's feature table, rebuilt from its stored items."""
    from canvascraft.services.datasets import item_bytes, open_version, table_rows

    params = predictor.context.params
    if "dataset" not in params:
        raise DriftError(
            f"run {predictor.context.run_id} does not record its dataset; retrain to check drift"
        )
    version = params.get("dataset_version")
    try:
        view = open_version(params["dataset"], int(version) if version and version.isdigit() else None)
    except CanvasCraftError as error:
        raise DriftError(
            f"the model's training data is gone, so there is nothing to compare: {error}"
        ) from None
    if predictor.modality == "table":
        return table_rows(view).drop(columns=[view.version.label_column], errors="ignore")
    chosen = [view.items[i] for i in _spread(len(view.items), REFERENCE_ITEMS)]
    return feature_table(predictor.modality, (item_bytes(item.sha256) for item in chosen))


def _signal_batch(predictor: Predictor, files: list[tuple[str, bytes]]) -> _Batch:
    """Signal features and a prediction per image or clip; a file failing either is skipped."""
    from canvascraft.drift.profile import signal_features

    rows: list[dict[str, float]] = []
    predicted: list[str] = []
    skipped: list[tuple[str, str]] = []
    for name, data in files:
        try:
            features = signal_features(predictor.modality, data)
            label = predictor.predict_file(data, name).label
        except CanvasCraftError as error:
            skipped.append((name, str(error)))
            continue
        rows.append(features)
        predicted.append(label)
    return _Batch(pd.DataFrame(rows), predicted, skipped)


def _table_batch(predictor: Predictor, frames: list[tuple[str, pd.DataFrame]], label: str | None) -> _Batch:
    """Rows of every table file the model can read (without the label column), with their predictions."""
    kept: list[pd.DataFrame] = []
    predicted: list[str] = []
    skipped: list[tuple[str, str]] = []
    for name, frame in frames:
        if label is not None:
            frame = frame.drop(columns=[label], errors="ignore")
        try:
            predicted += [str(p) for p in predictor.predict_rows(frame)["predicted"]]
        except CanvasCraftError as error:
            skipped.append((name, str(error)))
            continue
        kept.append(frame)
    frame = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame()
    return _Batch(frame, predicted, skipped)


def _folder_batch(predictor: Predictor, folder: Path) -> _Batch:
    from canvascraft.gallery.predict import folder_files, read_rows

    files = folder_files(folder)
    if not files:
        raise DriftError(f"the folder {folder} holds no files to check")
    if predictor.modality != "table":
        return _signal_batch(predictor, [(path.name, path.read_bytes()) for path in files])
    frames: list[tuple[str, pd.DataFrame]] = []
    unreadable: list[tuple[str, str]] = []
    for path in files:
        try:
            frames.append((path.name, read_rows(path.read_bytes(), path.name, predictor)))
        except CanvasCraftError as error:
            unreadable.append((path.name, str(error)))
    batch = _table_batch(predictor, frames, predictor.context.params.get("label_column"))
    batch.skipped[:0] = unreadable
    return batch


def _dataset_batch(predictor: Predictor, name: str) -> _Batch:
    from canvascraft.data.inspect import read_table
    from canvascraft.services.datasets import item_bytes, open_version

    try:
        view = open_version(name)
    except CanvasCraftError as error:
        raise DriftError(f"{name!r} is neither a folder nor a dataset: {error}") from None
    if predictor.modality == "table":
        frames = []
        skipped: list[tuple[str, str]] = []
        for item in view.items:
            try:
                frames.append((item.name, read_table(item_bytes(item.sha256), item.format)))
            except (CanvasCraftError, ValueError, OSError) as error:
                skipped.append((item.name, str(error)))
        batch = _table_batch(predictor, frames, view.version.label_column)
        batch.skipped[:0] = skipped
        return batch
    chosen = [view.items[i] for i in _spread(len(view.items), CURRENT_ITEMS)]
    return _signal_batch(predictor, [(item.name, item_bytes(item.sha256)) for item in chosen])


def _compare(
    profile: Profile,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    limits: dict[str, float],
    skipped: list[tuple[str, str]],
) -> dict[str, dict[str, MetricResult]]:
    """Numeric columns against the rebuilt reference, categorical ones against the profile's counts;
    a column with no usable values on a side is skipped with the reason, not fatal."""
    numeric: list[str] = []
    results: dict[str, dict[str, MetricResult]] = {}
    for column, summary in profile.columns.items():
        if column not in current.columns:
            skipped.append((column, "not in the current data"))
            continue
        if summary.get("kind") == "categorical":
            try:
                found = chi_square(
                    summary.get("counts", {}),
                    current[column].dropna().astype(str).tolist(),
                    limits["chi_square"],
                    column=column,
                )
            except DriftError as error:
                skipped.append((column, str(error)))
                continue
            results[column] = {"chi_square": found}
            continue
        values = {
            side: pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
            if column in frame.columns
            else np.array([])
            for side, frame in (("reference", reference), ("current", current))
        }
        empty = [side for side, array in values.items() if not np.isfinite(array).any()]
        if empty:
            skipped.append((column, f"no numeric values in the {' or '.join(empty)} data"))
            continue
        numeric.append(column)
        results[column] = {}
    if numeric:
        reference_table = reference[numeric].apply(pd.to_numeric, errors="coerce")
        current_table = current[numeric].apply(pd.to_numeric, errors="coerce")
        results.update(numeric_drift(reference_table, current_table, columns=numeric, thresholds=limits))
    return {column: results[column] for column in profile.columns if column in results}


def run_check(model_ref: str, current: str, thresholds: dict[str, float] | None = None) -> DriftCheckResult:
    """Check a registered model (``NAME@ALIAS`` or ``NAME/VERSION``) against ``current``: a folder of files
    (images, clips, or CSV/Parquet for table models) or a dataset name (its latest version).

    Unknown models, datasets or thresholds, an empty folder, or a batch with no readable file raise
    :class:`DriftError` with the reason.
    """
    from canvascraft.gallery.predict import Predictor
    from canvascraft.gallery.registry import ModelError

    limits = resolve_thresholds(thresholds)
    try:
        predictor = Predictor.from_ref(model_ref)
    except ModelError as error:
        raise DriftError(f"cannot check drift of {model_ref!r}: {error}") from None
    run_id = predictor.context.run_id
    profile = _load_profile(run_id)
    path = Path(current).expanduser()
    batch = _folder_batch(predictor, path) if path.is_dir() else _dataset_batch(predictor, current)
    if not batch.predicted:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in batch.skipped[:3])
        raise DriftError(
            f"nothing in {current} could be read for a drift check" + (f" ({reasons})" if reasons else "")
        )
    reference = _reference_frame(predictor)
    skipped = list(batch.skipped)
    results = _compare(profile, reference, batch.frame, limits, skipped)
    prediction: MetricResult | None = None
    if profile.label_counts:
        prediction = prediction_drift(
            profile.label_counts, Counter(batch.predicted), limits["prediction_drift"]
        )
    flagged: dict[str, Any] = dict(results)
    if prediction is not None:
        flagged["prediction"] = prediction
    sentences = plain_sentences(profile, batch.frame, flagged)
    drifted = any(r.drifted for found in results.values() for r in found.values()) or bool(
        prediction is not None and prediction.drifted
    )
    return DriftCheckResult(
        model_ref=model_ref,
        run_id=run_id,
        current=current,
        n_reference=len(reference),
        n_current=len(batch.frame),
        results=results,
        prediction=prediction,
        drifted=drifted,
        sentences=sentences,
        skipped=skipped,
    )
