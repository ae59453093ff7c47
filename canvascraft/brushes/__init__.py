"""Preprocessing brushes: image augmentations (torchvision v2), audio effects and features, table
scalers. ``registry`` is the one place to find them."""

from canvascraft.brushes.base import Brush, Modality, Param, ParamError, check_settings
from canvascraft.brushes.registry import all_brushes, get_brush, register

__all__ = [
    "Brush",
    "Modality",
    "Param",
    "ParamError",
    "all_brushes",
    "check_settings",
    "get_brush",
    "register",
]
