"""A quick classical model on a run's own split: the figure a trained model has to beat.

Every classification run also fits a scikit-learn model on the same training items and scores it on
the same validation items, so "your model 92.0% · baseline 88.0%" compares like with like. A model
that does not beat it has learned less than a few lines of classical machine learning would, and the
studio says so with what to try (``not_beaten``).

What the baseline reads is the modality's (``Modality.baseline_features``): pictures shrunk to at most
16×16 pixels, a spectrogram's per-band mean and spread over time, a table's columns as the recipe left
them. The model is the same for all three: standardised features into a logistic regression. It is
deterministic and fits a few hundred items in well under a second. Gradient boosting was measured
for tables on scikit-learn's bundled tables (80/20 stratified splits, five seeds): logistic regression
scored wine 0.989, breast cancer 0.981 and iris 0.953 in about 10 ms; ``HistGradientBoostingClassifier``
0.972, 0.961 and 0.953 in 170–350 ms, so it was no better anywhere and twenty times slower.

Items are read through the recipe's ``eval`` stage where the split offers one for its training items
(``ItemDataset``: the same decoding and preprocessing as validation, without the random augmentation
the model trains on): a classical model fits once, and one augmented draw would only add noise to it.
Table rows are used as the split holds them (table brushes never augment).

Nothing here fails a run: a baseline that cannot be fitted (one class, non-finite features, a
modality without baseline features) is ``None`` with the reason logged. Heavy libraries are imported
inside the functions, so the record and ``not_beaten`` cost nothing to import.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from canvascraft.training.objectives import BASELINE, CLASSIFICATION, Objective

if TYPE_CHECKING:
    import torch
    from torch.utils.data import Dataset

    from canvascraft.tracking.runs import TrainingRun
    from canvascraft.training.split import SplitData

log = logging.getLogger(__name__)

MAX_TRAIN_ITEMS = 2000
"""At most this many training items are read (a seeded stratified subset): the baseline must never
stall a job on a big dataset, and a linear model gains little from more."""
MAX_VAL_ITEMS = 5000
"""At most this many validation items are scored (all of them below it, the usual case)."""
MAX_ITER = 1000
C = 1.0
"""Logistic regression's inverse regularisation strength: scikit-learn's default, which did as well as
any on the bundled tables and digits."""
PARAM = "baseline"
"""The MLflow param naming the baseline model; its figures are logged as ``baseline_<metric>``."""
SEED = 0


@dataclass(frozen=True)
class Baseline:
    """A fitted baseline's figures on the validation items, by metric name (``accuracy``, ``f1``, as the
    objective's meter defines them), and what it was."""

    model: str
    """``logistic regression on 16×16 pixels``."""
    figures: dict[str, float]
    seconds: float = 0.0
    train_items: int = 0
    val_items: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Baseline | None:
        """A progress document's baseline; None for rows without one (older jobs, generators)."""
        if not data or "model" not in data or "figures" not in data:
            return None
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def value(self, objective: Objective, key: str) -> float | None:
        """The baseline's figure beside a validation metric of the model (``val_accuracy`` → its
        accuracy); None for other metrics (training figures, timings) and figures it lacks."""
        metric = next((m for m in objective.metrics if m.key("val") == key), None)
        if metric is None or metric.name not in self.figures:
            return None
        return float(self.figures[metric.name])


def not_beaten(label: str, model: str, baseline: str) -> str:
    """The warning a finished run shows when its best figure is not above its baseline's."""
    return (
        f"The model's best validation {label} ({model}) is not above the baseline's ({baseline}): "
        "it learned no more than a quick classical model on the same items. Try more epochs, a gentler "
        "recipe (fewer or milder augmentations), or more items per class."
    )


def fit_baseline(split: SplitData, objective: Objective = CLASSIFICATION) -> Baseline | None:
    """Fit the baseline on ``split``'s training items and score it on its validation items with
    ``objective``'s meter; None, with the reason logged, when it cannot be fitted."""
    try:
        return _fit(split, objective)
    except Exception as error:  # a baseline is a comparison, never a reason for a run to fail
        log.warning("no baseline for this run: %s", error)
        return None


