"""Images: PNG, JPEG, WebP and BMP pictures, one per file, decoded to uint8 ``(C, H, W)`` RGB tensors.

Pillow, numpy and torch are imported inside the methods, so registering the modality costs nothing.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from canvascraft.errors import CorruptItemError, DatasetError, DriftError
from canvascraft.modalities.base import PREVIEW_SIDE, UNLABELLED, ItemInfo
from canvascraft.modalities.files import FileModality
from canvascraft.modalities.registry import register_modality

if TYPE_CHECKING:
    import torch

    from canvascraft.data.catalog import VersionView
    from canvascraft.recipe.preview import ImagePreview
    from canvascraft.recipe.spec import Recipe
    from canvascraft.recipe.starters import FittedStarter

EXTENSIONS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP"}

PROFILE_SIDE = 512
"""Images are shrunk to at most this side before their drift statistics: means and spreads of
luminance and colour barely move, and a 24-megapixel photo costs a few milliseconds instead of a second."""

CARD_SIDE = 96

BASELINE_SIDE = 16
"""A run's classical baseline reads pictures shrunk to at most this many pixels a side."""


MAX_ASPECT = 50
"""Longest over shortest side of an importable picture: a 50000×1 strip resized to a square is noise."""


def inspect_image(data: bytes, *, max_pixels: int) -> ItemInfo:
    """The whole picture decoded, within the pixel limit; raises ``CorruptItemError``."""
    from PIL import Image, UnidentifiedImageError

    allowed = set(EXTENSIONS.values())
    with warnings.catch_warnings():
        # Our own pixel limit below replaces Pillow's warning with a clear refusal.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise CorruptItemError(
                "not an image: the bytes are not PNG, JPEG, WebP or BMP data (wrong extension?)"
            ) from None
        except Image.DecompressionBombError as error:
            raise CorruptItemError(f"refused as a possible decompression bomb: {error}") from None
        except OSError as error:
            raise CorruptItemError(f"unreadable image: {error}") from None
        with image:
            # Phone and camera JPEGs that carry extra pictures (MPF: depth or HDR gain maps) open as MPO.
            fmt = "JPEG" if image.format == "MPO" else image.format
            if fmt not in allowed:
                raise CorruptItemError(
                    f"{image.format} images are not supported; convert it to PNG, JPEG, WebP or BMP"
                )
            pixels = image.width * image.height
            if pixels > max_pixels:
                raise CorruptItemError(
                    f"image is {image.width}×{image.height} = {pixels:,} pixels, over the "
                    f"{max_pixels:,}-pixel limit (possible decompression bomb); resize it or raise "
                    "CANVASCRAFT_MAX_IMAGE_PIXELS"
                )
            long_side, short_side = max(image.size), max(min(image.size), 1)
            if long_side / short_side > MAX_ASPECT:
                raise CorruptItemError(
                    f"image is {image.width}×{image.height} pixels, a shape over {MAX_ASPECT}:1 that no "
                    "resize keeps readable (a strip, not a picture); crop it first"
                )
            try:
                image.load()
            except (OSError, SyntaxError, ValueError) as error:
                raise CorruptItemError(f"corrupt or truncated image: {error}") from None
            return ItemInfo(
                modality="image",
                format=fmt,
                width=image.width,
                height=image.height,
                channels=len(image.getbands()),
            )


