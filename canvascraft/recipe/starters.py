"""Starter recipes, one per modality and one for the image generator, saved into every new workspace
so nobody starts from a blank page. They use brushes with their default settings where the defaults
are good, so they stay valid as brush defaults are tuned; ``validate_recipe`` fills the settings in
when they are saved."""

from __future__ import annotations

from dataclasses import dataclass
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


# --- starters fitted to a dataset ----------------------------------------------------------------------

SIDE_LIMITS = (16, 128)
"""The fitted side stays within these pixels: below 16 a CNN's pooling leaves almost nothing, above 128
a small model on a CPU pays for detail it rarely needs."""
SIDE_STEP = 8
"""The fitted side is a multiple of 8, so every pooling halving of a small CNN divides evenly."""
STRONG_FROM = 300
"""Items in the smallest class from which the strong image mix is suggested: with fewer, heavy crops
and blur change a picture more than a model that has seen a few dozen of a kind can make up for."""


def median_side(smaller_sides: list[int]) -> float:
    """The median of the pictures' smaller sides (the typical item size)."""
    if not smaller_sides:
        raise ValueError("no picture sizes to fit a side to")
    ordered = sorted(smaller_sides)
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def fitted_side(smaller_sides: list[int]) -> int:
    """The side length to resize a dataset's pictures to: the median of each picture's smaller side,
    clamped to ``SIDE_LIMITS`` and rounded to a multiple of ``SIDE_STEP``, so 8 px digits become 16 px
    rather than 64 and photos are not shrunk below what a small model can read."""
    low, high = SIDE_LIMITS
    nearest = int(median_side(smaller_sides) / SIDE_STEP + 0.5) * SIDE_STEP  # halves round up
    return min(max(nearest, low), high)


@dataclass(frozen=True)
class FittedStarter:
    """A starter recipe fitted to one dataset version, and why, in words a person reads before using it."""

    #: The starter it was made from (``image-starter``).
    based_on: str
    #: The fitted copy, named for the dataset.
    recipe: Recipe
    #: What was fitted (``at 16 px``).
    fitted: str
    #: What it was fitted to (``items are 8×8; 40 per class``).
    because: str
    #: A caution about the suggestion, or "".
    caution: str = ""

    @property
    def same_as_base(self) -> bool:
        """Fitting changed no setting: the starter it is based on already suits the dataset."""
        return self.recipe.brushes == starter_named(self.based_on).brushes


def starter_named(name: str) -> Recipe:
    return next(starter for starter in STARTER_RECIPES if starter.name == name)


def fitted_name(dataset: str) -> str:
    """``<dataset>-starter``, the dataset name shortened so the recipe name stays within its limit."""
    return f"{dataset[:112].rstrip(' ._-')}-starter"


def fit_image_starter(dataset: str, sizes: list[tuple[int, int]], counts: dict[str, int]) -> FittedStarter:
    """The image starter for a dataset whose pictures are ``sizes`` (width, height) with ``counts``
    items per class: gentle while the smallest class has fewer than ``STRONG_FROM``, strong from
    there, every size setting (the resize and the crop) set to ``fitted_side``."""
    smallest_class = min(counts.values(), default=0)
    smaller = [min(width, height) for width, height in sizes]
    side = fitted_side(smaller)
    based_on = "image-strong" if smallest_class >= STRONG_FROM else "image-starter"
    base = starter_named(based_on)
    steps = [
        step.model_copy(update={"params": {**step.params, "size": side}}) if "size" in step.params else step
        for step in base.brushes
    ]
    shapes = {(width, height) for width, height in sizes}
    if len(shapes) == 1:
        width, height = shapes.pop()
        seen = f"items are {width}×{height}"
    else:
        seen = f"items' smaller side is {median_side(smaller):g} px (median)"
    description = (
        f"{base.description.replace('64 by 64', f'{side} by {side}')} Fitted to {dataset}: {seen}, "
        f"{per_class(counts)}."
    )
    caution = (
        "It mirrors pictures: if yours have a left and a right (letters, digits), pick image-starter instead."
        if based_on == "image-strong"
        else ""
    )
    recipe = base.model_copy(
        update={"name": fitted_name(dataset), "description": description, "brushes": steps}
    )
    return FittedStarter(based_on, recipe, f"at {side} px", f"{seen}; {per_class(counts)}", caution)


def per_class(counts: dict[str, int]) -> str:
    """``40 per class``, or ``12–40 per class`` when the classes differ."""
    low, high = min(counts.values(), default=0), max(counts.values(), default=0)
    return f"{low} per class" if low == high else f"{low}–{high} per class"
