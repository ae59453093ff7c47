"""The Gallery's door: runs (grid, facets, detail, compare), the model registry (register, aliases,
download), model cards and trying a model on new files, as the pages and the CLI use them.

Everything here is the core's ``canvascraft.gallery`` (read-only MLflow queries, registry actions,
prediction) and the checkpoints of training jobs, gathered so a page never reaches past this module.
"""

import math
from typing import Any

from canvascraft.gallery.card import (
    CARD_FILE,
    ModelCard,
    card_markdown,
    describe,
    model_card,
    render_markdown,
    training_data_warnings,
)
from canvascraft.gallery.compare import Comparison, RecipeChange, compare_runs, curves_figure, shown_value
from canvascraft.gallery.detail import (
    RunDetail,
    ValidationItem,
    confusion_figure,
    embedding_figure,
    items_in_cell,
    metric_curves_figure,
    quality_curves_figure,
    run_detail,
)
from canvascraft.gallery.export import FORMATS as EXPORT_FORMATS
from canvascraft.gallery.generate import (
    Picture,
    epoch_samples,
    generator_labels,
    pictures_zip,
    registered_generators,
)
from canvascraft.gallery.generate import generate as _generate
from canvascraft.gallery.generate import walk as _walk
from canvascraft.gallery.paging import token_for_page
from canvascraft.gallery.predict import Prediction, Predictor, predictions_csv
from canvascraft.gallery.registry import ModelVersionInfo, list_models, model_versions, resolve
from canvascraft.gallery.registry import download_zip as folder_zip
from canvascraft.gallery.registry import register as _register
from canvascraft.gallery.registry import set_alias as _set_alias
from canvascraft.gallery.runs import (
    DEFAULT_METRIC,
    RunCard,
    RunFilter,
    lower_is_better,
    run_facets,
    search_runs,
)
from canvascraft.jobs.checkpoints import CheckpointInfo, list_checkpoints
from canvascraft.modalities import get_modality
from canvascraft.services.guard import action
from canvascraft.services.people import require_role
from canvascraft.training.quality import NOTE as QUALITY_NOTE
from canvascraft.training.quality import Figure, quality_figures, quality_sentence

generate = action(role="artist", does="generate with a model")(_generate)
walk = action(role="artist", does="generate with a model")(_walk)
set_alias = action(
    role="admin", does="move a model's alias", audit="model.alias", target="{name}@{alias} → v{version}"
)(_set_alias)


@action(role="artist", does="register a model", audit="model.register", target="{name} from run {run_id}")
def register(run_id: str, name: str, alias: str | None = None) -> ModelVersionInfo:
    """A new version of model ``name`` from the run's model: an artist registers a candidate; giving it
    an alias at once (``champion``) moves that alias, which needs an admin."""
    if alias:
        require_role("admin", f"register a model as {alias!r} (moving an alias)")
    return _register(run_id, name, alias)


@action(role="artist", does="export a model", audit="model.export", target="{name}/{version} as {fmt}")
def export_zip(name: str, version: int | str, fmt: str = "onnx") -> bytes:
    """A version as a zip bundle for use outside the studio (``canvascraft models export``), its model
    card (with the licence and consent of the data it learned from) inside as ``MODEL_CARD.md``."""
    from canvascraft.gallery.export import export_zip as bundle_zip

    return bundle_zip(f"{name}/{version}", fmt, extra_files={CARD_FILE: card_markdown(name, version)})


@action(role="artist", does="download a model", audit="model.download", target="{name}/{version}")
def download_zip(name: str, version: int | str) -> bytes:
    """A version's MLflow model folder as a zip, its model card inside as ``MODEL_CARD.md``."""
    return folder_zip(name, version, extra_files={CARD_FILE: card_markdown(name, version)})


def export_formats(name: str, version: int | str) -> tuple[str, ...]:
    """The formats a version exports as (a generator: onnx only, its sampling loop runs on onnxruntime)."""
    from canvascraft.gallery.export import export_formats as formats

    return formats(f"{name}/{version}")


def export_problem(name: str, version: int | str) -> str | None:
    """Why a version cannot be exported (a recipe step with no export, a generator), before anyone
    waits for the export; None when it can be."""
    from canvascraft.gallery.export import export_problem as problem

    return problem(f"{name}/{version}")


def _records(frame: Any) -> list[dict[str, Any]]:
    """A predictions frame as JSON-ready rows: NaN (no probability for an unreadable file) as None."""

    def cell(value: Any) -> Any:
        return None if isinstance(value, float) and math.isnan(value) else value

    return [{key: cell(value) for key, value in row.items()} for row in frame.to_dict(orient="records")]


@action(role="artist", does="try a model")
def predict_files(ref: str, files: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
    """Predict uploaded files (CSV/Parquet rows for a table model) with ``NAME@ALIAS`` or ``NAME/VERSION``:
    one row per file or table row with ``file``, ``predicted``, ``probability`` and ``error``. The files
    are kept for the model's drift checks, as the Try page and ``canvascraft predict`` keep them."""
    from canvascraft.services.drift import capture_try

    table = Predictor.from_ref(ref).predict_many(files)
    capture_try(ref, files)
    return _records(table)


@action(role="artist", does="try a model")
def predict_table_rows(ref: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Predict table rows given as column → value mappings: each row back with ``predicted``,
    ``probability`` and one ``p(<class>)`` per class."""
    import pandas as pd

    from canvascraft.errors import UnreadableFileError

    predictor = Predictor.from_ref(ref)
    if not get_modality(predictor.modality).rows:
        raise UnreadableFileError(f"{ref} reads {get_modality(predictor.modality).reads}, not table rows")
    if not rows:
        raise UnreadableFileError("no rows to predict: send at least one row of column values")
    return _records(predictor.predict_rows(pd.DataFrame(rows)))


__all__ = [
    "CARD_FILE",
    "DEFAULT_METRIC",
    "EXPORT_FORMATS",
    "QUALITY_NOTE",
    "CheckpointInfo",
    "Comparison",
    "Figure",
    "ModelCard",
    "Picture",
    "Prediction",
    "Predictor",
    "RecipeChange",
    "RunCard",
    "RunDetail",
    "RunFilter",
    "ValidationItem",
    "card_markdown",
    "compare_runs",
    "confusion_figure",
    "curves_figure",
    "describe",
    "download_zip",
    "embedding_figure",
    "epoch_samples",
    "export_formats",
    "export_problem",
    "export_zip",
    "generate",
    "generator_labels",
    "items_in_cell",
    "list_checkpoints",
    "list_models",
    "lower_is_better",
    "metric_curves_figure",
    "model_card",
    "model_versions",
    "pictures_zip",
    "predict_files",
    "predict_table_rows",
    "predictions_csv",
    "quality_curves_figure",
    "quality_figures",
    "quality_sentence",
    "register",
    "registered_generators",
    "render_markdown",
    "resolve",
    "run_detail",
    "run_facets",
    "search_runs",
    "set_alias",
    "shown_value",
    "token_for_page",
    "training_data_warnings",
    "walk",
]
