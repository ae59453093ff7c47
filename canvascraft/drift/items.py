"""A check's current files one by one, most drifted first, each with the model's guess.

A check's metrics are per feature (brightness, loudness, the embedding as a whole); to label new files
someone needs them per item, the least like the training data first. The score is the one the check's
"farthest items" already use, so the two views agree:

* **With embeddings** (the run logged ``validation/embeddings.npy`` and the model has a linear head):
  the item's distance to its nearest validation embedding, over the validation items' own typical
  nearest-neighbour distance. 1× is as usual, 3× three times as far as training items sit from each
  other: it measures how unlike anything the model saw the item looks *to the model*.
* **Without them**: the mean absolute z-score of the item's signal features (brightness, contrast,
  loudness …) against the training profile's stored mean and standard deviation. That is how many
  training standard deviations the item sits from the training average, feature by feature: honest for
  "this photo is darker than the training photos", blind to what the signals do not describe.

Files the model cannot read are skipped and listed, never dropped silently. Tables are not ranked here:
a table file holds many rows, and labelling rows is left to the Data page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from canvascraft.drift.checks import (
    REFERENCE_ITEMS,
    _load_profile,
    _nearest_distances,
    _reference_embeddings,
    _spread_rows,
)
from canvascraft.errors import CanvasCraftError, DriftError
from canvascraft.modalities import get_modality

THUMBNAIL_PX = 96


@dataclass(frozen=True)
class RankedItem:
    """One current file: how far from the training data (``score``, × usual or z), the model's guess."""

    name: str
    sha256: str
    score: float
    guess: str
    confidence: float
    picture: bytes | None = None
    """A PNG to show: the thumbnail of a photo, the waveform of a clip."""
    audio: bytes | None = None
    """The clip's bytes, for a player."""


@dataclass(frozen=True)
class RankedFiles:
    items: list[RankedItem]
    """Most drifted first (ties keep the files' order)."""
    classes: list[str]
    """The labels the model knows, for choosing a correction."""
    modality: str
    measure: str
    """``embedding`` or ``signals``: which score ``items`` carry (see the module's docstring)."""
    skipped: list[tuple[str, str]] = field(default_factory=list)


def rank_files(model_ref: str, files: list[tuple[str, bytes]]) -> RankedFiles:
    """Score, guess and order ``files`` (name, bytes) against ``model_ref``'s training data."""
    import hashlib

    from canvascraft.gallery.predict import Predictor

    predictor = Predictor.from_ref(model_ref)
    modality = get_modality(predictor.modality)
    if modality.rows:
        raise DriftError(
            f"{model_ref} reads table rows; label new rows by adding them with their label column on the "
            "Data page (only pictures and clips are labelled one by one here)"
        )
    kept: list[tuple[str, bytes]] = []
    guesses: list[tuple[str, float]] = []
    embedded: list[np.ndarray] = []
    signals: list[dict[str, float]] = []
    skipped: list[tuple[str, str]] = []
    for name, data in files:
        try:
            batch = predictor.prepare_file(data, name)
            features = modality.signal_features(data) if modality.signals else {}
        except (CanvasCraftError, OSError, ValueError) as error:
            skipped.append((name, str(error)))
            continue
        row = predictor.probabilities(batch)[0]
        top = int(row.argmax())
        guesses.append((predictor.classes[top], float(row[top])))
        embedding = predictor.embeddings(batch)
        if embedding is not None:
            embedded.append(embedding[0])
        signals.append(features)
        kept.append((name, data))
    run_id = predictor.context.run_id
    reference = _reference_embeddings(run_id)
    if reference is not None and len(reference) >= 2 and len(embedded) == len(kept) and kept:
        current = np.stack(embedded)
        if current.shape[1] == reference.shape[1]:
            sample = _spread_rows(reference, REFERENCE_ITEMS)
            typical = float(np.median(_nearest_distances(sample, sample, leave_one_out=True)))
            scores, measure = _nearest_distances(current, sample) / (typical or 1.0), "embedding"
        else:
            scores, measure = _signal_scores(run_id, signals), "signals"
    else:
        scores, measure = _signal_scores(run_id, signals), "signals"
    ranked = []
    for index in np.argsort(-scores, kind="stable") if len(kept) else []:
        name, data = kept[int(index)]
        guess, confidence = guesses[int(index)]
        if modality.thumbnails:
            picture, audio = modality.thumbnail(data, THUMBNAIL_PX), None
        else:
            picture, audio = _waveform(data), data
        ranked.append(
            RankedItem(name, hashlib.sha256(data).hexdigest(), float(scores[int(index)]), guess,
                       confidence, picture, audio)
        )  # fmt: skip
    return RankedFiles(ranked, list(predictor.classes), modality.name, measure, skipped)


def _waveform(data: bytes) -> bytes | None:
    from canvascraft.data.preview import waveform_png

    try:
        return waveform_png(data, width=160, height=40)
    except (CanvasCraftError, OSError, ValueError):
        return None


def _signal_scores(run_id: str, signals: list[dict[str, float]]) -> np.ndarray:
    """Mean absolute z-score of each item's signal features against the training profile."""
    profile = _load_profile(run_id)
    scores = np.zeros(len(signals), dtype=np.float64)
    for position, features in enumerate(signals):
        found = []
        for column, value in features.items():
            summary = profile.columns.get(column) or {}
            mean, std = summary.get("mean"), summary.get("std")
            if mean is None or not std or not np.isfinite(value):
                continue
            found.append(abs(float(value) - float(mean)) / float(std))
        scores[position] = float(np.mean(found)) if found else 0.0
    return scores
