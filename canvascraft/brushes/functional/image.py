"""Image functions that ``torchvision.transforms.v2`` lacks for uint8 tensors.

v2's ``gaussian_noise`` draws its noise inside the kernel, so a brush wrapping it could not draw the
noise in ``make_params``; here the noise is an argument and the function is deterministic.
"""

from __future__ import annotations

import torch


def add_noise_uint8(image: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Add an integer noise field to a uint8 image, saturating at 0 and 255.

    ``image`` is ``(..., C, H, W)`` uint8; ``noise`` is int16 in pixel levels and broadcasts against it
    (a ``(C, H, W)`` field adds the same noise to every image of a batch). The sum goes through int16,
    not float, so the image never takes a float round-trip; the input is left untouched.
    """
    if image.dtype != torch.uint8:
        raise TypeError(f"expected a uint8 image, got {image.dtype}")
    if noise.dtype != torch.int16:
        raise TypeError(f"expected int16 noise, got {noise.dtype}")
    out = image.to(torch.int16)
    out += noise
    return out.clamp_(0, 255).to(torch.uint8)