def image_signals(data: bytes) -> dict[str, float]:
    """Brightness (mean Rec. 601 luminance, 0–1), contrast (its standard deviation), mean R/G/B and
    mean HSV saturation (all 0–1)."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (PROFILE_SIDE, PROFILE_SIDE))  # JPEG decodes at reduced size, others ignore it
            rgb = image.convert("RGB")
            rgb.thumbnail((PROFILE_SIDE, PROFILE_SIDE))
            pixels = np.asarray(rgb, dtype=np.float64) / 255.0
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise DriftError(f"cannot read the image for its drift profile: {error}") from None
    if pixels.size == 0:
        raise DriftError("cannot read the image for its drift profile: it has no pixels")
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    luminance = 0.299 * red + 0.587 * green + 0.114 * blue
    high, low = pixels.max(axis=2), pixels.min(axis=2)
    saturation = np.divide(high - low, high, out=np.zeros_like(high), where=high > 0)
    return {
        "brightness": float(luminance.mean()),
        "contrast": float(luminance.std()),
        "mean_r": float(red.mean()),
        "mean_g": float(green.mean()),
        "mean_b": float(blue.mean()),
        "saturation": float(saturation.mean()),
    }


@register_modality
class ImageModality(FileModality):
    name: ClassVar[str] = "image"
    extensions: ClassVar[dict[str, str]] = EXTENSIONS
    files: ClassVar[str] = "images"
    reads: ClassVar[str] = "a picture (PNG, JPEG, WebP or BMP)"
    item_noun: ClassVar[str | None] = "photos"
    signals: ClassVar[dict[str, tuple[str, str]]] = {
        "brightness": ("are brighter", "are darker"),
        "contrast": ("have more contrast", "have less contrast"),
        "mean_r": ("are redder", "are less red"),
        "mean_g": ("are greener", "are less green"),
        "mean_b": ("are bluer", "are less blue"),
        "saturation": ("are more colourful", "are more washed out"),
    }
    thumbnails: ClassVar[bool] = True
    shape_hint: ClassVar[str] = " (add a resize brush to the recipe so every picture has one size)"

    def collate_fn(self) -> Callable[..., Any] | None:
        """Batches of one size, or a message naming the sizes and the brush that fixes it."""
        from canvascraft.training.data import same_size

        return same_size

    def inspect(
        self, filename: str, data: bytes, *, max_image_pixels: int, label_column: str | None
    ) -> ItemInfo:
        return inspect_image(data, max_pixels=max_image_pixels)

    def decode(self, data: bytes, fmt: str = "") -> torch.Tensor:
        from canvascraft.recipe.preview import decode_image

        return decode_image(data)

    def read_file(self, data: bytes, filename: str) -> torch.Tensor:
        from canvascraft.config import get_settings

        inspect_image(data, max_pixels=get_settings().max_image_pixels)
        return self.decode(data)

    def fit_starter(self, view: VersionView) -> FittedStarter | None:
        """The image starter sized to the version's pictures (the sizes the import recorded) and as
        strong as its smallest class allows."""
        from canvascraft.data.health import class_counts
        from canvascraft.recipe.starters import fit_image_starter

        sizes = [(i.width, i.height) for i in view.items if i.width is not None and i.height is not None]
        counts = {label: n for label, n in class_counts(view.items).items() if label != UNLABELLED}
        if not sizes or not counts:
            return None
        return fit_image_starter(view.dataset, sizes, counts)

    def signal_features(self, data: bytes) -> dict[str, float]:
        return image_signals(data)

    def baseline_features(self, x: torch.Tensor) -> torch.Tensor | None:
        """The picture shrunk by area averaging to at most ``BASELINE_SIDE`` pixels a side, flattened:
        small pixels keep the layout and colour a simple model can use and drop the detail it would
        only overfit."""
        import torch

        side = self._baseline_size(tuple(x.shape))
        return torch.nn.functional.adaptive_avg_pool2d(x.float(), side).flatten()

    def baseline_input(self, input_shape: tuple[int, ...]) -> str:
        height, width = self._baseline_size(input_shape)
        return f"{height}×{width} pixels"

    @staticmethod
    def _baseline_size(shape: tuple[int, ...]) -> tuple[int, int]:
        return min(shape[-2], BASELINE_SIDE), min(shape[-1], BASELINE_SIDE)

    def thumbnail(self, data: bytes, side: int) -> bytes | None:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as image:
                small = image.convert("RGB")
                small.thumbnail((side, side))
                out = io.BytesIO()
                small.save(out, format="PNG")
                return out.getvalue()
        except (UnidentifiedImageError, OSError, ValueError):
            return None

    def card_picture(self, data: bytes) -> bytes | None:
        from canvascraft.data.preview import thumbnail_png

        return thumbnail_png(data, CARD_SIDE)

    def preview_file(
        self,
        recipe: Recipe,
        name: str,
        data: bytes,
        n_variants: int,
        seed: int,
        *,
        max_side: int = PREVIEW_SIDE,
    ) -> ImagePreview:
        """Shrunk to display size first; pixel-measured settings shrink with it (``preview_images``)."""
        from canvascraft.recipe import preview

        try:
            image = self.decode(data)
        except (OSError, ValueError) as error:
            raise DatasetError(f"could not read {name} as an image: {error}") from None
        return preview.preview_images(
            recipe, [(name, *preview.downscale(image, max_side))], n_variants, seed
        )[0]

    def grid_png(self, previews: list[Any]) -> bytes:
        from canvascraft.recipe.preview import image_grid_png

        return image_grid_png(previews)
