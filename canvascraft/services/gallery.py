"""The Gallery's door: runs (grid, facets, detail, compare), the model registry (register, aliases,
download) and trying a model on new files, as the pages and the CLI use them.

Everything here is the core's ``canvascraft.gallery`` (read-only MLflow queries, registry actions,
prediction) and the checkpoints of training jobs, gathered so a page never reaches past this module.
"""

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
from canvascraft.gallery.generate import (
    Picture,
    epoch_samples,
    generate,
    generator_labels,
    pictures_zip,
    registered_generators,
    walk,
)
from canvascraft.gallery.paging import token_for_page
from canvascraft.gallery.predict import Prediction, Predictor, predictions_csv
from canvascraft.gallery.registry import (
    download_zip,
    list_models,
    model_versions,
    register,
    resolve,
    set_alias,
)
from canvascraft.gallery.runs import (
    DEFAULT_METRIC,
    RunCard,
    RunFilter,
    lower_is_better,
    run_facets,
    search_runs,
)
from canvascraft.jobs.checkpoints import CheckpointInfo, list_checkpoints
from canvascraft.training.quality import NOTE as QUALITY_NOTE
from canvascraft.training.quality import Figure, quality_figures, quality_sentence

__all__ = [
    "DEFAULT_METRIC",
    "QUALITY_NOTE",
    "CheckpointInfo",
    "Comparison",
    "Figure",
    "Picture",
    "Prediction",
    "Predictor",
    "RecipeChange",
    "RunCard",
    "RunDetail",
    "RunFilter",
    "ValidationItem",
    "compare_runs",
    "confusion_figure",
    "curves_figure",
    "download_zip",
    "embedding_figure",
    "epoch_samples",
    "generate",
    "generator_labels",
    "items_in_cell",
    "list_checkpoints",
    "list_models",
    "lower_is_better",
    "metric_curves_figure",
    "model_versions",
    "pictures_zip",
    "predictions_csv",
    "quality_curves_figure",
    "quality_figures",
    "quality_sentence",
    "register",
    "registered_generators",
    "resolve",
    "run_detail",
    "run_facets",
    "search_runs",
    "set_alias",
    "shown_value",
    "token_for_page",
    "walk",
]
