"""The one brush shape: the probability gate and the input check live in ``Brush`` once, so every
modality skips an item the same way, and ``BrushContract`` refuses a brush that breaks the shape."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from canvascraft.brushes import Brush, Param, get_brush
from canvascraft.brushes.audio import Clip, Gain
from canvascraft.brushes.base import probability
from canvascraft.recipe.compose import compose
from canvascraft.testing.brushes import BrushContract

RATE = 8000


def clip() -> Clip:
    return Clip(np.sin(np.linspace(0, 200, RATE)).astype(np.float32) * 0.5, RATE)


def picture() -> torch.Tensor:
    return torch.arange(3 * 6 * 5, dtype=torch.uint8).reshape(3, 6, 5)


class Darken(Brush):
    """A gated brush written straight on ``Brush``: it only says what it does when it runs."""

    name = "test_shape_darken"
    modality = "image"
    summary = "Halve the tones (test brush)."
    params = (probability(0.5),)

    def transform(self, sample: torch.Tensor, drawn: dict[str, Any]) -> torch.Tensor:
        return sample // 2


def applied(brush: Brush, sample: Any, seed: int) -> bool:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return bool(brush.make_params(sample)["applied"])


def test_the_same_seed_skips_the_same_items_in_every_modality() -> None:
    """One gate, drawn first and the same way for images and audio: p is read the same everywhere."""
    flip, gain, darken = get_brush("horizontal_flip")(p=0.3), get_brush("gain")(p=0.3), Darken(p=0.3)
    pattern = [applied(flip, picture(), seed) for seed in range(40)]
    assert pattern == [applied(gain, clip(), seed) for seed in range(40)]
    assert pattern == [applied(darken, picture(), seed) for seed in range(40)]
    assert 0 < sum(pattern) < 40


def test_a_skipped_item_is_logged_and_passes_unchanged_through_a_recipe() -> None:
    recipe = {
        "name": "flip-never",
        "modality": "image",
        "brushes": [
            {"brush": "horizontal_flip", "params": {"p": 0.0}},
            {"brush": "vertical_flip", "params": {"p": 1.0}},
        ],
    }
    sample = picture()
    out, log = compose(recipe, "train").apply_logged(sample, seed=4)
    assert log[0]["drawn"] == {"applied": False}
    assert log[1]["drawn"] == {"applied": True}
    assert torch.equal(out, sample.flip(-2))


def test_a_brush_written_on_brush_gets_the_gate_for_free() -> None:
    sample = picture()
    assert Darken(p=0.0)(sample) is sample
    assert torch.equal(Darken(p=1.0)(sample), sample // 2)
    assert Darken.gate_param == "p"


def test_a_brush_extending_another_draws_the_gate_once() -> None:
    """A subclass calling ``super().make_params`` must not draw a second gate."""

    class LouderGain(Gain):
        name = "test_shape_louder_gain"

        def make_params(self, sample: Clip) -> dict[str, Any]:
            drawn = super().make_params(sample)
            return {**drawn, "gain_db": drawn["gain_db"] + 1.0}

    gain, louder = Gain(p=0.5), LouderGain(p=0.5)
    for seed in range(20):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            plain = gain.make_params(clip())
            torch.manual_seed(seed)
            more = louder.make_params(clip())
        assert more["applied"] == plain["applied"]
        if plain["applied"]:
            assert more["gain_db"] == pytest.approx(plain["gain_db"] + 1.0)


def test_a_brush_with_two_gates_or_a_gate_outside_zero_to_one_is_refused_when_defined() -> None:
    with pytest.raises(TypeError, match="2 probability gates"):

        class Twice(Darken):
            params = (probability(), Param("q", "float", 0.5, "Another chance.", 0.0, 1.0, gate=True))

    with pytest.raises(TypeError, match=r"a probability gate is a float in \[0, 1\]"):

        class Percent(Darken):
            params = (Param("p", "float", 50.0, "Chance in percent.", 0.0, 100.0, gate=True),)


# --- the contract bites -------------------------------------------------------------------------------


class ImageContract(BrushContract):
    """The contract on small images (not collected: it only runs the broken brushes below)."""

    modality: ClassVar[str] = "image"

    def make_sample(self) -> torch.Tensor:
        return picture()

    def assert_same_kind(self, brush: Brush, before: Any, after: Any) -> None:
        assert after.dtype == before.dtype and after.shape == before.shape

    def assert_equal(self, first: Any, second: Any) -> None:
        assert torch.equal(first, second)


class DrawsInTransform(Darken):
    """Breaks the shape: its randomness comes from ``transform``, so a logged draw cannot replay it."""

    name = "test_shape_draws_in_transform"

    def transform(self, sample: torch.Tensor, drawn: dict[str, Any]) -> torch.Tensor:
        return sample // int(torch.randint(1, 4, ()).item())


class OwnCall(Darken):
    """Breaks the shape: calling it skips the gate and the checks."""

    name = "test_shape_own_call"

    def __call__(self, sample: torch.Tensor) -> torch.Tensor:
        return sample // 2


class UngatedP(Brush):
    """Breaks the shape: a ``p`` that is not declared as the gate, so it would need its own gate code."""

    name = "test_shape_ungated_p"
    modality = "image"
    summary = "Halve the tones sometimes (test brush)."
    params = (Param("p", "float", 0.5, "Chance that the brush is applied to an item.", 0.0, 1.0),)

    def transform(self, sample: torch.Tensor, drawn: dict[str, Any]) -> torch.Tensor:
        return sample // 2


def test_the_contract_passes_a_well_shaped_brush() -> None:
    contract = ImageContract()
    for name in dir(BrushContract):
        if name.startswith("test_"):
            getattr(contract, name)(Darken)


@pytest.mark.parametrize(
    ("brush_class", "check"),
    [
        (DrawsInTransform, "test_transform_draws_nothing"),
        (OwnCall, "test_has_the_one_brush_shape"),
        (UngatedP, "test_has_the_one_brush_shape"),
    ],
    ids=["draws-in-transform", "own-call", "ungated-p"],
)
def test_the_contract_refuses_a_brush_that_breaks_the_shape(brush_class: type[Brush], check: str) -> None:
    with pytest.raises(AssertionError):
        getattr(ImageContract(), check)(brush_class)
