"""Image brushes. They work on uint8 tensors shaped ``(C, H, W)`` or batches ``(N, C, H, W)`` and wrap
``torchvision.transforms.v2``: the v2 transform draws the randomness (``make_params``) and does the
work (``transform``); a brush only maps its declared settings onto the transform's arguments. The
probability gate (``p``) is the base class's, drawn with the same ``torch.rand(1)`` v2 draws.

On a batch, one set of values is drawn and applied to every image (the same crop, the same flip), so
``transform(batch, drawn)[i]`` is ``transform(batch[i], drawn)``. Brushes keep the dtype, except
``normalize``, which declares ``output_dtype`` because it is the step that hands float32 to the model.

Resampling brushes (rotation, affine, perspective, elastic, resize) default to bilinear interpolation,
which looks smoother on artwork than v2's ``nearest`` default for rotation and affine.

Kernels: where torchvision's uint8 kernels are slow (colour jitter, blur, sharpness, the warps, crops,
flips), a brush also writes ``fast``, the same effect with OpenCV on a ``(H, W, C)`` uint8 array
(``functional/opencv.py``), from the same drawn values. ``TorchvisionBrush.transform`` runs it for
uint8 CPU pictures of 1 or 3 channels unless ``CANVASCRAFT_IMAGE_KERNELS=torchvision`` or
``use_kernels("torchvision")`` asks for the reference. Its output is a ``(C, H, W)`` tensor that is a
view of the HWC array, so the next fast brush takes the array back without a copy: a recipe of fast
brushes converts once, at its first brush, and decoded pictures (``decode_image``) are already HWC.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ClassVar, Literal, get_args

import cv2
import numpy as np
import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F
from torchvision.transforms.v2.functional._geometry import _get_inverse_affine_matrix

from canvascraft.brushes.base import PROBABILITY, Brush, Modality, Param, probability
from canvascraft.brushes.functional import opencv as cv
from canvascraft.brushes.functional.image import add_noise_uint8
from canvascraft.brushes.registry import register
from canvascraft.config import get_settings

Kernels = Literal["opencv", "torchvision"]
KERNELS: tuple[str, ...] = get_args(Kernels)
_CHOSEN: ContextVar[str | None] = ContextVar("canvascraft_image_kernels", default=None)

# The warps fill the corners they uncover with black, as the v2 transforms are built (fill=0).
FILL = 0.0

# v2 takes these names as strings; nearest keeps the hard edges of pixel art.
INTERPOLATIONS = ("bilinear", "nearest", "bicubic")

# Per-channel (mean, std) in the 0–1 scale; "imagenet" matches most pretrained torchvision models.
NORMALIZE_PRESETS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "half": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "unit": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
}


def image_kernels() -> str:
    """The kernels image brushes run now: ``use_kernels``'s choice, else the setting."""
    chosen = _CHOSEN.get()
    return chosen if chosen is not None else get_settings().image_kernels


@contextmanager
def use_kernels(kernels: str) -> Iterator[None]:
    """Run a block with the given kernels (this thread only): the tests and the bench compare the two."""
    if kernels not in KERNELS:
        raise ValueError(f"kernels must be one of {', '.join(KERNELS)}, got {kernels!r}")
    token = _CHOSEN.set(kernels)
    try:
        yield
    finally:
        _CHOSEN.reset(token)


def _fast_ready(sample: Any) -> bool:
    """A picture the OpenCV kernels take: a plain uint8 CPU tensor, one picture or a batch, 1 or 3
    channels (what v2's colour kernels accept)."""
    return (
        type(sample) is torch.Tensor
        and sample.dtype == torch.uint8
        and sample.is_cpu
        and sample.ndim in (3, 4)
        and sample.shape[-3] in (1, 3)
        and sample.numel() > 0
    )


