"""One run in full for the Gallery's detail view: parameters, curves, per-class figures, the confusion
matrix and the items behind each cell, the embedding map, checkpoints, artifacts and lineage.

Everything per item comes from the run's ``validation/predictions.json`` (written by the job from its
best model), so the matrix, the per-class table and the map describe the same model and items, and
``items_in_cell`` returns exactly the items a cell counts.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go
from mlflow.exceptions import MlflowException

from canvascraft.errors import GalleryError, RunNotFoundError
from canvascraft.gallery.runs import (
    RunCard,
    artifact_dir,
    best_of,
    card_of,
    check_run_id,
    experiment_id,
    lower_is_better,
    metric_rows,
)
from canvascraft.jobs.checkpoints import CheckpointInfo, list_checkpoints
from canvascraft.tracking.runs import tracking_client
from canvascraft.training.objectives import BASELINE, Objective
from canvascraft.training.trainers import objective_of

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

History = list[tuple[int, float]]
PREDICTIONS = "validation/predictions.json"
"""``canvascraft.training.evaluate.PREDICTIONS``, repeated so reading a run never imports torch."""


@dataclass(frozen=True)
class Lineage:
    """Where a run came from: data, recipe, the study it was a trial of, the run it was forked from."""

    dataset: str | None
    dataset_version: str | None
    recipe: str | None
    recipe_version: str | None
    study: str | None
    trial: int | None
    parent_run_id: str | None
    parent_run_name: str | None
    forked_from_run: str | None
    forked_from_job: str | None
    forked_from_checkpoint: str | None
    forked_from_epoch: str | None


@dataclass(frozen=True)
class ClassMetrics:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class ValidationItem:
    """One validation item as the model saw it; ``confidence`` is the predicted class's probability."""

    index: int
    name: str | None
    sha256: str | None
    label: str
    predicted: str
    confidence: float
    x: float
    y: float

    @property
    def correct(self) -> bool:
        return self.label == self.predicted


@dataclass(frozen=True)
class Artifact:
    path: str
    size: int


@dataclass(frozen=True)
class RunDetail:
    """A run's full view. ``confusion[i][j]`` counts items of ``classes[i]`` predicted as ``classes[j]``;
    ``items`` are the validation items (also the embedding map's points, at ``x``/``y``)."""

    card: RunCard
    params: dict[str, str]
    tags: dict[str, str]
    lineage: Lineage
    metric_history: dict[str, History]
    classes: list[str]
    per_class: list[ClassMetrics]
    confusion: list[list[int]]
    items: list[ValidationItem]
    checkpoints: list[CheckpointInfo]
    artifacts: list[Artifact]
    model_uris: list[str] = field(default_factory=list)

    @property
    def has_validation(self) -> bool:
        return bool(self.items)

    @property
    def objective(self) -> Objective:
        """What the run's trainer reports: the checkpoint table's columns."""
        return objective_of(self.card.trainer)


def get_run(run_id: str, client: MlflowClient | None = None) -> Run:
    """The run, or ``RunNotFoundError`` for an unknown, malformed, deleted or foreign run id."""
    run_id = check_run_id(run_id)
    client = client or tracking_client()
    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise RunNotFoundError(f"run {run_id} does not exist (deleted?)") from None
    if run.info.lifecycle_stage != "active" or run.info.experiment_id != experiment_id(client):
        raise RunNotFoundError(f"run {run_id} does not exist (deleted?)")
    return run


def artifact_file(run: Run, path: str, client: MlflowClient | None = None) -> Path | None:
    """A run artifact as a local file (read in place from the workspace's store), or None if absent."""
    folder = artifact_dir(run.info.artifact_uri)
    if folder is not None:
        local = folder / path
        return local if local.is_file() else None
    client = client or tracking_client()
    try:
        return Path(client.download_artifacts(run.info.run_id, path, tempfile.mkdtemp(prefix="canvascraft-")))
    except (MlflowException, OSError):
        return None


def read_predictions(run: Run, client: MlflowClient | None = None) -> tuple[list[str], list[ValidationItem]]:
    """Classes and validation items from ``validation/predictions.json``; empty for a run without one."""
    path = artifact_file(run, PREDICTIONS, client)
    if path is None:
        return [], []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        classes = [str(c) for c in data["classes"]]
        items = []
        for item in data["items"]:
            probabilities = item.get("probabilities") or []
            predicted = str(item["predicted"])
            at = classes.index(predicted) if predicted in classes else -1
            items.append(
                ValidationItem(
                    index=int(item["index"]),
                    name=item.get("name"),
                    sha256=item.get("sha256"),
                    label=str(item["label"]),
                    predicted=predicted,
                    confidence=float(probabilities[at]) if 0 <= at < len(probabilities) else float("nan"),
                    x=float(item.get("x", 0.0)),
                    y=float(item.get("y", 0.0)),
                )
            )
    except (ValueError, KeyError, TypeError) as error:
        raise GalleryError(f"run {run.info.run_id}: {PREDICTIONS} cannot be read ({error})") from None
    return classes, items


