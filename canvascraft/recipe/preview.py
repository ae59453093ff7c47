"""Live preview of a recipe on a user's own items: what the Brushes page and ``recipe preview`` show.

Variants run the recipe's ``train`` pipeline under ``item_seed(seed, k)``, exactly as training
draws them for item k, so a fixed seed gives the same grid and training sees what the preview showed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf
import torch
from PIL import Image, ImageDraw
from torchvision.transforms.v2.functional import resize as resize_image

from canvascraft.brushes.audio import Clip, Features, load_clip
from canvascraft.brushes.base import Param
from canvascraft.brushes.functional.audio import mel_spectrogram_batch, power_to_db
from canvascraft.brushes.registry import get_brush
from canvascraft.recipe.compose import Pipeline, apply_step, compose, item_seed, seeded
from canvascraft.recipe.spec import Recipe

DISPLAY_MEL = {"n_fft": 512, "hop_length": 160, "n_mels": 64}
# A spectrogram is drawn at this size whatever the clip's length: one pixel per frame would make a 6 s
# clip a strip 600 wide and 64 tall, which shown at a column's width is a few pixels high.
SPECTROGRAM_SIZE = (480, 160)


@dataclass(frozen=True)
class ImagePreview:
    """One item: the original and its variants, as HxWx3 uint8 arrays ready to show."""

    name: str
    original: np.ndarray
    variants: list[np.ndarray]
    #: The variants stop before the recipe's final ``normalize`` (its output is numbers, not a picture).
    before_normalize: bool = False


@dataclass(frozen=True)
class AudioVariant:
    """One take: the clip after the effect brushes (to listen to) and the features the model eats."""

    wav: bytes
    spectrogram: np.ndarray
    feature_kind: str


@dataclass(frozen=True)
class AudioPreview:
    name: str
    original: AudioVariant
    variants: list[AudioVariant]


@dataclass(frozen=True)
class TablePreview:
    before: pd.DataFrame
    after: pd.DataFrame
    label_column: str | None


def decode_image(data: bytes) -> torch.Tensor:
    """A stored image as the uint8 ``(C, H, W)`` tensor brushes work on (RGB)."""
    with Image.open(io.BytesIO(data)) as image:
        array = np.asarray(image.convert("RGB"))
    return torch.from_numpy(array.copy()).permute(2, 0, 1)


def displayable(image: torch.Tensor) -> np.ndarray:
    """HxWx3 uint8 for display; float outputs (after ``normalize``) are stretched back to 0..255."""
    if image.dtype != torch.uint8:
        low, high = image.amin(), image.amax()
        image = ((image - low) / (high - low).clamp_min(1e-8) * 255).round().to(torch.uint8)
    array = image.permute(1, 2, 0).numpy()
    return np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array


def _scaled(param: Param, value: Any, factor: float) -> Any:
    """A pixel-measured value at ``factor`` times the resolution, kept valid for its parameter."""
    if param.kind == "choice":
        return min(param.choices or (value,), key=lambda choice: abs(choice - value * factor))
    if isinstance(value, list):
        single = replace(param, kind="int" if param.kind == "int_range" else "float")
        return [_scaled(single, v, factor) for v in value]
    scaled = value * factor
    if param.minimum is not None:
        scaled = max(scaled, param.minimum)
    return round(scaled) if param.kind == "int" else scaled


def at_resolution(recipe: Recipe, factor: float) -> Recipe:
    """The recipe as it acts on images ``factor`` times the size: pixel lengths scale, draws stay."""
    steps = []
    for step in recipe.brushes:
        params = dict(step.params)
        for param in get_brush(step.brush).params:
            if param.unit == "px" and param.name in params:
                params[param.name] = _scaled(param, params[param.name], factor)
        steps.append(step.model_copy(update={"params": params}))
    return recipe.model_copy(update={"brushes": steps})


def downscale(image: torch.Tensor, max_side: int) -> tuple[torch.Tensor, float]:
    """Shrink so the longest side is at most ``max_side``; returns the image and the factor used."""
    height, width = image.shape[-2:]
    factor = max_side / max(height, width)
    if factor >= 1:
        return image, 1.0
    size = [max(1, round(height * factor)), max(1, round(width * factor))]
    return resize_image(image, size, antialias=True), factor


def without_final_normalize(recipe: Recipe) -> tuple[Recipe, bool]:
    """The recipe less its last enabled step when that is ``normalize``, and whether one was dropped.

    ``normalize`` turns pixels into the numbers the model reads; mapped back to colours they tint a grey
    picture. It draws nothing, so the steps before it give exactly the variants training draws.
    """
    enabled = [i for i, step in enumerate(recipe.brushes) if step.enabled]
    if not enabled or recipe.brushes[enabled[-1]].brush != "normalize":
        return recipe, False
    kept = [step for i, step in enumerate(recipe.brushes) if i != enabled[-1]]
    return recipe.model_copy(update={"brushes": kept}), True


def preview_images(
    recipe: Recipe, originals: list[tuple[str, torch.Tensor, float]], n_variants: int, seed: int
) -> list[ImagePreview]:
    """Variants of decoded originals, each given with the factor it was shrunk by for display.

    Pixel-measured settings (sizes, blur widths) shrink by the same factor, so a thumbnail shows what
    training does at full size: the same draws, at display resolution, at a fraction of the cost.
    Variants are shown as they are just before a final ``normalize`` (``without_final_normalize``).
    """
    recipe, before_normalize = without_final_normalize(recipe)
    pipelines: dict[float, Pipeline] = {}
    rows = []
    for name, original, factor in originals:
        if factor not in pipelines:
            pipelines[factor] = compose(recipe if factor == 1.0 else at_resolution(recipe, factor), "train")
        variants = [displayable(v) for v in pipelines[factor].variants(original, n_variants, seed)]
        rows.append(ImagePreview(name, displayable(original), variants, before_normalize))
    return rows


def _trace_audio(pipeline: Pipeline, clip: Clip, seed: int) -> tuple[Clip, Features | None]:
    """Run the pipeline as training does, keeping the last clip (to listen to) and the features."""
    last_clip, sample = clip, clip
    with seeded(seed):
        for step in pipeline.steps:
            sample, _ = apply_step(step, sample)
            if isinstance(sample, Clip):
                last_clip = sample
    return last_clip, sample if isinstance(sample, Features) else None


def spectrogram_image(values: np.ndarray, kind: str, size: tuple[int, int] = SPECTROGRAM_SIZE) -> np.ndarray:
    """Features as a ``size`` (width, height) image, low frequencies at the bottom, power in decibels.

    The time axis is resampled to the fixed width, so a long clip is as readable as a short one.
    """
    shown = power_to_db(values) if kind == "mel" else values
    low, high = float(np.min(shown)), float(np.max(shown))
    scaled = (shown - low) / max(high - low, 1e-8)
    picture = Image.fromarray(colormap(scaled[::-1]))
    return np.asarray(picture.resize(size, Image.Resampling.BILINEAR))


def colormap(unit: np.ndarray) -> np.ndarray:
    """A violet-to-yellow palette (dark is quiet), close to the usual spectrogram look."""
    stops = np.array([[12, 7, 35], [94, 23, 128], [190, 55, 110], [246, 132, 60], [252, 240, 150]], float)
    position = np.clip(unit, 0, 1) * (len(stops) - 1)
    lower = np.floor(position).astype(int).clip(0, len(stops) - 2)
    fraction = (position - lower)[..., None]
    return (stops[lower] * (1 - fraction) + stops[lower + 1] * fraction).astype(np.uint8)


def _audio_variant(clip: Clip, features: Features | None) -> AudioVariant:
    wav = io.BytesIO()
    sf.write(wav, np.clip(clip.samples, -1, 1), clip.sample_rate, format="WAV", subtype="PCM_16")
    if features is None:
        values = mel_spectrogram_batch(
            clip.samples[None, :], clip.sample_rate, **DISPLAY_MEL, fmin=0.0, fmax=None
        )[0]
        features = Features(values, "mel", clip.sample_rate, DISPLAY_MEL["hop_length"])
    return AudioVariant(wav.getvalue(), spectrogram_image(features.values, features.kind), features.kind)


def spectrogram_png(data: bytes) -> bytes:
    """A clip's mel spectrogram as a PNG (the previews' palette), e.g. for a run's card picture."""
    picture = _audio_variant(load_clip(data), None).spectrogram
    out = io.BytesIO()
    Image.fromarray(picture).save(out, format="PNG")
    return out.getvalue()


