"""Image brushes: the shared contract over every registered image brush, plus image-only checks
(batches, probabilities, noise range, normalization, parity with a seeded ``v2.Compose``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import torch
from torchvision.transforms import v2

from canvascraft.brushes import Brush, all_brushes, get_brush, register, registry
from canvascraft.brushes.functional import add_noise_uint8
from canvascraft.brushes.image import NORMALIZE_PRESETS, PROBABILITY, TorchvisionBrush, use_kernels
from canvascraft.testing.brushes import BrushContract, seeded

IMAGE_BRUSHES = all_brushes("image")
RANDOM_BRUSHES = [b for b in IMAGE_BRUSHES if b.augments]
P_BRUSHES = [b for b in IMAGE_BRUSHES if any(p.name == "p" for p in b.params)]
RESIZING = {"random_resized_crop", "resize"}  # brushes whose output is size x size by design


def image(shape: tuple[int, ...] = (3, 48, 40), seed: int = 0) -> torch.Tensor:
    """A seeded random uint8 image (non-square, so height and width mix-ups show)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator)


def low_contrast(shape: tuple[int, ...] = (3, 48, 40)) -> torch.Tensor:
    """Tones 40..167 only, so autocontrast and equalize have something to change."""
    return image(shape) // 2 + 40


def output_shape(brush: Brush, before: torch.Tensor) -> tuple[int, ...]:
    if brush.name in RESIZING:
        return (*before.shape[:-2], brush.settings["size"], brush.settings["size"])
    return tuple(before.shape)


def output_dtype(brush: Brush) -> torch.dtype | None:
    return getattr(brush, "output_dtype", None)


class TestImageBrushContract(BrushContract):
    modality: ClassVar[str] = "image"

    @pytest.fixture(params=IMAGE_BRUSHES, ids=[b.name for b in IMAGE_BRUSHES])
    def brush_class(self, request: pytest.FixtureRequest) -> type[Brush]:
        return request.param

    def make_sample(self) -> torch.Tensor:
        return image()

    def assert_same_kind(self, brush: Brush, before: Any, after: Any) -> None:
        assert isinstance(after, torch.Tensor)
        assert after.dtype == (output_dtype(brush) or before.dtype)
        assert tuple(after.shape) == output_shape(brush, before)

    def assert_equal(self, first: Any, second: Any) -> None:
        assert torch.equal(first, second)


@pytest.mark.parametrize("brush_class", IMAGE_BRUSHES, ids=lambda b: b.name)
def test_a_batch_gets_one_draw_applied_to_every_image(brush_class: type[Brush]) -> None:
    kwargs = {"p": 1.0} if brush_class in P_BRUSHES else {}
    brush = brush_class(**kwargs)
    batch = image((4, 3, 48, 40))
    out, drawn = seeded(brush, batch, 3)
    assert tuple(out.shape) == output_shape(brush, batch)
    assert out.dtype == (output_dtype(brush) or torch.uint8)
    for i in range(len(batch)):
        assert torch.equal(out[i], brush.transform(batch[i], drawn)), f"image {i} got other values"
    # The draw depends on the image size only, so one image and its batch draw alike.
    _, drawn_single = seeded(brush, batch[0], 3)
    assert repr(drawn_single) == repr(drawn)


def test_flip_on_a_batch_flips_every_image_or_none() -> None:
    brush = get_brush("horizontal_flip")()
    batch = image((5, 3, 48, 40))
    outcomes = set()
    for seed in range(12):
        out, _ = seeded(brush, batch, seed)
        flipped = [torch.equal(out[i], batch[i].flip(-1)) for i in range(len(batch))]
        kept = [torch.equal(out[i], batch[i]) for i in range(len(batch))]
        assert all(flipped) or all(kept)
        outcomes.add(all(flipped))
    assert outcomes == {True, False}


@pytest.mark.parametrize("brush_class", RANDOM_BRUSHES, ids=lambda b: b.name)
def test_different_seeds_eventually_differ(brush_class: type[Brush]) -> None:
    brush = brush_class()
    sample = low_contrast()
    first, _ = seeded(brush, sample, 0)
    assert any(not torch.equal(first, seeded(brush, sample, seed)[0]) for seed in range(1, 60))


@pytest.mark.parametrize("brush_class", P_BRUSHES, ids=lambda b: b.name)
def test_p_zero_keeps_the_image_and_p_one_changes_it(brush_class: type[Brush]) -> None:
    sample = low_contrast()
    for seed in range(5):
        never, drawn = seeded(brush_class(p=0.0), sample, seed)
        assert never is sample and drawn == {"applied": False}
        always, drawn = seeded(brush_class(p=1.0), sample, seed)
        assert drawn["applied"] is True
        assert not torch.equal(always, sample)