def _per_class(classes: list[str], items: list[ValidationItem]) -> tuple[list[ClassMetrics], list[list[int]]]:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    if not classes or not items:
        return [], []
    truth = [item.label for item in items]
    predicted = [item.predicted for item in items]
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=classes, zero_division=0
    )
    table = [
        ClassMetrics(label, float(p), float(r), float(f), int(s))
        for label, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
    ]
    matrix = confusion_matrix(truth, predicted, labels=classes)
    return table, [[int(count) for count in row] for row in matrix]


def _lineage(run: Run, client: MlflowClient) -> Lineage:
    params, tags = run.data.params, run.data.tags
    parent_id = tags.get("mlflow.parentRunId")
    parent_name = None
    if parent_id:
        try:
            parent_name = client.get_run(parent_id).info.run_name
        except MlflowException:
            parent_name = None  # the study's run was deleted; the id still says where it came from
    trial = tags.get("canvascraft.trial")
    return Lineage(
        dataset=params.get("dataset"),
        dataset_version=params.get("dataset_version"),
        recipe=params.get("recipe"),
        recipe_version=params.get("recipe_version"),
        study=tags.get("canvascraft.study"),
        trial=int(trial) if trial and trial.isdigit() else None,
        parent_run_id=parent_id,
        parent_run_name=parent_name,
        forked_from_run=tags.get("canvascraft.forked_from_run") or None,
        forked_from_job=params.get("forked_from_job"),
        forked_from_checkpoint=params.get("forked_from_checkpoint"),
        forked_from_epoch=params.get("forked_from_epoch"),
    )


def _artifacts(run: Run, client: MlflowClient) -> list[Artifact]:
    folder = artifact_dir(run.info.artifact_uri)
    if folder is not None:
        if not folder.is_dir():
            return []
        return sorted(
            (Artifact(path.relative_to(folder).as_posix(), path.stat().st_size)
             for path in folder.rglob("*") if path.is_file()),
            key=lambda a: a.path,
        )  # fmt: skip
    found: list[Artifact] = []
    pending: list[str | None] = [None]
    while pending:
        for info in client.list_artifacts(run.info.run_id, pending.pop()):
            if info.is_dir:
                pending.append(info.path)
            else:
                found.append(Artifact(info.path, int(info.file_size or 0)))
    return sorted(found, key=lambda a: a.path)


def _checkpoints(job_id: int | None) -> list[CheckpointInfo]:
    if job_id is None:
        return []
    try:
        return list_checkpoints(job_id)
    except (OSError, ValueError):
        return []


def run_detail(run_id: str) -> RunDetail:
    """Everything the detail view shows for one run; ``RunNotFoundError`` when the id names none."""
    client = tracking_client()
    run = get_run(run_id, client)
    run_id = run.info.run_id
    rows = metric_rows([run_id], None, client)
    history = {key: steps for (_, key), steps in sorted(rows.items())}
    primary = objective_of(run.data.params.get("trainer")).primary
    main = primary if primary in history else next(iter(history), None)
    best = best_of(main, history[main]) if main else None
    classes, items = read_predictions(run, client)
    per_class, confusion = _per_class(classes, items)
    card = card_of(run, best)
    model_uris = [f"models:/{out.model_id}" for out in (run.outputs.model_outputs if run.outputs else [])]
    return RunDetail(
        card=card,
        params=dict(sorted(run.data.params.items())),
        tags=dict(sorted(run.data.tags.items())),
        lineage=_lineage(run, client),
        metric_history=history,
        classes=classes,
        per_class=per_class,
        confusion=confusion,
        items=items,
        checkpoints=_checkpoints(card.job_id),
        artifacts=_artifacts(run, client),
        model_uris=model_uris,
    )


def items_in_cell(detail: RunDetail, true_label: str, predicted: str) -> list[ValidationItem]:
    """The validation items a confusion-matrix cell counts, in validation order."""
    for label in (true_label, predicted):
        if label not in detail.classes:
            raise GalleryError(
                f"{label!r} is not a class of run {detail.card.run_id} ({', '.join(detail.classes)})"
            )
    return [item for item in detail.items if item.label == true_label and item.predicted == predicted]


def item_at(detail: RunDetail, index: int) -> ValidationItem:
    """The validation item with dataset ``index`` (what a click on the map or a cell carries)."""
    for item in detail.items:
        if item.index == index:
            return item
    raise GalleryError(f"item {index} is not in run {detail.card.run_id}'s validation split")


SCORE_METRICS = ("accuracy", "f1")


QUALITY_PREFIX = "quality_"
"""A generator's per-epoch quality figures (``canvascraft.training.quality``): charted on their own."""


def is_curve(metric: str) -> bool:
    """Per-epoch metrics draw as curves; ``best_*`` summaries and the baseline's figures (one value
    each), timings and a generator's quality figures (their own chart) do not."""
    return metric != "epoch_seconds" and not metric.startswith(("best_", f"{BASELINE}_", QUALITY_PREFIX))


