"""Engines and sessions.

SQLite runs in WAL mode with a busy timeout, so the studio, the CLI and job processes can share one
workspace database; PostgreSQL is used as given by its URL.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from canvascraft.config import get_settings

WAL_SWITCH_TRIES = 200


def _ensure_wal(cursor: Any) -> None:
    """Switch a database file to WAL once. Two processes creating the file at the same moment both
    try; the switch needs an exclusive lock the other never releases while it holds the file open, so
    try without waiting and look again: the other process has usually switched it already."""
    cursor.execute("PRAGMA busy_timeout=0")
    for _ in range(WAL_SWITCH_TRIES):
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:  # the other process holds the lock right now
            time.sleep(0.05)
    raise sqlite3.OperationalError("could not switch the database to WAL mode: it stayed locked")


def busy_timeout_s() -> float:
    """How long a write waits for a locked SQLite database (``CANVASCRAFT_SQLITE_BUSY_TIMEOUT_S``)."""
    return get_settings().sqlite_busy_timeout_s


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    _ensure_wal(cursor)
    cursor.execute(f"PRAGMA busy_timeout={round(busy_timeout_s() * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def refusal(error: OperationalError) -> str:
    """The database's own one-line reason (``database is locked``), for messages that must say why."""
    return str(error.orig).splitlines()[0] if error.orig is not None else "no answer"


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per URL per process (engines own connection pools, so they are shared)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": busy_timeout_s(), "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


@contextmanager
def open_session(url: str | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    factory = sessionmaker(engine_for(url or get_settings().db_url), expire_on_commit=False)
    with factory() as session, session.begin():
        yield session
