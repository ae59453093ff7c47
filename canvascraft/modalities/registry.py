"""The one registry of modalities: registering a ``Modality`` class is all it takes for imports,
training, drift checks, predictions and previews to handle its data.

The built-in modalities are imported by module name on the first lookup (as brushes and job kinds
are), so this module depends on none of them and importing it costs nothing.
"""

from __future__ import annotations

from functools import cache
from typing import TypeVar

from canvascraft.modalities.base import Modality, listed
from canvascraft.registry import Registry

M = TypeVar("M", bound=type[Modality])

MODALITY_MODULES = (
    "canvascraft.modalities.image",
    "canvascraft.modalities.audio",
    "canvascraft.modalities.table",
)
"""Modules whose import registers the studio's modalities (in the order messages list them)."""

MODALITY_REGISTRY: Registry[type[Modality]] = Registry("modality", MODALITY_MODULES)


def register_modality(cls: M) -> M:
    """Class decorator: add a modality under its ``name`` (the same name twice is a mistake)."""
    return MODALITY_REGISTRY.register(cls)


@cache
def _instance(cls: type[Modality]) -> Modality:
    """One object per modality class: modalities hold no state, so every caller shares it."""
    return cls()


def get_modality(name: str) -> Modality:
    """The modality called ``name``; raises ``UnknownNameError`` naming the known ones."""
    return _instance(MODALITY_REGISTRY.get(name))


def all_modalities() -> list[Modality]:
    return [_instance(cls) for cls in MODALITY_REGISTRY.all()]


def modality_for_file(filename: str) -> Modality | None:
    """The modality a file name's extension promises, or None for files the studio does not read."""
    return next((m for m in all_modalities() if m.format_of(filename) is not None), None)


def unsupported_reason(filename: str) -> str:
    """The skip reason of a file no modality reads: what cannot be done and what to convert it to where
    a modality knows the kind (``.m4a``), else the list of files the studio reads."""
    for modality in all_modalities():
        if (reason := modality.cannot_read(filename)) is not None:
            return reason
    return f"unsupported file type; the studio reads {supported_files()}"


def upload_suffixes() -> list[str]:
    """Every suffix a file picker should let through (without the dot): the ones a modality reads and
    the ones it refuses with a reason, so the refusal reaches the person instead of a bare "not allowed"."""
    suffixes = [s for m in all_modalities() for s in (*m.extensions, *m.undecodable)]
    return list(dict.fromkeys(s.removeprefix(".") for s in suffixes))


def supported_files() -> str:
    """``images (.png …), audio (.wav …) or tables (.csv …)``: what an import reads."""
    return listed([m.supported() for m in all_modalities()])
