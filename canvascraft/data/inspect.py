"""Decide whether one file is a usable item and describe it for the manifest.

A file's extension names its modality; that modality's ``inspect`` decodes the whole file (not just
its header) so that truncated or corrupt data is caught at import time rather than in the middle of a
training run. Failures raise ``CorruptItemError`` with a reason the user can act on.
"""

from __future__ import annotations

from typing import Literal, cast

from canvascraft.errors import CorruptItemError
from canvascraft.modalities.base import UNLABELLED, ItemInfo
from canvascraft.modalities.registry import modality_for_file, unsupported_reason

__all__ = ["UNLABELLED", "ItemInfo", "Modality", "inspect_item", "modality_of"]

Modality = Literal["image", "audio", "table"]


def modality_of(name: str) -> Modality | None:
    """The modality a file name's extension promises, or None for files the studio does not read."""
    found = modality_for_file(name)
    return cast(Modality, found.name) if found is not None else None


def inspect_item(
    name: str, data: bytes, *, max_image_pixels: int, label_column: str | None = None
) -> ItemInfo:
    """Validate ``data`` as the kind of file ``name`` claims to be."""
    if not data:
        raise CorruptItemError("empty file (0 bytes)")
    modality = modality_for_file(name)
    if modality is None:
        raise CorruptItemError(unsupported_reason(name))
    return modality.inspect(name, data, max_image_pixels=max_image_pixels, label_column=label_column)
