"""Fixtures for the event tests: a migrated database and a fresh default bus per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from canvascraft.events import reset_default_bus
from canvascraft.store.migrate import upgrade


@pytest.fixture(autouse=True)
def fresh_default_bus() -> Iterator[None]:
    reset_default_bus()
    yield
    reset_default_bus()


@pytest.fixture
def db(database_url: str) -> str:
    """The studio database, migrated, on SQLite and (when configured) PostgreSQL."""
    upgrade(database_url)
    return database_url
