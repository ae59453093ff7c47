"""Modalities: one object per kind of data (image, audio, table) owning what differs between them.

``get_modality(name)`` is how generic code reaches one; ``canvascraft.modalities.files`` and
``canvascraft.modalities.table`` hold the two shapes of data (a sample per file, or rows) that the
built-in modalities ``image``, ``audio`` and ``table`` are made from.
"""

from canvascraft.modalities.base import (
    PREVIEW_ROWS,
    PREVIEW_SIDE,
    UNLABELLED,
    ItemInfo,
    ItemMemory,
    Modality,
    Reader,
    listed,
)
from canvascraft.modalities.registry import (
    MODALITY_REGISTRY,
    all_modalities,
    get_modality,
    modality_for_file,
    register_modality,
    supported_files,
    unsupported_reason,
    upload_suffixes,
)

__all__ = [
    "MODALITY_REGISTRY",
    "PREVIEW_ROWS",
    "PREVIEW_SIDE",
    "UNLABELLED",
    "ItemInfo",
    "ItemMemory",
    "Modality",
    "Reader",
    "all_modalities",
    "get_modality",
    "listed",
    "modality_for_file",
    "register_modality",
    "supported_files",
    "unsupported_reason",
    "upload_suffixes",
]