def to_hwc(image: torch.Tensor) -> np.ndarray:
    """One ``(C, H, W)`` uint8 picture as an ``(H, W, C)`` array: free when its memory is HWC already
    (a fast brush's output, a decoded file); otherwise one interleaving copy (``cv2.merge``)."""
    view = image.permute(1, 2, 0)
    if view.is_contiguous():
        return view.numpy()
    if image.is_contiguous():
        return cv2.merge([plane.numpy() for plane in image])
    return np.ascontiguousarray(view.numpy())


def from_hwc(array: np.ndarray) -> torch.Tensor:
    """An ``(H, W, C)`` array as the ``(C, H, W)`` tensor brushes pass on, sharing its memory."""
    return torch.from_numpy(array).permute(2, 0, 1)


class ImageBrush(Brush):
    """Base of every image brush.

    ``output_dtype`` is the dtype the brush returns, or None when it keeps the input's (all but
    ``normalize``); the recipe and the contract tests read it instead of knowing brush names.
    """

    modality: ClassVar[Modality] = "image"
    output_dtype: ClassVar[torch.dtype | None] = None


class TorchvisionBrush(ImageBrush):
    """Base of the image brushes that wrap one v2 transform, built once by ``build`` in ``setup``.

    ``make_params`` and ``transform`` hand over to the v2 transform's own. v2 draws its probability
    inside ``forward``, which brushes do not call, so a gated brush builds its v2 transform with
    ``p=1.0`` and leaves the gate to ``Brush``; since the gate is the same ``torch.rand(1)`` v2 draws,
    a seeded recipe reproduces a seeded ``v2.Compose`` of the same transforms.
    """

    def build(self) -> v2.Transform:
        """The v2 transform the settings describe (``p=1.0`` where it has a probability)."""
        raise NotImplementedError

    def setup(self) -> None:
        self._transform = self.build()

    def make_params(self, sample: torch.Tensor) -> dict[str, Any]:
        return self._transform.make_params([sample])

    def fast(self, image: np.ndarray, drawn: dict[str, Any]) -> np.ndarray | None:
        """The effect with OpenCV on one ``(H, W, C)`` uint8 picture, from the same ``drawn``; None
        leaves this call to torchvision (the default: a brush without a fast kernel)."""
        return None

    def transform(self, sample: torch.Tensor, drawn: dict[str, Any]) -> torch.Tensor:
        if (
            type(self).fast is not TorchvisionBrush.fast
            and _fast_ready(sample)
            and image_kernels() == "opencv"
        ):
            out = self._fast_pictures(sample, drawn)
            if out is not None:
                return out
        return self._transform.transform(sample, drawn)

    def _fast_pictures(self, sample: torch.Tensor, drawn: dict[str, Any]) -> torch.Tensor | None:
        """``fast`` on a picture, or on each picture of a batch with the one draw."""
        if sample.ndim == 3:
            out = self.fast(to_hwc(sample), drawn)
            return None if out is None else from_hwc(out)
        outs = []
        for picture in sample:
            out = self.fast(to_hwc(picture), drawn)
            if out is None:
                return None
            outs.append(out)
        return torch.from_numpy(np.stack(outs)).permute(0, 3, 1, 2)


