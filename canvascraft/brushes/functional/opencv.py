"""OpenCV kernels for the image brushes where torchvision's uint8 kernels are slow.

Each function takes and returns a uint8 ``(H, W, C)`` array (C is 1 or 3) and leaves its input alone;
it applies values a brush's ``make_params`` drew (v2's own draws), so a seed means the same picture
whichever kernels run. They stay in uint8 where torchvision goes through float32: brightness and
contrast become ``cv2.LUT`` tables, saturation one ``cv2.transform``, hue a table on uint8 HSV, blur,
sharpness and the warps OpenCV's SIMD filters. ``canvascraft.brushes.image`` picks them (or the
torchvision reference) per call and converts between tensors and arrays without copying where it can.

How close they come to the torchvision reference (``tests/brushes/test_opencv_kernels.py`` holds them
to these on smooth pictures with grain, the kind a photo is):

- flips, brightness and the noise sum: exact. Blur, sharpness, enlarging crops: within 1
  grey level. Brightness + contrast + saturation: within 1 level on 99% of pixels, 3 at most (OpenCV
  rounds where torchvision truncates, an offset of about half a level stands in for the truncation;
  contrast's mean grey comes from the channel means).
- hue: within 3 levels on 97% of pixels, 12 at most on saturated colours: uint8 HSV keeps 256 steps
  of hue (OpenCV's ``_FULL`` range), torchvision keeps floats.
- rotation, affine, perspective: within 1 level on 99% of the pixels sampled wholly inside the picture
  (2 at most; OpenCV places samples on a 1/32-pixel grid); pixels within a pixel of the warped
  picture's edge differ more, because torchvision blends the black fill in twice there (once by
  sampling zeros, once through its fill mask), OpenCV once.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np

# torchvision's grey weights (``rgb_to_grayscale``), used by its contrast and saturation.
GREY = np.array([0.2989, 0.587, 0.114], dtype=np.float32)
# Stands in for torchvision's truncation to uint8 where OpenCV rounds: round(x - 0.499) == floor(x)
# except within 0.001 below an integer.
TRUNCATE = -0.499
IDENTITY = np.arange(256, dtype=np.uint8)
_LEVELS = np.arange(256, dtype=np.float32)
# Saturation's 3×4 matrix is SATURATION_BASE + factor * SATURATION_STEP: factor·I + (1 − factor)·grey in
# the first three columns, and in the last the grey's floor (−(1 − factor)/2) and the truncation.
_GREYS = np.repeat(GREY[None, :], 3, axis=0)
SATURATION_STEP = np.hstack([np.eye(3, dtype=np.float32) - _GREYS, np.full((3, 1), 0.5, np.float32)])
SATURATION_BASE = np.hstack([_GREYS, np.full((3, 1), -0.5 + TRUNCATE, np.float32)])


def _shaped(out: np.ndarray, channels: int) -> np.ndarray:
    """OpenCV drops a single channel's axis; put it back so every kernel returns (H, W, C)."""
    return out[:, :, None] if out.ndim == 2 else out.reshape(out.shape[0], out.shape[1], channels)


def _lut(image: np.ndarray, table: np.ndarray) -> np.ndarray:
    return _shaped(cv2.LUT(image, table), image.shape[2])


# --- colour -------------------------------------------------------------------------------------------


def _to_levels(values: np.ndarray) -> np.ndarray:
    """float32 levels to uint8 as torchvision casts them: clamped to 0..255, then truncated."""
    np.minimum(values, 255, out=values)
    np.maximum(values, 0, out=values)
    return values.astype(np.uint8)


def brightness_table(table: np.ndarray, factor: float) -> np.ndarray:
    """``table`` followed by torchvision's brightness: ``trunc(clamp(v * factor))``, in float32."""
    levels = _LEVELS * np.float32(factor) if table is IDENTITY else table * np.float32(factor)
    return _to_levels(levels)


def contrast_table(table: np.ndarray, factor: float, mean: float) -> np.ndarray:
    """``table`` followed by torchvision's contrast: a blend towards the picture's mean grey."""
    levels = _LEVELS * np.float32(factor) if table is IDENTITY else table * np.float32(factor)
    levels += np.float32(mean) * np.float32(1.0 - factor)
    return _to_levels(levels)


def mean_grey(image: np.ndarray) -> float:
    """The mean of torchvision's floored grey (colour) or of the one channel (grey pictures).

    Taken from the channel means; the floor of each pixel's grey is half a level on average.
    """
    red, green, blue, _ = cv2.mean(image)
    if image.shape[2] == 1:
        return red
    return 0.2989 * red + 0.587 * green + 0.114 * blue - 0.5


def adjust_saturation(image: np.ndarray, factor: float) -> np.ndarray:
    """torchvision's saturation (a blend with each pixel's floored grey) as one 3×4 ``cv2.transform``."""
    if image.shape[2] == 1:
        return image
    return cv2.transform(image, SATURATION_BASE + np.float32(factor) * SATURATION_STEP)


@lru_cache(maxsize=256)
def _hue_table(steps: int) -> np.ndarray:
    """A per-channel table turning uint8 HSV's hue (256 steps a turn) by ``steps``."""
    table = np.repeat(IDENTITY[None, :, None], 3, axis=2)
    table[0, :, 0] = (IDENTITY.astype(np.int32) + steps) % 256
    return table