def test_deterministic_brushes_do_not_augment() -> None:
    deterministic = {b.name for b in IMAGE_BRUSHES if not b.augments}
    assert deterministic == {"resize", "normalize"}


def test_gaussian_noise_stays_in_uint8_range() -> None:
    brush = get_brush("gaussian_noise")(sigma=[60.0, 60.0])
    sample = torch.tensor([0, 1, 128, 254, 255], dtype=torch.uint8).repeat(3, 8, 1)
    out, drawn = seeded(brush, sample, 1)
    assert out.dtype == torch.uint8 and drawn["sigma"] == 60.0
    expected = (sample.to(torch.int32) + drawn["noise"].to(torch.int32)).clamp(0, 255)
    assert torch.equal(out.to(torch.int32), expected)
    assert out.min() == 0 and out.max() == 255  # strong noise saturates instead of wrapping around
    assert 40 < drawn["noise"].float().std() < 80


def test_add_noise_uint8_saturates_and_leaves_the_input_alone() -> None:
    sample = torch.tensor([[[0, 10, 250, 255]]], dtype=torch.uint8)
    before = sample.clone()
    noise = torch.tensor([[[-5, -20, 20, 1]]], dtype=torch.int16)
    assert add_noise_uint8(sample, noise).tolist() == [[[0, 0, 255, 255]]]
    assert torch.equal(sample, before)
    with pytest.raises(TypeError, match="uint8"):
        add_noise_uint8(sample.float(), noise)


@pytest.mark.parametrize("preset", list(NORMALIZE_PRESETS))
def test_normalize_gives_float32_with_the_preset_mean_and_std(preset: str) -> None:
    sample = image()
    before = sample.clone()
    out = get_brush("normalize")(preset=preset)(sample)
    assert out.dtype == torch.float32 and out.shape == sample.shape
    mean, std = (torch.tensor(v).view(3, 1, 1) for v in NORMALIZE_PRESETS[preset])
    assert torch.allclose(out, (sample.float() / 255 - mean) / std, atol=1e-5)
    assert torch.equal(sample, before)


def test_normalize_half_maps_black_and_white_to_minus_one_and_one() -> None:
    sample = torch.tensor([0, 255], dtype=torch.uint8).repeat(3, 2, 1)
    out = get_brush("normalize")(preset="half")(sample)
    assert out[..., 0].eq(-1).all() and out[..., 1].eq(1).all()


def test_a_seeded_recipe_matches_a_seeded_v2_compose() -> None:
    """Same seed, same draws in the same order: the brushes add no randomness of their own. On the
    torchvision reference kernels the pictures are the same too (the OpenCV ones are held to it in
    ``test_opencv_kernels.py``)."""
    names = ["random_resized_crop", "horizontal_flip", "color_jitter", "grayscale", "sharpness", "normalize"]
    brushes = [get_brush(name)() for name in names]
    compose = v2.Compose(
        [
            v2.RandomResizedCrop(64, scale=(0.6, 1.0), ratio=(0.75, 1.333), antialias=True),
            v2.RandomHorizontalFlip(0.5),
            v2.ColorJitter(0.2, 0.2, 0.2, 0.02),
            v2.RandomGrayscale(0.1),
            v2.RandomAdjustSharpness(2.0, p=0.5),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(*NORMALIZE_PRESETS["imagenet"]),
        ]
    )
    sample = image()
    for seed in range(8):
        with torch.random.fork_rng(devices=[]), use_kernels("torchvision"):
            torch.manual_seed(seed)
            ours = sample
            for brush in brushes:
                ours = brush(ours)
            torch.manual_seed(seed)
            theirs = compose(sample)
        assert torch.equal(ours, theirs)


@pytest.fixture
def invert_brush() -> Iterator[type[Brush]]:
    @register
    class Invert(TorchvisionBrush):
        name = "test_invert"
        summary = "Swap light and dark."
        params = (PROBABILITY,)

        def build(self) -> v2.Transform:
            return v2.RandomInvert(p=1.0)

    yield Invert
    registry.unregister("test_invert")


def test_a_new_brush_is_a_few_lines_and_passes_the_contract(invert_brush: type[Brush]) -> None:
    assert invert_brush in all_brushes("image")
    contract = TestImageBrushContract()
    checks = [getattr(contract, name) for name in dir(BrushContract) if name.startswith("test_")]
    assert len(checks) >= 6
    for check in checks:
        check(invert_brush)
    assert torch.equal(invert_brush(p=1.0)(image()), 255 - image())


def test_the_throwaway_brush_is_gone_after_its_test() -> None:
    assert "test_invert" not in {b.name for b in all_brushes("image")}
