"""Previews at display resolution show what training does at full size: same draws, scaled pixels."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from canvascraft.errors import DatasetError
from canvascraft.recipe.preview import at_resolution, downscale, image_grid_png, preview_images
from canvascraft.recipe.spec import validate_recipe
from canvascraft.services.brushes import (
    PREVIEW_SIDE,
    preview_item_images,
    preview_uploaded_image,
    sample_items,
)


def recipe(*steps: dict) -> object:
    return validate_recipe({"name": "look", "modality": "image", "brushes": list(steps)})


def test_pixel_settings_scale_with_the_preview_and_stay_valid() -> None:
    full = recipe(
        {"brush": "random_resized_crop", "params": {"size": 512}},
        {"brush": "gaussian_blur", "params": {"kernel_size": 9, "sigma": [1.0, 4.0]}},
        {"brush": "color_jitter"},
    )
    small = at_resolution(full, 0.25)
    crop, blur, jitter = (step.params for step in small.brushes)
    assert crop["size"] == 128 and crop["scale"] == [0.6, 1.0]  # sizes scale, fractions do not
    assert blur["sigma"] == [0.25, 1.0]
    assert blur["kernel_size"] == 3  # the nearest valid (odd) window
    assert jitter == full.brushes[2].params
    validate_recipe(small)


def test_downscale_keeps_the_aspect_and_reports_its_factor() -> None:
    image = torch.zeros(3, 300, 600, dtype=torch.uint8)
    small, factor = downscale(image, 150)
    assert small.shape == (3, 75, 150) and factor == 0.25
    same, one = downscale(torch.zeros(3, 40, 40, dtype=torch.uint8), 150)
    assert same.shape == (3, 40, 40) and one == 1.0


def test_the_thumbnail_shows_the_same_draws_as_full_size() -> None:
    rng = np.random.default_rng(0)
    left_dark = torch.from_numpy(
        np.concatenate(
            [rng.integers(0, 40, (3, 256, 128)), rng.integers(200, 255, (3, 256, 128))], axis=2
        ).astype(np.uint8)
    )
    flips = recipe({"brush": "horizontal_flip"}, {"brush": "rotation", "params": {"degrees": [-30, 30]}})
    small, factor = downscale(left_dark, 64)
    full_rows = preview_images(flips, [("x", left_dark, 1.0)], 8, seed=5)[0].variants
    small_rows = preview_images(flips, [("x", small, factor)], 8, seed=5)[0].variants
    for big, thumb in zip(full_rows, small_rows, strict=True):
        shrunk = np.asarray(Image.fromarray(big).resize(thumb.shape[1::-1], Image.Resampling.BILINEAR))
        assert np.abs(shrunk.astype(int) - thumb.astype(int)).mean() < 25  # same flip and angle


def test_previews_of_a_dataset_and_of_an_upload(sample_workspace: Path) -> None:
    items = sample_items("sample-images", 3)
    assert len({i.label for i in items}) == 3  # spread over the labels
    rows = preview_item_images(recipe({"brush": "horizontal_flip"}), items, 2, seed=1)
    assert [len(r.variants) for r in rows] == [2, 2, 2]
    assert max(rows[0].original.shape[:2]) <= PREVIEW_SIDE
    png = Image.open(io.BytesIO(image_grid_png(rows)))
    assert png.size == (3 * (128 + 6) + 6, 3 * (128 + 6) + 6)  # 3 rows: the original and 2 variants
    with pytest.raises(DatasetError, match=r"could not read notes\.png as an image"):
        preview_uploaded_image(recipe({"brush": "horizontal_flip"}), "notes.png", b"just text", 2, 0)


def test_previews_from_several_threads_draw_as_if_alone() -> None:
    """The studio serves each browser session from its own thread of one process."""
    from concurrent.futures import ThreadPoolExecutor

    image = torch.from_numpy(np.random.default_rng(1).integers(0, 255, (3, 48, 48), dtype=np.uint8))
    busy = recipe({"brush": "random_resized_crop", "params": {"size": 48}}, {"brush": "rotation"})
    alone = preview_images(busy, [("x", image, 1.0)], 6, seed=3)[0].variants
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda _: preview_images(busy, [("x", image, 1.0)], 6, seed=3), range(8)))
    for rows in together:
        assert all(np.array_equal(a, b) for a, b in zip(rows[0].variants, alone, strict=True))


def test_a_grey_picture_stays_grey_before_normalize() -> None:
    """normalize's output is the numbers the model reads: mapped to colours it tinted grey digits blue."""
    grey = torch.from_numpy(np.random.default_rng(2).integers(0, 255, (1, 40, 40), dtype=np.uint8))
    grey = grey.repeat(3, 1, 1)
    steps = ({"brush": "rotation", "params": {"degrees": [-20, 20]}}, {"brush": "normalize"})
    row = preview_images(recipe(*steps), [("digit", grey, 1.0)], 3, seed=4)[0]
    assert row.before_normalize
    for variant in row.variants:
        assert variant.dtype == np.uint8
        assert np.array_equal(variant[..., 0], variant[..., 1]) and np.array_equal(
            variant[..., 1], variant[..., 2]
        )
    same_draws = preview_images(recipe(steps[0]), [("digit", grey, 1.0)], 3, seed=4)[0]
    assert all(np.array_equal(a, b) for a, b in zip(row.variants, same_draws.variants, strict=True))
    assert not same_draws.before_normalize


def wav(seconds: float, rate: int = 16000) -> bytes:
    import soundfile as sf

    t = np.arange(int(seconds * rate)) / rate
    out = io.BytesIO()
    sf.write(out, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate, format="WAV")
    return out.getvalue()


@pytest.mark.parametrize("steps", [[], [{"brush": "mel_spectrogram", "params": {"n_mels": 16}}]])
def test_a_long_clip_s_spectrogram_is_drawn_at_a_readable_size(steps: list[dict]) -> None:
    """One pixel per frame made a 6 s clip a strip that, at a column's width, was a few pixels tall."""
    from canvascraft.recipe.preview import preview_audio

    audio = validate_recipe({"name": "hear", "modality": "audio", "brushes": steps})
    short, long = (preview_audio(audio, "clip.wav", wav(s), 1, 0) for s in (1.0, 6.0))
    picture = long.variants[0].spectrogram
    assert picture.shape[0] >= 64 and picture.shape[0] / picture.shape[1] >= 0.25  # tall at any width
    assert picture.shape == short.original.spectrogram.shape == long.original.spectrogram.shape
