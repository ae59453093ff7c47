"""The OpenCV kernels against the torchvision reference: same draws, pictures within the tolerances
written in ``canvascraft/brushes/functional/opencv.py``, on smooth colour fields with grain (the kind
a photo is), in colour and grey, over several seeds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from canvascraft.brushes import get_brush
from canvascraft.brushes.image import from_hwc, image_kernels, to_hwc, use_kernels
from canvascraft.config import get_settings
from canvascraft.recipe.compose import compose, item_seed
from canvascraft.recipe.preview import displayable, preview_images
from canvascraft.recipe.spec import validate_recipe
from canvascraft.testing.brushes import seeded

SEEDS = range(6)


def picture(channels: int = 3, height: int = 72, width: int = 80, seed: int = 0) -> torch.Tensor:
    """Smooth colour fields plus ±12 levels of grain, as uint8 ``(C, H, W)``."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.randint(0, 256, (1, channels, 6, 6), generator=generator).float()
    smooth = torch.nn.functional.interpolate(coarse, size=(height, width), mode="bilinear")[0]
    grain = torch.randint(-12, 13, (channels, height, width), generator=generator)
    return (smooth.round() + grain).clamp(0, 255).to(torch.uint8)


def both(name: str, settings: dict[str, Any], sample: torch.Tensor, seed: int) -> tuple[torch.Tensor, ...]:
    """The brush's output on the default (OpenCV) kernels and on the reference, and the reference's
    output on a white picture (255 where a warp sampled only inside the picture)."""
    brush = get_brush(name)(**settings)
    fast, drawn_fast = seeded(brush, sample, seed)
    with use_kernels("torchvision"):
        reference, drawn_reference = seeded(brush, sample, seed)
        white, _ = seeded(brush, torch.full_like(sample, 255), seed)
    assert repr(drawn_fast) == repr(drawn_reference), "the kernels changed what make_params draws"
    assert fast.shape == reference.shape and fast.dtype == reference.dtype == torch.uint8
    return fast, reference, white


def differences(name: str, settings: dict[str, Any], channels: int, inside: bool = False) -> np.ndarray:
    """Absolute differences in grey levels over several pictures and seeds (``inside``: only pixels
    a warp sampled wholly inside the picture)."""
    found = []
    for seed in SEEDS:
        fast, reference, white = both(name, settings, picture(channels, seed=seed), seed)
        diff = (fast.int() - reference.int()).abs()
        found.append(diff[white == 255] if inside else diff.flatten())
    return torch.cat(found).numpy()


CLOSE = [
    # (brush, settings, share within 1 level, largest difference)
    ("horizontal_flip", {"p": 1.0}, 1.0, 0),
    ("vertical_flip", {"p": 1.0}, 1.0, 0),
    ("gaussian_noise", {}, 1.0, 0),
    ("gaussian_blur", {}, 1.0, 1),
    ("gaussian_blur", {"kernel_size": 11, "sigma": [1.0, 6.0]}, 1.0, 1),
    ("sharpness", {"p": 1.0}, 1.0, 1),
    ("sharpness", {"p": 1.0, "factor": 0.3}, 1.0, 1),
    ("random_resized_crop", {"size": 72}, 1.0, 1),
    ("resize", {"size": 96}, 1.0, 0),  # stays torchvision's: the exported bundle resizes as it does
    ("color_jitter", {"brightness": 0.5, "contrast": 0.5, "saturation": 0.5, "hue": 0.0}, 0.99, 3),
]


@pytest.mark.parametrize("channels", [3, 1])
@pytest.mark.parametrize(("name", "settings", "within_one", "largest"), CLOSE, ids=lambda v: str(v))
def test_kernels_match_torchvision_within_a_grey_level(
    name: str, settings: dict[str, Any], within_one: float, largest: int, channels: int
) -> None:
    diff = differences(name, settings, channels)
    assert (diff <= 1).mean() >= within_one
    assert diff.max() <= largest


@pytest.mark.parametrize(
    ("name", "settings"),
    [
        ("rotation", {}),
        ("rotation", {"degrees": [-180.0, 180.0]}),
        ("affine", {}),
        ("perspective", {"p": 1.0, "distortion": 0.6}),
    ],
)
@pytest.mark.parametrize("channels", [3, 1])
def test_warps_match_inside_the_picture_and_differ_only_at_its_edge(
    name: str, settings: dict[str, Any], channels: int
) -> None:
    inside = differences(name, settings, channels, inside=True)
    assert (inside <= 1).mean() >= 0.99 and inside.max() <= 2
    everywhere = differences(name, settings, channels)
    assert (everywhere <= 2).mean() >= 0.95  # the rest is the 1-pixel edge where the fill blends in


def test_hue_stays_within_its_documented_tolerance() -> None:
    """uint8 HSV keeps 256 hue steps where torchvision keeps floats: a few levels on strong colours."""
    settings = {"brightness": 0.0, "contrast": 0.0, "saturation": 0.0, "hue": 0.3}
    diff = differences("color_jitter", settings, 3)
    assert (diff <= 3).mean() >= 0.97 and diff.max() <= 12
    grey = differences("color_jitter", settings, 1)
    assert grey.max() == 0  # grey pictures have no hue: both leave them as they are


def test_the_default_colour_jitter_is_close_on_most_pixels() -> None:
    diff = differences("color_jitter", {}, 3)
    assert (diff <= 2).mean() >= 0.95 and (diff <= 3).mean() >= 0.98


