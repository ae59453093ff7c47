"""Drift check of a registered model: is the data it sees now still like the data it was trained on?

:func:`run_check` compares a *current* batch (a dataset's latest version, or a folder of files) with the
model version's training run:

* **Reference features.** The run's ``drift/profile.json`` holds histograms and quantiles, not raw
  values, and KS or Wasserstein on binned values would be approximate. The run's params pin the dataset
  and its version, and stored items never change, so the reference feature table is rebuilt exactly from
  those items (evenly capped at :data:`REFERENCE_ITEMS`, as training caps its profile). It covers the
  whole version rather than only the training split: the split is not stored, and the validation items are
  the same population. That table is prepared once per run and stored in the workspace
  (:mod:`canvascraft.drift.reference`: sorted columns, bin edges, spreads), built when the model is first
  watched (:func:`prepare_reference`) or by the first check that finds none, and loaded by every later
  check. Numeric columns are compared with it (:class:`NumericReference`); categorical table columns
  with the profile's stored category counts (:func:`chi_square`), which are exact already.
* **Predictions.** The model predicts every current item; :func:`prediction_drift` compares those labels
  with the profile's ``label_counts`` (the model's own predictions on its validation items).
* **Embeddings.** The same pass gives each current item's penultimate-layer embedding; :func:`mmd`
  compares them with the run's ``validation/embeddings.npy`` (the same model on its validation items).
* **What the views draw.** Histograms of both sides binned alike, the embeddings in two PCA axes fitted
  on the reference, and the current items farthest from the training data (nearest-neighbour distance in
  embedding space, relative to how far reference items sit from each other).

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
    mmd,
    prediction_drift,
    resolve_thresholds,
)
from canvascraft.drift.profile import Profile, plain_sentences
from canvascraft.drift.reference import StoredReference, reference_key, stored_reference
from canvascraft.drift.views import FarItem, FeatureHistogram, Projection
from canvascraft.errors import CanvasCraftError, DriftError
from canvascraft.modalities import Modality, get_modality

if TYPE_CHECKING:
    from canvascraft.gallery.predict import Predictor, RunContext

PROFILE_ARTIFACT = "drift/profile.json"
EMBEDDINGS_ARTIFACT = "validation/embeddings.npy"
HISTOGRAM_BINS = 20
PROJECTED_POINTS = 400
"""Points per side in the embedding map: enough to see the shape, light enough to store with the check."""
FARTHEST = 8
THUMBNAIL_PX = 96
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
    model_name: str = ""
    model_version: int | None = None
    histograms: dict[str, FeatureHistogram] = field(default_factory=dict)
    projection: Projection | None = None
    farthest: list[FarItem] = field(default_factory=list)

    @property
    def drifted_features(self) -> list[str]:
        """Features flagged by any metric, in table order."""
        return [name for name, found in self.results.items() if any(r.drifted for r in found.values())]

    def to_json(self) -> str:
        """Plain JSON (numpy numbers become Python ones; NaN becomes null) for scripts and reports."""
        payload = {
            "model_ref": self.model_ref,
            "model_version": self.model_version,
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
            "farthest": [{"name": item.name, "score": item.score} for item in self.farthest],
        }
        return json.dumps(jsonable(payload), indent=2, ensure_ascii=False, allow_nan=False)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON: numpy numbers as Python ones, NaN and infinity as None, the rest as text."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


@dataclass
class _Batch:
    """Current data: its feature table, the model's predicted labels and embeddings (one per row of
    ``frame``, named by ``names``), the images' bytes for thumbnails, and what was left out."""

    frame: pd.DataFrame
    predicted: list[str]
    skipped: list[tuple[str, str]]
    names: list[str] = field(default_factory=list)
    embeddings: np.ndarray | None = None
    images: list[bytes] = field(default_factory=list)


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


def _modality(predictor: Predictor) -> Modality:
    return get_modality(predictor.modality)