def preview_audio(recipe: Recipe, name: str, data: bytes, n_variants: int, seed: int) -> AudioPreview:
    clip = load_clip(data)
    original = _audio_variant(*_trace_audio(compose(recipe, "eval"), clip, seed))
    train = compose(recipe, "train")
    variants = [_audio_variant(*_trace_audio(train, clip, item_seed(seed, k))) for k in range(n_variants)]
    return AudioPreview(name, original, variants)


def preview_table(recipe: Recipe, frame: pd.DataFrame, label_column: str | None) -> TablePreview:
    """Table brushes are fitted on the rows shown (as training fits them on its training split)."""
    pipeline = compose(recipe, "train").fit(frame, label_column)
    return TablePreview(frame, pipeline.apply(frame, recipe.seed), label_column)


def tile_grid_png(rows: list[list[np.ndarray]], cell: tuple[int, int], gap: int = 6) -> bytes:
    """Arrays laid out one row per item, the original first, a violet line after it."""
    width, height = cell
    columns = max((len(r) for r in rows), default=1)
    grid = Image.new("RGB", (columns * (width + gap) + gap, len(rows) * (height + gap) + gap), "white")
    for y, row in enumerate(rows):
        for x, array in enumerate(row):
            tile = Image.fromarray(array).resize((width, height), Image.Resampling.NEAREST)
            grid.paste(tile, (gap + x * (width + gap), gap + y * (height + gap)))
    if columns > 1:
        line_x = gap + width + gap // 2
        ImageDraw.Draw(grid).line([(line_x, 0), (line_x, grid.height)], fill="#7c3aed", width=2)
    out = io.BytesIO()
    grid.save(out, format="PNG")
    return out.getvalue()