def _fit(split: SplitData, objective: Objective) -> Baseline | None:
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from canvascraft.modalities import get_modality

    modality = get_modality(split.modality)
    started = time.perf_counter()
    train = _unaugmented(split.train, split.val)
    x_train, y_train = _features(modality, train, MAX_TRAIN_ITEMS)
    if x_train is None:
        log.warning("no baseline for this run: %s data has no baseline features", split.modality)
        return None
    present = np.unique(y_train)
    if len(present) < 2:
        log.warning("no baseline for this run: its training items hold only one class")
        return None
    x_val, y_val = _features(modality, split.val, MAX_VAL_ITEMS)
    assert x_val is not None
    if not (np.isfinite(x_train).all() and np.isfinite(x_val).all()):
        log.warning("no baseline for this run: some features are not finite numbers")
        return None
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=MAX_ITER, C=C))
    model.fit(x_train, y_train)
    # Every class gets a column (one missing from training scores zero), so the meter sees the same
    # number of classes as it does for the run's own model.
    probabilities = np.full((len(x_val), len(split.classes)), 1e-12)
    probabilities[:, model.classes_] = np.clip(model.predict_proba(x_val), 1e-12, 1.0)
    log_p = torch.from_numpy(np.log(probabilities)).float()
    targets = torch.from_numpy(y_val).long()
    loss = torch.nn.functional.nll_loss(log_p, targets)
    meter = objective.meter()
    meter.add(log_p, targets, loss)
    figures = {name: float(value) for name, value in meter.result().items()}
    described = f"logistic regression on {modality.baseline_input(tuple(split.input_shape))}"
    return Baseline(
        model=described,
        figures=figures,
        seconds=round(time.perf_counter() - started, 3),
        train_items=len(x_train),
        val_items=len(x_val),
    )


def _unaugmented(train: Dataset[Any], val: Dataset[Any]) -> Dataset[Any]:
    """The training items through the validation pipeline when both are ``ItemDataset``s (the recipe's
    eval stage: no random augmentation), else the training items as they come."""
    from canvascraft.training.data import ItemDataset

    if isinstance(train, ItemDataset) and isinstance(val, ItemDataset):
        return ItemDataset(train.view, train.indices, val.pipeline, train.classes, read=train.read)
    return train


def _labels(dataset: Dataset[Any]) -> list[int]:
    """Each item's class index without decoding it where the dataset can say."""
    from torch.utils.data import TensorDataset

    from canvascraft.training.data import ItemDataset

    if isinstance(dataset, ItemDataset):
        index = {c: i for i, c in enumerate(dataset.classes)}
        return [index[str(dataset.view.items[i].label)] for i in dataset.indices]
    if isinstance(dataset, TensorDataset):
        return [int(y) for y in dataset.tensors[1].tolist()]
    return [int(dataset[i][1]) for i in range(len(dataset))]  # type: ignore[arg-type]


def _features(modality: Any, dataset: Dataset[Any], most: int) -> tuple[np.ndarray | None, np.ndarray]:
    """Up to ``most`` items (a seeded stratified subset beyond it) as a feature matrix and labels."""
    from canvascraft.training.split import stratified_split

    labels = _labels(dataset)
    positions = list(range(len(labels)))
    if len(positions) > most:
        _, positions = stratified_split([str(y) for y in labels], most / len(labels), SEED)
    rows: list[torch.Tensor] = []
    for position in positions:
        x, _ = dataset[position]
        features = modality.baseline_features(x)
        if features is None:
            return None, np.asarray([], dtype=np.int64)
        rows.append(features)
    if not rows:
        return np.zeros((0, 0), dtype=np.float32), np.asarray([], dtype=np.int64)
    import torch

    matrix = torch.stack(rows).numpy().astype(np.float64)
    return matrix, np.asarray([labels[p] for p in positions], dtype=np.int64)


def log_baseline(
    training: TrainingRun, split: SplitData, objective: Objective, *, resumed: bool
) -> Baseline | None:
    """The run's baseline, fitted and logged (``baseline`` param, ``baseline_<metric>`` figures), or
    the one a resumed run logged before; None for objectives other than classification."""
    if objective.task != CLASSIFICATION.task:
        return None
    try:
        if resumed:
            earlier = logged_baseline(training.run_id)
            if earlier is not None:
                return earlier
        baseline = fit_baseline(split, objective)
        if baseline is None:
            return None
        scores = {
            m.key(BASELINE): baseline.figures[m.name] for m in objective.scores if m.name in baseline.figures
        }
        training.log_summary(scores, {PARAM: baseline.model})
    except Exception as error:  # the run goes on without one (MLflow refused a write, say)
        log.warning("no baseline for this run: %s", error)
        return None
    return baseline


def logged_baseline(run_id: str) -> Baseline | None:
    """The baseline a run logged (its param and ``baseline_<metric>`` figures), None when it has none."""
    from canvascraft.tracking.runs import tracking_client

    data = tracking_client().get_run(run_id).data
    return baseline_of(data.params, data.metrics)


def baseline_of(params: dict[str, str], metrics: dict[str, float]) -> Baseline | None:
    """A baseline from a run's params and latest metrics, as the Gallery reads runs."""
    model = params.get(PARAM)
    prefix = f"{BASELINE}_"
    figures = {key[len(prefix) :]: float(value) for key, value in metrics.items() if key.startswith(prefix)}
    if not model or not figures:
        return None
    return Baseline(model=model, figures=figures)