def _reference_frame(context: RunContext) -> pd.DataFrame:
    """The training dataset version's feature table, rebuilt from its stored items."""
    from canvascraft.data.reads import open_version

    params = context.params
    if "dataset" not in params:
        raise DriftError(f"run {context.run_id} does not record its dataset; retrain to check drift")
    version = params.get("dataset_version")
    try:
        view = open_version(params["dataset"], int(version) if version and version.isdigit() else None)
    except CanvasCraftError as error:
        raise DriftError(
            f"the model's training data is gone, so there is nothing to compare: {error}"
        ) from None
    return get_modality(context.modality).drift_frame(view, _spread(len(view.items), REFERENCE_ITEMS))


def _reference(context: RunContext, profile: Profile) -> StoredReference:
    """The run's prepared reference: loaded from the workspace, or rebuilt from the training items and
    stored there when there is none usable (first check, another run, a damaged file)."""
    key = reference_key(context.run_id, profile.columns, REFERENCE_ITEMS)
    return stored_reference(context.run_id, key, lambda: _reference_frame(context))


def prepare_reference(model_ref: str) -> StoredReference:
    """Build and store a model's drift reference now (when it is first watched), so its first check
    does not pay for it; a stored one for the same run and features is kept as it is. Reads the run's
    logged settings, not its model."""
    from canvascraft.errors import ModelError
    from canvascraft.gallery.predict import run_context

    info = _model_version(model_ref)
    if not info.run_id:
        raise DriftError(f"cannot check drift of {model_ref!r}: it has no training run")
    try:
        context = run_context(info.run_id)
    except ModelError as error:
        raise DriftError(f"cannot check drift of {model_ref!r}: {error}") from None
    return _reference(context, _load_profile(info.run_id))


def _signal_batch(predictor: Predictor, files: list[tuple[str, bytes]]) -> _Batch:
    """Signal features, a prediction and an embedding per image or clip; a file failing any is skipped."""
    modality = _modality(predictor)
    rows: list[dict[str, float]] = []
    predicted: list[str] = []
    names: list[str] = []
    embedded: list[np.ndarray] = []
    skipped: list[tuple[str, str]] = []
    for name, data in files:
        try:
            features = modality.signal_features(data)
            batch = predictor.prepare_file(data, name)
        except CanvasCraftError as error:
            skipped.append((name, str(error)))
            continue
        rows.append(features)
        predicted.append(predictor.prediction(predictor.probabilities(batch)[0]).label)
        names.append(name)
        embedding = predictor.embeddings(batch)
        if embedding is not None:
            embedded.append(embedding[0])
    images = [data for name, data in files if name in set(names)] if modality.thumbnails else []
    return _Batch(
        pd.DataFrame(rows),
        predicted,
        skipped,
        names,
        np.stack(embedded) if embedded and len(embedded) == len(names) else None,
        images,
    )


def _table_batch(predictor: Predictor, frames: list[tuple[str, pd.DataFrame]], label: str | None) -> _Batch:
    """Rows of every table file the model can read (without the label column), with their predictions
    and embeddings."""
    kept: list[pd.DataFrame] = []
    predicted: list[str] = []
    names: list[str] = []
    embedded: list[np.ndarray] = []
    skipped: list[tuple[str, str]] = []
    for name, frame in frames:
        if label is not None:
            frame = frame.drop(columns=[label], errors="ignore")
        try:
            batch = predictor.prepare_rows(frame)
        except CanvasCraftError as error:
            skipped.append((name, str(error)))
            continue
        predicted += [predictor.classes[i] for i in predictor.probabilities(batch).argmax(axis=1)]
        names += [f"{name} row {i + 1}" for i in range(len(frame))]
        embedding = predictor.embeddings(batch)
        if embedding is not None:
            embedded.append(embedding)
        kept.append(frame)
    frame = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame()
    embeddings = np.concatenate(embedded) if embedded and len(embedded) == len(kept) else None
    return _Batch(frame, predicted, skipped, names, embeddings)


def _files_batch(predictor: Predictor, files: list[tuple[str, bytes]]) -> _Batch:
    """Images or clips, or CSV/Parquet files of rows for a table model."""
    from canvascraft.gallery.predict import read_rows

    if not _modality(predictor).rows:
        return _signal_batch(predictor, files)
    frames: list[tuple[str, pd.DataFrame]] = []
    unreadable: list[tuple[str, str]] = []
    for name, data in files:
        try:
            frames.append((name, read_rows(data, name, predictor)))
        except CanvasCraftError as error:
            unreadable.append((name, str(error)))
    batch = _table_batch(predictor, frames, predictor.context.params.get("label_column"))
    batch.skipped[:0] = unreadable
    return batch