def image_grid_png(rows: list[ImagePreview]) -> bytes:
    """The ``recipe preview`` output for images: originals first, variants beside them."""
    return tile_grid_png([[r.original, *r.variants] for r in rows], (128, 128))


def audio_grid_png(previews: list[AudioPreview]) -> bytes:
    """The ``recipe preview`` output for audio: spectrograms, the original first."""
    rows = [[p.original.spectrogram, *(v.spectrogram for v in p.variants)] for p in previews]
    return tile_grid_png(rows, (192, 96))


def table_grid_png(
    preview: TablePreview, bins: int = 20, cell: tuple[int, int] = (220, 90), gap: int = 8
) -> bytes:
    """Per numeric column, a histogram before (grey) and after (violet) the recipe."""
    columns = [c for c in preview.before.select_dtypes("number").columns if c != preview.label_column]
    width, height = cell
    grid = Image.new("RGB", (2 * (width + gap) + gap, max(1, len(columns)) * (height + gap) + gap), "white")
    draw = ImageDraw.Draw(grid)
    for y, column in enumerate(columns):
        for x, (frame, colour) in enumerate(((preview.before, "#a1a1aa"), (preview.after, "#7c3aed"))):
            if column not in frame:
                continue
            values = pd.to_numeric(frame[column], errors="coerce").dropna().to_numpy()
            if values.size == 0:
                continue
            counts, _ = np.histogram(values, bins=bins)
            left, top = gap + x * (width + gap), gap + y * (height + gap)
            bar = width / bins
            for i, count in enumerate(counts):
                bar_height = (height - 14) * count / max(counts.max(), 1)
                draw.rectangle(
                    [left + i * bar, top + height - bar_height, left + (i + 1) * bar - 1, top + height],
                    fill=colour,
                )
            draw.text((left + 2, top), str(column), fill="#1f1b2d")
    out = io.BytesIO()
    grid.save(out, format="PNG")
    return out.getvalue()
