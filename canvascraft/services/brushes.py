"""What the Brushes page and ``recipe preview`` call: the brush catalog, recipe checks and previews."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import zip_longest
from typing import Any

import torch

from canvascraft.brushes import Param, all_brushes
from canvascraft.data.catalog import ItemView
from canvascraft.data.reads import item_bytes, open_version, table_rows
from canvascraft.errors import CanvasCraftError, DatasetError, RecipeError
from canvascraft.recipe import preview
from canvascraft.recipe.io import to_yaml as to_yaml
from canvascraft.recipe.preview import AudioPreview as AudioPreview
from canvascraft.recipe.preview import ImagePreview as ImagePreview
from canvascraft.recipe.preview import TablePreview as TablePreview
from canvascraft.recipe.spec import Recipe, validate_recipe

TABLE_PREVIEW_ROWS = 500
# Previews run at display resolution: thumbnails on the page are about this wide.
PREVIEW_SIDE = 128


@dataclass(frozen=True)
class BrushInfo:
    """A brush as the editor shows it: built from its declared parameters only."""

    name: str
    summary: str
    augments: bool
    params: tuple[Param, ...]


def brush_catalog(modality: str) -> list[BrushInfo]:
    return [
        BrushInfo(b.name, b.summary, b.augments, tuple(b.params))
        for b in sorted(all_brushes(modality), key=lambda b: b.name)  # type: ignore[arg-type]
    ]


def check_recipe(data: Mapping[str, Any]) -> tuple[Recipe | None, list[str]]:
    """The validated recipe, or None and every error with its place (``brushes[2].sigma: …``)."""
    try:
        return validate_recipe(data), []
    except RecipeError as error:
        return None, error.errors


def sample_items(dataset: str, count: int) -> list[ItemView]:
    """``count`` items spread over the labels (one of each label in turn)."""
    view = open_version(dataset)
    by_label: dict[str | None, list[ItemView]] = {}
    for item in view.items:
        by_label.setdefault(item.label, []).append(item)
    interleaved = [i for group in zip_longest(*by_label.values()) for i in group if i is not None]
    if not interleaved:
        raise DatasetError(f"dataset '{dataset}' has no items to preview")
    return interleaved[:count]


@lru_cache(maxsize=256)
def _display_original(sha256: str, max_side: int) -> tuple[torch.Tensor, float]:
    """Decoded and shrunk once per stored file: moving a slider then costs only the brushes."""
    return preview.downscale(preview.decode_image(item_bytes(sha256)), max_side)


def preview_uploaded_image(
    recipe: Recipe, name: str, data: bytes, n_variants: int, seed: int, max_side: int = PREVIEW_SIDE
) -> list[preview.ImagePreview]:
    try:
        image = preview.decode_image(data)
    except (OSError, ValueError) as error:
        raise DatasetError(f"could not read {name} as an image: {error}") from None
    return preview.preview_images(recipe, [(name, *preview.downscale(image, max_side))], n_variants, seed)


def preview_item_images(
    recipe: Recipe, items: list[ItemView], n_variants: int, seed: int, max_side: int = PREVIEW_SIDE
) -> list[preview.ImagePreview]:
    """Variants of stored images (chosen on the page, or spread over the labels by ``sample_items``)."""
    originals = [(i.name, *_display_original(i.sha256, max_side)) for i in items]
    return preview.preview_images(recipe, originals, n_variants, seed)


def preview_audio(recipe: Recipe, name: str, data: bytes, n_variants: int, seed: int) -> preview.AudioPreview:
    try:
        return preview.preview_audio(recipe, name, data, n_variants, seed)
    except (RuntimeError, ValueError) as error:
        if isinstance(error, CanvasCraftError):
            raise
        raise DatasetError(f"could not read {name} as audio: {error}") from None


def preview_dataset_table(recipe: Recipe, dataset: str) -> preview.TablePreview:
    view = open_version(dataset)
    frame = table_rows(view).head(TABLE_PREVIEW_ROWS)
    return preview.preview_table(recipe, frame, view.version.label_column)


def preview_grid_png(
    recipe: Recipe, dataset: str, count: int = 4, n_variants: int = 4, seed: int | None = None
) -> bytes:
    """The before/after grid image ``canvascraft recipe preview`` writes."""
    seed = recipe.seed if seed is None else seed
    modality = open_version(dataset).modality
    if modality != recipe.modality:
        raise RecipeError(
            [f"recipe '{recipe.name}' is for {recipe.modality} data, but '{dataset}' holds {modality}"]
        )
    if modality == "image":
        return preview.image_grid_png(
            preview_item_images(recipe, sample_items(dataset, count), n_variants, seed)
        )
    if modality == "audio":
        clips = sample_items(dataset, count)
        return preview.audio_grid_png(
            [preview_audio(recipe, i.name, item_bytes(i.sha256), n_variants, seed) for i in clips]
        )
    return preview.table_grid_png(preview_dataset_table(recipe, dataset))