def _folder_batch(predictor: Predictor, folder: Path) -> _Batch:
    from canvascraft.gallery.predict import folder_files

    files = folder_files(folder)
    if not files:
        raise DriftError(f"the folder {folder} holds no files to check")
    return _files_batch(predictor, [(path.name, path.read_bytes()) for path in files])


def _dataset_batch(predictor: Predictor, name: str) -> _Batch:
    from canvascraft.data.reads import item_bytes, open_version

    try:
        view = open_version(name)
    except CanvasCraftError as error:
        raise DriftError(f"{name!r} is neither a folder nor a dataset: {error}") from None
    modality = _modality(predictor)
    if modality.rows:
        frames = []
        skipped: list[tuple[str, str]] = []
        for item in view.items:
            try:
                frames.append((item.name, modality.decode(item_bytes(item.sha256), item.format)))
            except (CanvasCraftError, ValueError, OSError) as error:
                skipped.append((item.name, str(error)))
        batch = _table_batch(predictor, frames, view.version.label_column)
        batch.skipped[:0] = skipped
        return batch
    chosen = [view.items[i] for i in _spread(len(view.items), CURRENT_ITEMS)]
    return _signal_batch(predictor, [(item.name, item_bytes(item.sha256)) for item in chosen])


def _compare(
    profile: Profile,
    reference: StoredReference,
    current: pd.DataFrame,
    limits: dict[str, float],
    skipped: list[tuple[str, str]],
) -> dict[str, dict[str, MetricResult]]:
    """Numeric columns against the stored reference, categorical ones against the profile's counts;
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
        values = pd.to_numeric(current[column], errors="coerce").to_numpy(dtype=np.float64)
        finite = {"reference": reference.finite_count(column), "current": int(np.isfinite(values).sum())}
        empty = [side for side, count in finite.items() if not count]
        if empty:
            skipped.append((column, f"no numeric values in the {' or '.join(empty)} data"))
            continue
        numeric.append(column)
        results[column] = {}
    if numeric:
        results.update(reference.compare(current, numeric, limits))
    return {column: results[column] for column in profile.columns if column in results}


def _reference_embeddings(run_id: str) -> np.ndarray | None:
    from canvascraft.gallery.detail import artifact_file, get_run

    path = artifact_file(get_run(run_id), EMBEDDINGS_ARTIFACT)
    if path is None:
        return None
    return np.load(path, allow_pickle=False).astype(np.float32)


def _embedding_drift(
    reference: np.ndarray | None, batch: _Batch, limit: float, skipped: list[tuple[str, str]]
) -> MetricResult | None:
    """MMD between the validation embeddings and the current ones; a missing side is listed, not fatal."""
    if reference is None:
        skipped.append(("embedding", "the run logged no validation embeddings; retrain to compare them"))
        return None
    if batch.embeddings is None:
        skipped.append(("embedding", "the model has no embedding layer to compare"))
        return None
    if len(reference) < 2 or len(batch.embeddings) < 2:
        skipped.append(("embedding", "MMD needs at least two items on each side"))
        return None
    if reference.shape[1] != batch.embeddings.shape[1]:
        skipped.append(("embedding", "the validation embeddings come from a different model shape"))
        return None
    try:
        return mmd(reference, batch.embeddings, threshold=limit)
    except DriftError as error:
        skipped.append(("embedding", str(error)))
        return None


def _fractions(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return [float(c / total) if total else 0.0 for c in counts]


def _numeric_histogram(feature: str, reference: np.ndarray, current: np.ndarray) -> FeatureHistogram | None:
    """Both sides on shared bins over the middle 99 % of the values (outliers land in the end bins)."""
    reference, current = reference[np.isfinite(reference)], current[np.isfinite(current)]
    if not reference.size or not current.size:
        return None
    both = np.concatenate([reference, current])
    low, high = np.quantile(both, [0.005, 0.995])
    if high <= low:
        low, high = float(both.min()) - 0.5, float(both.max()) + 0.5
    edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
    counts = [
        np.histogram(np.clip(side, low, high), bins=edges)[0].astype(np.float64)
        for side in (reference, current)
    ]
    return FeatureHistogram(feature, "numeric", _fractions(counts[0]), _fractions(counts[1]),
                            edges=[float(e) for e in edges])  # fmt: skip


def _categorical_histogram(
    feature: str, reference: Mapping[str, int], current: Counter[str]
) -> FeatureHistogram:
    labels = sorted(set(reference) | set(current), key=lambda label: -(reference.get(label, 0)))
    counts = [np.array([float(side.get(label, 0)) for label in labels]) for side in (reference, current)]
    return FeatureHistogram(
        feature, "categorical", _fractions(counts[0]), _fractions(counts[1]), labels=labels
    )


def _histograms(
    profile: Profile,
    reference: StoredReference,
    batch: _Batch,
    results: Mapping[str, Mapping[str, MetricResult]],
) -> dict[str, FeatureHistogram]:
    """What the drill-down overlays for every compared feature, plus the predicted labels."""
    histograms: dict[str, FeatureHistogram] = {}
    for feature in results:
        if feature not in batch.frame.columns:
            continue
        summary = profile.columns.get(feature, {})
        if summary.get("kind") == "categorical":
            current = Counter(batch.frame[feature].dropna().astype(str))
            histograms[feature] = _categorical_histogram(feature, summary.get("counts", {}), current)
            continue
        current = pd.to_numeric(batch.frame[feature], errors="coerce").to_numpy(dtype=np.float64)
        found = _numeric_histogram(feature, reference.column(feature), current)
        if found is not None:
            histograms[feature] = found
    if profile.label_counts:
        histograms["prediction"] = _categorical_histogram(
            "prediction", profile.label_counts, Counter(batch.predicted)
        )
    return histograms


def _spread_rows(array: np.ndarray, cap: int) -> np.ndarray:
    return array[_spread(len(array), cap)]


def _projection(reference: np.ndarray, batch: _Batch) -> Projection:
    """Both sides in the two main axes of the reference (PCA), so new items off the training cloud show."""
    assert batch.embeddings is not None
    centre = reference.mean(axis=0, keepdims=True)
    _, _, components = np.linalg.svd(reference - centre, full_matrices=False)
    axes = components[:2].T
    if axes.shape[1] < 2:
        axes = np.pad(axes, ((0, 0), (0, 2 - axes.shape[1])))
    chosen = _spread(len(batch.embeddings), PROJECTED_POINTS)

    def points(array: np.ndarray) -> list[tuple[float, float]]:
        return [(float(x), float(y)) for x, y in (array - centre) @ axes]

    return Projection(
        reference=points(_spread_rows(reference, PROJECTED_POINTS)),
        current=points(batch.embeddings[chosen]),
        current_names=[batch.names[i] for i in chosen],
    )


def _nearest_distances(
    points: np.ndarray, reference: np.ndarray, *, leave_one_out: bool = False
) -> np.ndarray:
    """Distance from each point to its nearest reference point, in chunks to bound memory."""
    out = np.empty(len(points), dtype=np.float64)
    reference_sq = (reference.astype(np.float64) ** 2).sum(axis=1)
    for start in range(0, len(points), 512):
        chunk = points[start : start + 512].astype(np.float64)
        squared = (chunk**2).sum(axis=1)[:, None] + reference_sq[None, :] - 2 * chunk @ reference.T
        if leave_one_out:
            np.fill_diagonal(squared[:, start : start + len(chunk)], np.inf)
        out[start : start + len(chunk)] = np.sqrt(np.maximum(squared.min(axis=1), 0.0))
    return out


def _farthest_scores(
    reference: StoredReference, embeddings: np.ndarray | None, batch: _Batch
) -> np.ndarray | None:
    """How unlike the training data each current item is: its nearest-neighbour distance to the
    reference embeddings over the reference items' own typical one (1 = as usual, 3 = three times as far).
    Without embeddings, table rows use the mean absolute z-score of their numeric columns."""
    if embeddings is not None and batch.embeddings is not None and len(embeddings) >= 2:
        sample = _spread_rows(embeddings, REFERENCE_ITEMS)
        typical = float(np.median(_nearest_distances(sample, sample, leave_one_out=True)))
        return _nearest_distances(batch.embeddings, sample) / (typical or 1.0)
    numeric = [c for c in batch.frame.columns if c in reference.columns]
    values = batch.frame[numeric].apply(pd.to_numeric, errors="coerce")
    mean, std = reference.column_stats(numeric)
    spread = std.replace(0, np.nan)
    if values.empty or spread.isna().all():
        return None
    return ((values - mean) / spread).abs().mean(axis=1, skipna=True).fillna(0).to_numpy()


def _farthest(
    modality: Modality, reference: StoredReference, embeddings: np.ndarray | None, batch: _Batch
) -> list[FarItem]:
    scores = _farthest_scores(reference, embeddings, batch)
    if scores is None or not len(scores):
        return []
    items: list[FarItem] = []
    images = dict(zip(batch.names, batch.images, strict=False)) if batch.images else {}
    for index in np.argsort(-scores, kind="stable")[:FARTHEST]:
        name = batch.names[index] if index < len(batch.names) else f"item {index + 1}"
        if modality.rows:
            row = batch.frame.iloc[int(index)].to_dict()
            items.append(FarItem(name, float(scores[index]), "row", values=jsonable(row)))
        else:
            thumbnail = modality.thumbnail(images[name], THUMBNAIL_PX) if name in images else None
            items.append(FarItem(name, float(scores[index]), modality.name, thumbnail_png=thumbnail))
    return items


def _model_version(model_ref: str) -> Any:
    from canvascraft.errors import ModelError
    from canvascraft.gallery.registry import resolve

    try:
        return resolve(model_ref)
    except ModelError as error:
        raise DriftError(f"cannot check drift of {model_ref!r}: {error}") from None


def run_check(
    model_ref: str,
    current: str,
    thresholds: Mapping[str, float] | None = None,
    files: list[tuple[str, bytes]] | None = None,
) -> DriftCheckResult:
    """Check a registered model (``NAME@ALIAS`` or ``NAME/VERSION``) against ``current``: a folder of files
    (images, clips, or CSV/Parquet for table models) or a dataset name (its latest version). With
    ``files`` (name, bytes), those are the current data and ``current`` only describes them (a watched
    folder's new files).

    Unknown models, datasets or thresholds, an empty folder, or a batch with no readable file raise
    :class:`DriftError` with the reason.
    """
    from canvascraft.errors import ModelError
    from canvascraft.gallery.predict import Predictor

    limits = resolve_thresholds(thresholds)
    info = _model_version(model_ref)
    try:
        predictor = Predictor.from_version(info)
    except ModelError as error:
        raise DriftError(f"cannot check drift of {model_ref!r}: {error}") from None
    run_id = predictor.context.run_id
    profile = _load_profile(run_id)
    if files is not None:
        batch = _files_batch(predictor, files)
    else:
        path = Path(current).expanduser()
        batch = _folder_batch(predictor, path) if path.is_dir() else _dataset_batch(predictor, current)
    if not batch.predicted:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in batch.skipped[:3])
        raise DriftError(
            f"nothing in {current} could be read for a drift check" + (f" ({reasons})" if reasons else "")
        )
    reference = _reference(predictor.context, profile)
    skipped = list(batch.skipped)
    results = _compare(profile, reference, batch.frame, limits, skipped)
    embeddings = _reference_embeddings(run_id)
    embedding = _embedding_drift(embeddings, batch, limits["mmd"], skipped)
    if embedding is not None:
        results["embedding"] = {"mmd": embedding}
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
    usable = embeddings if embedding is not None else None
    return DriftCheckResult(
        model_ref=model_ref,
        run_id=run_id,
        current=current,
        n_reference=reference.rows,
        n_current=len(batch.frame),
        results=results,
        prediction=prediction,
        drifted=drifted,
        sentences=sentences,
        skipped=skipped,
        model_name=info.name,
        model_version=int(info.version),
        histograms=_histograms(profile, reference, batch, results),
        projection=_projection(usable, batch) if usable is not None else None,
        farthest=_farthest(_modality(predictor), reference, usable, batch),
    )
