"""Image brushes. They work on uint8 tensors shaped ``(C, H, W)`` or batches ``(N, C, H, W)`` and wrap
``torchvision.transforms.v2``: the v2 transform draws the randomness (``make_params``) and does the
work (``transform``); a brush only maps its declared settings onto the transform's arguments."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torchvision.transforms import v2

from canvascraft.brushes.base import Brush, Modality, Param
from canvascraft.brushes.registry import register

PROBABILITY = Param("p", "float", 0.5, "Chance that the brush is applied to an item.", 0.0, 1.0)


class TorchvisionBrush(Brush):
    """Base of the image brushes that wrap one v2 transform.

    If the brush declares a ``p`` parameter, ``make_params`` first draws whether to apply it at all
    (v2 does that inside ``forward``, which brushes do not call).
    """

    modality: ClassVar[Modality] = "image"

    def build(self) -> v2.Transform:
        raise NotImplementedError

    def setup(self) -> None:
        self._transform = self.build()

    def make_params(self, sample: torch.Tensor) -> dict[str, Any]:
        if "p" in self.settings and torch.rand(1).item() >= self.settings["p"]:
            return {"applied": False}
        return {"applied": True, **self._transform.make_params([sample])}

    def transform(self, sample: torch.Tensor, drawn: dict[str, Any]) -> torch.Tensor:
        if not drawn.get("applied", True):
            return sample
        params = {k: v for k, v in drawn.items() if k != "applied"}
        return self._transform.transform(sample, params)


@register
class RandomResizedCrop(TorchvisionBrush):
    name = "random_resized_crop"
    summary = "Crop a random part of the image and resize it back: the model learns from details."
    params = (
        Param("size", "int", 64, "Output side length in pixels.", 8, 1024),
        Param("scale", "float_range", [0.6, 1.0], "Share of the image area the crop keeps.", 0.05, 1.0),
        Param("ratio", "float_range", [0.75, 1.333], "Aspect-ratio range of the crop.", 0.25, 4.0),
    )

    def build(self) -> v2.Transform:
        s = self.settings
        return v2.RandomResizedCrop(
            s["size"], scale=tuple(s["scale"]), ratio=tuple(s["ratio"]), antialias=True
        )


@register
class HorizontalFlip(TorchvisionBrush):
    name = "horizontal_flip"
    summary = "Mirror the image left to right."
    params = (PROBABILITY,)

    def build(self) -> v2.Transform:
        return v2.RandomHorizontalFlip(p=1.0)