@pytest.mark.parametrize("angle", [0.0, 90.0, 180.0, -90.0])
def test_right_angles_are_exact_pixel_moves_as_in_torchvision(angle: float) -> None:
    sample = picture(height=64, width=64)
    fast, reference, _ = both("rotation", {"degrees": [angle, angle]}, sample, 0)
    assert torch.equal(fast, reference)


def test_shrinking_crops_and_float_pictures_stay_on_torchvision() -> None:
    """No OpenCV twin within two levels for antialiased shrinking; float pictures are v2's."""
    sample = picture(height=200, width=180)
    fast, reference, _ = both("random_resized_crop", {"size": 48}, sample, 1)
    assert torch.equal(fast, reference)
    floats = sample.float() / 255
    brush = get_brush("rotation")()
    out, _ = seeded(brush, floats, 2)
    with use_kernels("torchvision"):
        assert torch.equal(out, seeded(brush, floats, 2)[0])


def test_fast_brushes_pass_pictures_on_without_copying_them_back() -> None:
    """A fast brush's output is a (C, H, W) view of an HWC array: the next one takes it as it is."""
    out, _ = seeded(get_brush("gaussian_blur")(), picture(), 0)
    assert out.shape == (3, 72, 80)
    array = to_hwc(out)
    assert np.shares_memory(array, out.numpy()) and array.flags.c_contiguous
    assert torch.equal(from_hwc(array), out)


SIX = {
    "name": "six",
    "modality": "image",
    "seed": 11,
    "brushes": [
        {"brush": "random_resized_crop", "params": {"size": 64}},
        {"brush": "horizontal_flip"},
        {"brush": "rotation"},
        {"brush": "color_jitter"},
        {"brush": "gaussian_blur"},
        {"brush": "gaussian_noise"},
    ],
}


def test_training_draws_what_the_preview_shows_on_the_fast_kernels() -> None:
    recipe = validate_recipe(SIX)
    sample = picture(height=64, width=64, seed=9)
    shown = preview_images(recipe, [("x", sample, 1.0)], 4, seed=5)[0].variants
    pipeline = compose(recipe, "train")
    trained = [displayable(pipeline.apply(sample, item_seed(5, k))) for k in range(4)]
    assert all(np.array_equal(a, b) for a, b in zip(shown, trained, strict=True))
    with use_kernels("torchvision"):
        reference = [displayable(pipeline.apply(sample, item_seed(5, k))) for k in range(4)]
    diff = np.abs(np.stack(trained).astype(int) - np.stack(reference).astype(int))
    assert diff.mean() <= 1.5
    # Away from the rotated edge (which the blur spreads), the brushes' own differences add up.
    inner = diff[:, 8:-8, 8:-8]
    assert (inner <= 3).mean() >= 0.98 and inner.max() <= 8


def test_the_setting_picks_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    assert image_kernels() == "opencv"
    monkeypatch.setenv("CANVASCRAFT_IMAGE_KERNELS", "torchvision")
    get_settings.cache_clear()
    try:
        assert image_kernels() == "torchvision"
        brush = get_brush("color_jitter")()
        out, _ = seeded(brush, picture(), 3)
        with use_kernels("torchvision"):
            assert torch.equal(out, seeded(brush, picture(), 3)[0])
        with use_kernels("opencv"):
            assert image_kernels() == "opencv"
    finally:
        monkeypatch.delenv("CANVASCRAFT_IMAGE_KERNELS")
        get_settings.cache_clear()


def test_an_unknown_kernel_name_says_which_exist() -> None:
    refused = pytest.raises(ValueError, match="kernels must be one of opencv, torchvision, got 'cuda'")
    with refused, use_kernels("cuda"):
        pass


@pytest.mark.parametrize(
    ("settings", "shape"),
    [
        ({"size": 64}, (3, 48, 40)),
        ({"size": 32, "scale": [0.05, 1.0], "ratio": [0.25, 4.0]}, (3, 200, 30)),
        ({"size": 32, "scale": [0.9, 1.0], "ratio": [3.0, 4.0]}, (3, 100, 100)),  # v2's fallback
    ],
)
def test_the_crop_draws_what_v2_draws(settings: dict[str, Any], shape: tuple[int, ...]) -> None:
    """random_resized_crop draws without v2's per-call overhead, but the same numbers in the same order."""
    from torchvision.transforms import v2

    brush = get_brush("random_resized_crop")(**settings)
    s = brush.settings
    reference = v2.RandomResizedCrop(s["size"], scale=tuple(s["scale"]), ratio=tuple(s["ratio"]))
    sample = torch.zeros(shape, dtype=torch.uint8)
    for seed in range(300):
        torch.manual_seed(seed)
        ours, after_ours = brush.make_params(sample), torch.rand(1)
        torch.manual_seed(seed)
        theirs, after_theirs = reference.make_params([sample]), torch.rand(1)
        assert repr(ours) == repr(theirs) and torch.equal(after_ours, after_theirs)


def test_the_noise_field_is_torch_s_arithmetic_number_for_number() -> None:
    """The noise's scaling, rounding and clamping moved to numpy (no intra-op threads): same field."""
    from canvascraft.brushes.image import noise_field

    for seed in range(40):
        for sigma in (0.0, 0.5, 13.37, 60.0, 128.0):
            torch.manual_seed(seed)
            ours, after_ours = noise_field((3, 17, 23), sigma), torch.rand(1)
            torch.manual_seed(seed)
            torchs = torch.randn(3, 17, 23).mul_(sigma).round_().clamp_(-255, 255).to(torch.int16)
            assert torch.equal(ours, torchs) and torch.equal(after_ours, torch.rand(1))