def adjust_hue(image: np.ndarray, factor: float) -> np.ndarray:
    """Turn the colour wheel by ``factor`` (a share of a turn): uint8 HSV with 256 hue steps, a table."""
    if image.shape[2] == 1 or factor == 0.0:
        return image
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV_FULL)
    return cv2.cvtColor(cv2.LUT(hsv, _hue_table(round(factor * 256) % 256)), cv2.COLOR_HSV2RGB_FULL)


def color_jitter(
    image: np.ndarray,
    order: Sequence[int],
    brightness: float | None,
    contrast: float | None,
    saturation: float | None,
    hue: float | None,
) -> np.ndarray:
    """v2.ColorJitter's steps in its drawn ``order`` (0 brightness, 1 contrast, 2 saturation, 3 hue).

    Brightness and contrast in a row fold into one table, applied once before the next per-pixel step.
    """
    table = IDENTITY
    pending = False
    out = image
    for step in order:
        if step == 0 and brightness is not None:
            table, pending = brightness_table(table, brightness), True
        elif step == 1 and contrast is not None:
            # The mean is the picture's as it stands here: apply the table so far first.
            if pending:
                out, table, pending = _lut(out, table), IDENTITY, False
            table, pending = contrast_table(table, contrast, mean_grey(out)), True
        elif step in (2, 3):
            factor = saturation if step == 2 else hue
            if factor is None:
                continue
            if pending:
                out, table, pending = _lut(out, table), IDENTITY, False
            out = adjust_saturation(out, factor) if step == 2 else adjust_hue(out, factor)
    if pending:
        out = _lut(out, table)
    return out.copy() if out is image else out


# --- filters ------------------------------------------------------------------------------------------


def gaussian_blur(image: np.ndarray, kernel_size: int, sigma: float) -> np.ndarray:
    """torchvision's blur: the same gaussian window, edges mirrored without repeating the edge pixel."""
    out = cv2.GaussianBlur(
        image, (kernel_size, kernel_size), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT_101
    )
    return _shaped(out, image.shape[2])


SHARPEN = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], dtype=np.float32) / 13.0


def adjust_sharpness(image: np.ndarray, factor: float) -> np.ndarray:
    """torchvision's sharpness: blend with a 3×3 smoothing of the inside; the 1-pixel frame is kept."""
    height, width = image.shape[:2]
    if height <= 2 or width <= 2:
        return image.copy()
    smooth = _shaped(cv2.filter2D(image, -1, SHARPEN, borderType=cv2.BORDER_REPLICATE), image.shape[2])
    out = _shaped(cv2.addWeighted(image, factor, smooth, 1.0 - factor, TRUNCATE), image.shape[2])
    out[0], out[-1], out[:, 0], out[:, -1] = image[0], image[-1], image[:, 0], image[:, -1]
    return out


# --- geometry -----------------------------------------------------------------------------------------


def add_noise(image: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Add an int16 ``(C, H, W)`` noise field, saturating at 0 and 255 (``add_noise_uint8``'s sum):
    its planes interleaved once (``cv2.merge``), then one saturating ``cv2.add``."""
    planes = noise[0][:, :, None] if noise.shape[0] == 1 else cv2.merge(list(noise))
    return _shaped(cv2.add(image, planes, dtype=cv2.CV_8U), image.shape[2])


def flip(image: np.ndarray, horizontal: bool) -> np.ndarray:
    return _shaped(cv2.flip(image, 1 if horizontal else 0), image.shape[2])


def resize_up(image: np.ndarray, height: int, width: int) -> np.ndarray | None:
    """Bilinear enlarging (or same size) to ``height`` × ``width``; None when a side shrinks.

    Shrinking is left to torchvision: its antialiased filter has no OpenCV twin within two levels.
    """
    if height < image.shape[0] or width < image.shape[1]:
        return None
    if (height, width) == image.shape[:2]:
        return image.copy()
    return _shaped(cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR), image.shape[2])


def warp_affine(image: np.ndarray, inverse: Sequence[float], fill: float) -> np.ndarray:
    """An affine warp given torchvision's inverse matrix (output → input, about the picture's centre)."""
    height, width = image.shape[:2]
    a, b, c, d, e, f = inverse
    cx, cy = (width - 1) * 0.5, (height - 1) * 0.5
    matrix = np.array([[a, b, c + cx - a * cx - b * cy], [d, e, f + cy - d * cx - e * cy]], dtype=np.float64)
    out = cv2.warpAffine(
        image,
        matrix,
        (width, height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(fill,) * 4,
    )
    return _shaped(out, image.shape[2])


def warp_perspective(image: np.ndarray, coefficients: Sequence[float], fill: float) -> np.ndarray:
    """A perspective warp given torchvision's 8 coefficients (output → input, pixel centres at +0.5)."""
    height, width = image.shape[:2]
    homography = np.array([*coefficients, 1.0], dtype=np.float64).reshape(3, 3)
    to_centres = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]], dtype=np.float64)
    from_centres = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]], dtype=np.float64)
    out = cv2.warpPerspective(
        image,
        from_centres @ homography @ to_centres,
        (width, height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(fill,) * 4,
    )
    return _shaped(out, image.shape[2])


def is_right_angle(angle: float) -> bool:
    """torchvision turns by 0/90/180/270 degrees with exact pixel moves, not a warp: leave it those."""
    return angle % 90.0 == 0.0


# --- threads ------------------------------------------------------------------------------------------


def quiet_threads() -> None:
    """Turn OpenCV's own thread pool off: in a DataLoader worker the workers are the parallelism."""
    cv2.setNumThreads(0)
