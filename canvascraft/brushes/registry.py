"""The one registry of brushes (Strategy + Factory): registering a class is all it takes for a
brush to appear in the CLI, the recipe schema and the Brushes page."""

from __future__ import annotations

from canvascraft.brushes.base import Brush, Modality
from canvascraft.registry import Registry

BRUSHES: Registry[type[Brush]] = Registry(
    "brush", ("canvascraft.brushes.audio", "canvascraft.brushes.image", "canvascraft.brushes.table")
)
register = BRUSHES.register
unregister = BRUSHES.unregister


def all_brushes(modality: Modality | None = None) -> list[type[Brush]]:
    return BRUSHES.all(modality)


def get_brush(name: str) -> type[Brush]:
    """The brush class called ``name``; raises ``UnknownNameError`` naming the closest known ones."""
    return BRUSHES.get(name)
