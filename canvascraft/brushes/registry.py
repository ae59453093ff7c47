"""The one registry of brushes (Strategy + Factory): registering a class is all it takes for a
brush to appear in the CLI, the recipe schema and the Brushes page."""

from __future__ import annotations

import difflib
from typing import TypeVar

from canvascraft.brushes.base import Brush, Modality

B = TypeVar("B", bound=type[Brush])

_BRUSHES: dict[str, type[Brush]] = {}


def register(cls: B) -> B:
    """Class decorator: add a brush to the registry under its ``name``."""
    existing = _BRUSHES.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(
            f"two brushes are named {cls.name!r}: {existing.__qualname__} and {cls.__qualname__}"
        )
    _BRUSHES[cls.name] = cls
    return cls


def unregister(name: str) -> None:
    """Remove a brush (tests that register a throwaway brush clean up with this)."""
    _BRUSHES.pop(name, None)


def _load_builtin() -> None:
    # Importing the modules runs their @register decorators.
    from canvascraft.brushes import audio, image, table  # noqa: F401


def all_brushes(modality: Modality | None = None) -> list[type[Brush]]:
    _load_builtin()
    return [b for b in _BRUSHES.values() if modality is None or b.modality == modality]


def get_brush(name: str) -> type[Brush]:
    """The brush class called ``name``; raises ``KeyError`` with the closest known names."""
    _load_builtin()
    try:
        return _BRUSHES[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_BRUSHES), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown brush {name!r}{hint}") from None
