"""The studio's own database: typed ORM models, sessions and Alembic migrations.

``upgrade`` is loaded on first use: Alembic takes a third of a second to import, and job processes,
which only read and write rows, never migrate.
"""

from typing import Any

from canvascraft.store.models import Base, Dataset, DatasetVersion, Item, SkippedItem
from canvascraft.store.session import engine_for, open_session

__all__ = [
    "Base",
    "Dataset",
    "DatasetVersion",
    "Item",
    "SkippedItem",
    "engine_for",
    "open_session",
    "upgrade",
]


def __getattr__(name: str) -> Any:
    if name == "upgrade":
        from canvascraft.store.migrate import upgrade

        return upgrade
    raise AttributeError(f"module 'canvascraft.store' has no attribute {name!r}")
