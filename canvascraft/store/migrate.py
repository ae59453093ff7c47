"""Apply the studio's Alembic migrations programmatically (``make run``, ``canvascraft db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from canvascraft.config import get_settings
from canvascraft.store.session import engine_for, write

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATION_LOCK_ID = 0x63616E76  # any fixed number; the same in every process


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the database at ``url`` (default: the settings' one) up to ``revision``."""
    url = url or get_settings().db_url
    config = alembic_config(url)
    if revision == "head" and _at_head(url, config):
        return  # a read: a command that only reads still works while another program holds the lock

    def migrate(connection: Connection) -> None:
        # Hold the database's write lock while reading the current revision and migrating, so two
        # processes starting on a fresh workspace migrate one after the other instead of racing.
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    write(url, migrate)


def _at_head(url: str, config: Config) -> bool:
    with engine_for(url).connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current == set(ScriptDirectory.from_config(config).get_heads())
