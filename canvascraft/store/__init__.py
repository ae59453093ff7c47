"""The studio's own database: typed ORM models, sessions and Alembic migrations."""

from canvascraft.store.migrate import upgrade
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
