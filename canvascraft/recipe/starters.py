"""Starter recipes, one per modality and one for the image generator, saved into every new workspace
so nobody starts from a blank page. They use brushes with their default settings where the defaults
are good, so they stay valid as brush defaults are tuned; ``validate_recipe`` fills the settings in
when they are saved."""

from __future__ import annotations

from typing import Any

from canvascraft.recipe.spec import BrushStep, Recipe


def _steps(*steps: str | tuple[str, dict[str, Any]]) -> list[BrushStep]:
    return [
        BrushStep(brush=step) if isinstance(step, str) else BrushStep(brush=step[0], params=step[1])
        for step in steps
    ]


GENTLE_CROP = [0.85, 1.0]
"""Share of the area the gentle starter's crops keep: a digit or a face cropped to 0.6 loses strokes."""

STARTER_RECIPES: tuple[Recipe, ...] = (
    Recipe(
        name="image-starter",
        modality="image",
        description=(
            "A gentle mix that suits small datasets and pictures with an up and a left (letters, digits, "
            "faces). Every image is first made 64 by 64 pixels. While the model learns, each picture is "
            "cropped a little differently (keeping at least 85% of it) and its brightness, contrast and "
            "colour are nudged slightly; nothing is mirrored or turned. Last, the pixels are turned into "
            "the numbers the model reads."
        ),
        brushes=_steps(
            ("resize", {"size": 64}),
            ("random_resized_crop", {"size": 64, "scale": GENTLE_CROP, "ratio": [0.9, 1.1]}),
            ("color_jitter", {"brightness": 0.1, "contrast": 0.1, "saturation": 0.1, "hue": 0.0}),
            "normalize",
        ),
    ),
    Recipe(
        name="image-strong",
        modality="image",
        description=(
            "A strong mix for large datasets (hundreds of pictures per class) whose subjects look the "
            "same mirrored (textures, landscapes, most objects). Every image is first made 64 by 64 "
            "pixels. While the model learns, each picture is cropped to as little as 60% of it, "
            "sometimes mirrored, its colours nudged and now and then softly blurred, so the model "
            "learns the subject rather than one exact copy of it. Last, the pixels are turned into the "
            "numbers the model reads. On a few dozen pictures per class, or on letters and digits, "
            "image-starter does better."
        ),
        brushes=_steps(
            ("resize", {"size": 64}),
            ("random_resized_crop", {"size": 64}),
            "horizontal_flip",
            "color_jitter",
            "gaussian_blur",
            "normalize",
        ),
    ),
    Recipe(
        name="image-flow-starter",
        modality="image",
        description=(
            "For making new pictures with image-flow. Every image is made 32 by 32 pixels and "
            "sometimes mirrored, then its pixels are turned into numbers from -1 to 1, the range the "
            "generator learns in. Nothing else changes the pictures: a generator learns to make what "
            "it sees, blur and colour shifts included."
        ),
        brushes=_steps(("resize", {"size": 32}), "horizontal_flip", ("normalize", {"preset": "half"})),
    ),
    Recipe(
        name="audio-starter",
        modality="audio",
        description=(
            "A starting point for sounds. While the model learns, each clip gets a slightly different "
            "volume, starts a moment earlier or later and picks up a little background hiss. Then the "
            "sound is turned into a picture of its pitches over time (a mel spectrogram) on a loudness "
            "scale like our ears use, and short stretches and bands are hidden at random, so the model "
            "does not lean on any one moment or pitch. Last, each picture is put on the same scale "
            "(mean 0, spread 1), so loud and quiet recordings look alike to the model."
        ),
        brushes=_steps(
            "gain",
            "time_shift",
            "add_noise",
            "mel_spectrogram",
            "log_scale",
            "time_mask",
            "freq_mask",
            "standardize",
        ),
    ),
    Recipe(
        name="table-starter",
        modality="table",
        description=(
            "A tidy-up for tables. Empty cells are filled in, text columns such as a colour name become "
            "yes/no columns the model can read, and number columns are put on the same scale, so a "
            "column measured in thousands does not drown out one measured in fractions."
        ),
        brushes=_steps("impute_missing", "one_hot_encode", "standard_scale"),
    ),
)