@register
class RandomResizedCrop(TorchvisionBrush):
    name = "random_resized_crop"
    summary = "Crop a random part of the image and resize it back: the model learns from details."
    params = (
        Param("size", "int", 64, "Output side length in pixels.", 8, 1024, unit="px"),
        Param("scale", "float_range", [0.6, 1.0], "Share of the image area the crop keeps.", 0.05, 1.0),
        Param("ratio", "float_range", [0.75, 1.333], "Aspect-ratio range of the crop.", 0.25, 4.0),
    )

    def build(self) -> v2.Transform:
        s = self.settings
        return v2.RandomResizedCrop(
            s["size"], scale=tuple(s["scale"]), ratio=tuple(s["ratio"]), antialias=True
        )

    def setup(self) -> None:
        super().setup()
        low, high = self._transform._log_ratio.tolist()  # float32 values, as v2 passes them
        self._log_ratio = (low, high)

    def make_params(self, sample: torch.Tensor) -> dict[str, Any]:
        """v2.RandomResizedCrop's draws, call for call (the same numbers from the same seed), without
        its per-call input inspection and tensor-valued bounds: this runs once per item."""
        height, width = sample.shape[-2:]
        area = height * width
        low, high = self.settings["scale"]
        log_low, log_high = self._log_ratio
        for _ in range(10):
            target_area = area * torch.empty(1).uniform_(low, high).item()
            aspect_ratio = torch.exp(torch.empty(1).uniform_(log_low, log_high)).item()
            w = round(math.sqrt(target_area * aspect_ratio))
            h = round(math.sqrt(target_area / aspect_ratio))
            if 0 < w <= width and 0 < h <= height:
                i = int(torch.randint(0, height - h + 1, size=(1,)).item())
                j = int(torch.randint(0, width - w + 1, size=(1,)).item())
                return {"top": i, "left": j, "height": h, "width": w}
        # v2's fallback, which draws nothing: the central crop nearest the allowed aspect ratios.
        narrowest, widest = min(self.settings["ratio"]), max(self.settings["ratio"])
        if width / height < narrowest:
            w, h = width, round(width / narrowest)
        elif width / height > widest:
            w, h = round(height * widest), height
        else:
            w, h = width, height
        return {"top": (height - h) // 2, "left": (width - w) // 2, "height": h, "width": w}

    def fast(self, image: np.ndarray, drawn: dict[str, Any]) -> np.ndarray | None:
        top, left = drawn["top"], drawn["left"]
        crop = image[top : top + drawn["height"], left : left + drawn["width"]]
        return cv.resize_up(crop, self.settings["size"], self.settings["size"])


@register
class HorizontalFlip(TorchvisionBrush):
    name = "horizontal_flip"
    summary = "Mirror the image left to right."
    params = (PROBABILITY,)

    def build(self) -> v2.Transform:
        return v2.RandomHorizontalFlip(p=1.0)

    def fast(self, image: np.ndarray, drawn: dict[str, Any]) -> np.ndarray | None:
        return cv.flip(image, horizontal=True)


@register
class VerticalFlip(TorchvisionBrush):
    name = "vertical_flip"
    summary = "Turn the image upside down, for subjects with no natural up (textures, patterns)."
    params = (PROBABILITY,)

    def build(self) -> v2.Transform:
        return v2.RandomVerticalFlip(p=1.0)

    def fast(self, image: np.ndarray, drawn: dict[str, Any]) -> np.ndarray | None:
        return cv.flip(image, horizontal=False)


@register
class Rotation(TorchvisionBrush):
    name = "rotation"
    summary = "Tilt the image by a random angle; corners left empty are filled with black."
    params = (
        Param(
            "degrees",
            "float_range",
            [-15.0, 15.0],
            "Range of the angle in degrees (counter-clockwise).",
            -180.0,
            180.0,
        ),
    )

    def build(self) -> v2.Transform:
        return v2.RandomRotation(tuple(self.settings["degrees"]), interpolation="bilinear")

    def fast(self, image: np.ndarray, drawn: dict[str, Any]) -> np.ndarray | None:
        angle = drawn["angle"]
        if cv.is_right_angle(angle):
            return None  # torchvision moves pixels exactly for these
        # v2's rotate passes the angle negated to the affine matrix (its rotate and affine disagree).
        inverse = _get_inverse_affine_matrix([0.0, 0.0], -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
        return cv.warp_affine(image, inverse, FILL)


@register
class Affine(TorchvisionBrush):
    name = "affine"
    summary = "Rotate, shift, zoom and slant the image a little, all at once."
    params = (
        Param(
            "degrees", "float_range", [-10.0, 10.0], "Range of the rotation angle in degrees.", -180.0, 180.0
        ),
        Param("translate", "float", 0.1, "Largest shift, as a share of the width and height.", 0.0, 0.5),
        Param("scale", "float_range", [0.9, 1.1], "Range of the zoom factor (1 keeps the size).", 0.1, 4.0),
        Param("shear", "float_range", [-5.0, 5.0], "Range of the slant angle in degrees.", -45.0, 45.0),
    )

    def build(self) -> v2.Transform:
        s = self.settings
        return v2.RandomAffine(
            tuple(s["degrees"]),
            translate=(s["translate"], s["translate"]) if s["translate"] > 0 else None,
            scale=tuple(s["scale"]),
            shear=tuple(s["shear"]),
            interpolation="bilinear",
        )

    def fast(self, image: np.ndarray, drawn: dict[str, Any]) -> np.ndarray | None:
        translate = [float(t) for t in drawn["translate"]]
        shear = [float(v) for v in drawn["shear"]]
        inverse = _get_inverse_affine_matrix([0.0, 0.0], drawn["angle"], translate, drawn["scale"], shear)
        return cv.warp_affine(image, inverse, FILL)


@register
class Perspective(TorchvisionBrush):
    name = "perspective"
    summary = "View the image from a slight random angle, as if the canvas were tilted."
    params = (
        Param("distortion", "float", 0.3, "How far the corners may move: 0 none, 1 a lot.", 0.0, 1.0),
        PROBABILITY,
    )

    def build(self) -> v2.Transform:
        return v2.RandomPerspective(distortion_scale=self.settings["distortion"], p=1.0)

    def fast(self, image: np.ndarray, drawn: dict[str, Any]) -> np.ndarray | None:
        return cv.warp_perspective(image, drawn["coefficients"], FILL)


@register
class ColorJitter(TorchvisionBrush):
    name = "color_jitter"
    summary = "Nudge brightness, contrast, saturation and hue, so colour shifts do not fool the model."
    params = (
        Param(
            "brightness",
            "float",
            0.2,
            "Largest brightness change: 0.2 means up to 20% darker or lighter.",
            0.0,
            1.0,
        ),
        Param(
            "contrast",
            "float",
            0.2,
            "Largest contrast change: 0.2 means up to 20% flatter or punchier.",
            0.0,
            1.0,
        ),
        Param(
            "saturation",
            "float",
            0.2,
            "Largest saturation change: 0 keeps colours, 1 may remove them.",
            0.0,
            1.0,
        ),
        Param(
            "hue", "float", 0.02, "Largest hue shift, as a share of the colour wheel (0.5 is half).", 0.0, 0.5
        ),
    )

    def build(self) -> v2.Transform:
        s = self.settings
        return v2.ColorJitter(s["brightness"], s["contrast"], s["saturation"], s["hue"])

    def fast(self, image: np.ndarray, drawn: dict[str, Any]) -> np.ndarray | None:
        return cv.color_jitter(
            image,
            drawn["fn_idx"].tolist(),
            drawn["brightness_factor"],
            drawn["contrast_factor"],
            drawn["saturation_factor"],
            drawn["hue_factor"],
        )


@register
class Grayscale(TorchvisionBrush):
    name = "grayscale"
    summary = "Drain the colour; the image keeps its channels, so the shape does not change."
    params = (probability(0.1),)

    def build(self) -> v2.Transform:
        return v2.RandomGrayscale(p=1.0)


@register
class GaussianBlur(TorchvisionBrush):
    name = "gaussian_blur"
    summary = "Watercolor: soften the image with a gaussian blur of random strength."
    params = (
        Param(
            "kernel_size",
            "choice",
            5,
            "Width of the blur window in pixels (odd).",
            choices=tuple(range(3, 33, 2)),
            unit="px",
        ),
        Param(
            "sigma", "float_range", [0.1, 2.0], "Range of the blur strength in pixels.", 0.01, 20.0, unit="px"
        ),
    )

    def build(self) -> v2.Transform:
        s = self.settings
        return v2.GaussianBlur(int(s["kernel_size"]), sigma=tuple(s["sigma"]))

    def fast(self, image: np.ndarray, drawn: dict[str, Any]) -> np.ndarray | None:
        return cv.gaussian_blur(image, int(self.settings["kernel_size"]), drawn["sigma"][0])


def noise_field(shape: tuple[int, ...], sigma: float) -> torch.Tensor:
    """``torch.randn(shape)`` scaled by ``sigma``, rounded half to even, clamped to ±255, as int16.

    The arithmetic after the draw runs in numpy, on the calling thread: the same float32 products and
    roundings as torch's ``mul_().round_().clamp_()``, without torch's intra-op threads, whose barriers
    cost milliseconds per call on a busy machine. The product is within ±1000 (|randn| < 6, sigma ≤
    128), so clamping after the cast to int16 is the same as before it.
    """
    values = torch.randn(shape).numpy()
    np.multiply(values, np.float32(sigma), out=values)
    np.rint(values, out=values)
    field = values.astype(np.int16)
    np.minimum(field, 255, out=field)
    np.maximum(field, -255, out=field)
    return torch.from_numpy(field)


@register
class GaussianNoise(ImageBrush):
    name = "gaussian_noise"
    summary = "Sprinkle film-grain noise over the image."
    params = (
        Param(
            "sigma",
            "float_range",
            [5.0, 20.0],
            "Range of the noise strength in pixel levels (0–255); 10 is subtle, 40 is grainy.",
            0.0,
            128.0,
        ),
    )

    def make_params(self, sample: torch.Tensor) -> dict[str, Any]:
        # v2.GaussianNoise draws in its kernel, so the noise is drawn here instead; one (C, H, W) field
        # per call keeps a batch to the rule "same drawn values for every image".
        low, high = self.settings["sigma"]
        sigma = torch.empty(1).uniform_(low, high).item() if high > low else low
        return {"sigma": sigma, "noise": noise_field(tuple(sample.shape[-3:]), sigma)}

    def transform(self, sample: torch.Tensor, drawn: dict[str, Any]) -> torch.Tensor:
        noise = drawn["noise"]
        if (
            _fast_ready(sample)
            and sample.ndim == 3
            and sample.permute(1, 2, 0).is_contiguous()
            and image_kernels() == "opencv"
        ):
            # An HWC picture (a fast brush's output): the same sum, without mixing layouts in torch.
            return from_hwc(cv.add_noise(to_hwc(sample), noise.numpy()))
        # The noise is drawn on the CPU (its seeded RNG); move it to the image only if that lives elsewhere.
        return add_noise_uint8(sample, noise.to(sample.device))


@register
class Sharpness(TorchvisionBrush):
    name = "sharpness"
    summary = "Sharpen (or soften) the edges of the image."
    params = (
        Param("factor", "float", 2.0, "0 blurs, 1 keeps the image, 2 doubles the sharpness.", 0.0, 10.0),
        PROBABILITY,
    )

    def build(self) -> v2.Transform:
        return v2.RandomAdjustSharpness(self.settings["factor"], p=1.0)

    def fast(self, image: np.ndarray, drawn: dict[str, Any]) -> np.ndarray | None:
        return cv.adjust_sharpness(image, self.settings["factor"])


@register
class Posterize(TorchvisionBrush):
    name = "posterize"
    summary = "Reduce the number of colour levels, like a screen print."
    params = (
        Param("bits", "int", 4, "Bits kept per channel: 8 keeps all 256 levels, 1 keeps 2.", 1, 8),
        PROBABILITY,
    )

    def build(self) -> v2.Transform:
        return v2.RandomPosterize(self.settings["bits"], p=1.0)


@register
class Solarize(TorchvisionBrush):
    name = "solarize"
    summary = "Invert the brightest tones, like an over-exposed photograph."
    params = (
        Param("threshold", "float", 128.0, "Pixel level (0–255) from which tones are inverted.", 0.0, 255.0),
        PROBABILITY,
    )

    def build(self) -> v2.Transform:
        return v2.RandomSolarize(self.settings["threshold"], p=1.0)


@register
class Equalize(TorchvisionBrush):
    name = "equalize"
    summary = "Spread the tones evenly over the whole range, bringing out detail in flat images."
    params = (PROBABILITY,)

    def build(self) -> v2.Transform:
        return v2.RandomEqualize(p=1.0)


@register
class Autocontrast(TorchvisionBrush):
    name = "autocontrast"
    summary = "Stretch each channel so its darkest pixel becomes black and its brightest white."
    params = (PROBABILITY,)

    def build(self) -> v2.Transform:
        return v2.RandomAutocontrast(p=1.0)


@register
class RandomErasing(TorchvisionBrush):
    name = "random_erasing"
    summary = "Paint over a random rectangle, so the model cannot rely on one spot."
    params = (
        PROBABILITY,
        Param(
            "scale", "float_range", [0.02, 0.33], "Share of the image area the rectangle covers.", 0.01, 1.0
        ),
        Param("ratio", "float_range", [0.3, 3.3], "Aspect-ratio range of the rectangle.", 0.1, 10.0),
        Param("value", "int", 0, "Pixel level (0–255) the rectangle is filled with.", 0, 255),
    )

    def build(self) -> v2.Transform:
        s = self.settings
        return v2.RandomErasing(p=1.0, scale=tuple(s["scale"]), ratio=tuple(s["ratio"]), value=s["value"])


@register
class Elastic(TorchvisionBrush):
    name = "elastic"
    summary = "Warp the image as if painted on rippling water."
    params = (
        Param("alpha", "float", 50.0, "Strength of the warp in pixels.", 0.0, 500.0, unit="px"),
        Param(
            "sigma",
            "float",
            5.0,
            "Smoothness of the warp: higher gives broader ripples.",
            0.5,
            20.0,
            unit="px",
        ),
    )

    def build(self) -> v2.Transform:
        s = self.settings
        return v2.ElasticTransform(alpha=s["alpha"], sigma=s["sigma"], interpolation="bilinear")


@register
class Resize(TorchvisionBrush):
    name = "resize"
    summary = "Scale every image to the same square size, as the model expects."
    augments = False
    params = (
        Param("size", "int", 64, "Output side length in pixels.", 8, 1024, unit="px"),
        Param(
            "interpolation",
            "choice",
            "bilinear",
            "How new pixels are computed; nearest keeps hard pixel-art edges.",
            choices=INTERPOLATIONS,
        ),
    )

    def build(self) -> v2.Transform:
        s = self.settings
        return v2.Resize((s["size"], s["size"]), interpolation=s["interpolation"], antialias=True)

    # No OpenCV kernel: the exported bundle's runtime resizes as torchvision does, to the bit, and the
    # studio must feed a model what its bundle will.


@register
class Normalize(TorchvisionBrush):
    name = "normalize"
    summary = "Turn pixels into the centred float numbers the model trains on; usually the last brush."
    augments = False
    finishing = True
    output_dtype = torch.float32
    params = (
        Param(
            "preset",
            "choice",
            "imagenet",
            "Channel means and spreads: imagenet for pretrained models, half for -1..1, unit for 0..1.",
            choices=tuple(NORMALIZE_PRESETS),
        ),
    )

    def build(self) -> v2.Transform:
        mean, std = NORMALIZE_PRESETS[self.settings["preset"]]
        # In place is safe: transform() always hands it a tensor it has just allocated.
        return v2.Normalize(mean, std, inplace=True)

    def transform(self, sample: torch.Tensor, drawn: dict[str, Any]) -> torch.Tensor:
        scaled = F.to_dtype_image(sample, torch.float32, scale=True)
        if scaled is sample:  # already float32: copy, so the caller's tensor is not normalized in place
            scaled = sample.clone()
        return self._transform.transform(scaled, drawn)
