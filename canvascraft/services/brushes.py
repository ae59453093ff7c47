"""What the Brushes page and ``recipe preview`` call: the brush catalog, recipe checks and previews."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch

from canvascraft.brushes import Param, all_brushes
from canvascraft.data.catalog import ItemView
from canvascraft.data.reads import item_bytes, items_across_labels, open_version, table_rows
from canvascraft.errors import RecipeError
from canvascraft.modalities import PREVIEW_ROWS, PREVIEW_SIDE, get_modality
from canvascraft.recipe import preview
from canvascraft.recipe.io import to_yaml as to_yaml
from canvascraft.recipe.preview import AudioPreview as AudioPreview
from canvascraft.recipe.preview import ImagePreview as ImagePreview
from canvascraft.recipe.preview import TablePreview as TablePreview
from canvascraft.recipe.spec import Recipe, validate_recipe

TABLE_PREVIEW_ROWS = PREVIEW_ROWS


@dataclass(frozen=True)
class BrushInfo:
    """A brush as the editor shows it: built from its declared parameters only."""

    name: str
    summary: str
    augments: bool
    params: tuple[Param, ...]
    finishing: bool = False


def brush_catalog(modality: str) -> list[BrushInfo]:
    return [
        BrushInfo(b.name, b.summary, b.augments, tuple(b.params), b.finishing)
        for b in sorted(all_brushes(modality), key=lambda b: b.name)  # type: ignore[arg-type]
    ]


def insertion_index(steps: Sequence[str], catalog: Mapping[str, BrushInfo], adding: str) -> int:
    """Where the editor puts a new ``adding`` brush in a recipe whose steps are ``steps`` (brush
    names): before the recipe's trailing finishing steps (``normalize``, ``standardize``), so it works
    on the values it was made for, or at the end when the recipe has none or the new brush finishes."""
    index = len(steps)
    if catalog.get(adding) is not None and catalog[adding].finishing:
        return index
    while index > 0 and (info := catalog.get(steps[index - 1])) is not None and info.finishing:
        index -= 1
    return index


def check_recipe(data: Mapping[str, Any]) -> tuple[Recipe | None, list[str]]:
    """The validated recipe, or None and every error with its place (``brushes[2].sigma: …``)."""
    try:
        return validate_recipe(data), []
    except RecipeError as error:
        return None, error.errors


def sample_items(dataset: str, count: int) -> list[ItemView]:
    """``count`` items spread over the labels (one of each label in turn)."""
    return items_across_labels(open_version(dataset), count)


@lru_cache(maxsize=256)
def _display_original(sha256: str, max_side: int) -> tuple[torch.Tensor, float]:
    """Decoded and shrunk once per stored file: moving a slider then costs only the brushes."""
    return preview.downscale(preview.decode_image(item_bytes(sha256)), max_side)


def preview_uploaded_image(
    recipe: Recipe, name: str, data: bytes, n_variants: int, seed: int, max_side: int = PREVIEW_SIDE
) -> list[preview.ImagePreview]:
    modality = get_modality(recipe.modality)
    return [modality.preview_file(recipe, name, data, n_variants, seed, max_side=max_side)]


def preview_item_images(
    recipe: Recipe, items: list[ItemView], n_variants: int, seed: int, max_side: int = PREVIEW_SIDE
) -> list[preview.ImagePreview]:
    """Variants of stored images (chosen on the page, or spread over the labels by ``sample_items``)."""
    originals = [(i.name, *_display_original(i.sha256, max_side)) for i in items]
    return preview.preview_images(recipe, originals, n_variants, seed)


def preview_audio(recipe: Recipe, name: str, data: bytes, n_variants: int, seed: int) -> preview.AudioPreview:
    return get_modality(recipe.modality).preview_file(recipe, name, data, n_variants, seed)


def preview_dataset_table(recipe: Recipe, dataset: str) -> preview.TablePreview:
    view = open_version(dataset)
    frame = table_rows(view).head(TABLE_PREVIEW_ROWS)
    return preview.preview_table(recipe, frame, view.version.label_column)


def preview_grid_png(
    recipe: Recipe, dataset: str, count: int = 4, n_variants: int = 4, seed: int | None = None
) -> bytes:
    """The before/after grid image ``canvascraft recipe preview`` writes."""
    seed = recipe.seed if seed is None else seed
    view = open_version(dataset)
    if view.modality != recipe.modality:
        raise RecipeError(
            [f"recipe '{recipe.name}' is for {recipe.modality} data, but '{dataset}' holds {view.modality}"]
        )
    return get_modality(view.modality).preview_png(
        recipe, view, count=count, n_variants=n_variants, seed=seed
    )