def quality_curves_figure(detail: RunDetail) -> go.Figure | None:
    """A generator's quality while it trained: FID beside its real-against-real floor (left), and the
    shares of samples (precision, recall, label agreement, memorised) on 0–1 (right); None without any."""
    from plotly.subplots import make_subplots

    history = detail.metric_history
    if not any(name.startswith(QUALITY_PREFIX) for name in history):
        return None
    figure = make_subplots(rows=1, cols=2, subplot_titles=("FID (dashed: its floor)", "shares of samples"))
    panels = (
        (1, ("fid", "solid"), ("fid_floor", "dash")),
        (2, ("precision", "solid"), ("recall", "solid"), ("label_agreement", "solid"), ("memorised", "dot")),
    )
    for column, *lines in panels:
        for name, dash in lines:
            steps = history.get(QUALITY_PREFIX + name, [])
            if steps:
                figure.add_trace(
                    go.Scatter(x=[s for s, _ in steps], y=[v for _, v in steps], mode="lines+markers",
                               name=name.replace("_", " "), line={"dash": dash}),
                    row=1, col=column,
                )  # fmt: skip
    figure.update_yaxes(rangemode="tozero", row=1, col=1)
    figure.update_yaxes(range=[0, 1.02], tickformat=".0%", row=1, col=2)
    figure.update_xaxes(title_text="epoch")
    figure.update_layout(height=300, legend={"orientation": "h"}, margin={"l": 40, "r": 20, "t": 40, "b": 40})
    return figure


def metric_curves_figure(detail: RunDetail, metrics: list[str] | None = None) -> go.Figure:
    """Loss curves on the left axis and scores (accuracy, F1) on a 0–1 right axis, per epoch."""
    names = metrics or [name for name in detail.metric_history if is_curve(name)]
    figure = go.Figure()
    for name in names:
        steps = detail.metric_history.get(name, [])
        score = any(word in name for word in SCORE_METRICS) and not lower_is_better(name)
        figure.add_trace(
            go.Scatter(
                x=[s for s, _ in steps], y=[v for _, v in steps], name=name, mode="lines+markers",
                yaxis="y2" if score else "y", line={"dash": "solid" if name.startswith("val_") else "dot"},
            )
        )  # fmt: skip
    figure.update_layout(
        xaxis={"title": "epoch"},
        yaxis={"title": "loss"},
        yaxis2={"title": "score", "overlaying": "y", "side": "right", "range": [0, 1.02]},
        legend={"orientation": "h"},
        margin={"l": 40, "r": 40, "t": 30, "b": 40},
    )
    return figure


def confusion_figure(detail: RunDetail) -> go.Figure:
    """The confusion matrix as a heatmap; each cell's ``customdata`` is ``[true label, predicted]``."""
    classes = detail.classes
    custom = [[[truth, guess] for guess in classes] for truth in classes]
    figure = go.Figure(
        go.Heatmap(
            z=detail.confusion, x=classes, y=classes, customdata=custom, colorscale="Purples",
            text=detail.confusion, texttemplate="%{text}",
            hovertemplate="true %{y}<br>predicted %{x}<br>%{z} items<extra></extra>",
        )
    )  # fmt: skip
    figure.update_layout(
        xaxis={"title": "predicted", "side": "top"},
        yaxis={"title": "true", "autorange": "reversed"},
        margin={"l": 40, "r": 20, "t": 60, "b": 20},
    )
    return figure


def embedding_figure(detail: RunDetail) -> go.Figure:
    """The 2-D map of validation embeddings, one trace per true label; wrong predictions are crosses.
    Each point's ``customdata`` is ``[index, name, sha256, label, predicted]``."""
    figure = go.Figure()
    for label in detail.classes:
        points = [item for item in detail.items if item.label == label]
        if not points:
            continue
        figure.add_trace(
            go.Scatter(
                x=[p.x for p in points], y=[p.y for p in points], mode="markers", name=label,
                marker={"symbol": ["circle" if p.correct else "x" for p in points], "size": 9},
                customdata=[[p.index, p.name, p.sha256, p.label, p.predicted] for p in points],
                hovertemplate="%{customdata[1]}<br>label %{customdata[3]}<br>predicted %{customdata[4]}"
                "<extra></extra>",
            )
        )  # fmt: skip
    figure.update_layout(
        xaxis={"title": "PC 1"}, yaxis={"title": "PC 2"}, legend={"title": "label"},
        margin={"l": 40, "r": 20, "t": 30, "b": 40},
    )  # fmt: skip
    return figure


def as_dict(item: ValidationItem) -> dict[str, Any]:
    """An item as plain JSON-ready data (for the CLI and a page's table)."""
    return {
        "index": item.index, "name": item.name, "sha256": item.sha256, "label": item.label,
        "predicted": item.predicted, "confidence": item.confidence,
    }  # fmt: skip
