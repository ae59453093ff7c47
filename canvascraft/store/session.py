"""Engines and sessions.

SQLite runs in WAL mode with a busy timeout, so the studio, the CLI and job processes can share one
workspace database; PostgreSQL is used as given by its URL.

A write the database refuses is told in one place: ``write`` runs a transaction again while the
database stays locked, and ``store_error`` turns a refusal (locked past every retry, disk full) into a
``StoreError`` whose message says what happened and where; the transaction was rolled back, so no row
is half written.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from canvascraft.config import get_settings
from canvascraft.errors import StoreBusyError, StoreError, StoreFullError

T = TypeVar("T")
WAL_SWITCH_TRIES = 200
WRITE_TRIES = 4
"""Tries of one transaction while the database stays locked (each waits up to the busy timeout)."""
RETRY_PAUSE_S = 0.2
"""First pause between tries; it doubles each time (up to ``MAX_PAUSE_S``), so writers spread out."""
MAX_PAUSE_S = 2.0
FULL_FREE_BYTES = 1 << 20
"""Below this much free space an ambiguous ``disk I/O error`` is taken for a full disk."""


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


def is_locked(error: OperationalError) -> bool:
    """Whether the database refused because another connection holds its lock (worth a retry)."""
    return "locked" in refusal(error) or "busy" in refusal(error)


def _database_folder(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).resolve().parent


def _is_full(error: OperationalError, folder: Path | None) -> bool:
    reason = refusal(error)
    if "full" in reason:
        return True
    if "disk I/O error" in reason and folder is not None and folder.exists():
        return shutil.disk_usage(folder).free < FULL_FREE_BYTES
    return False


DISK_FULL_HINTS = (
    "database or disk is full",
    "No space left on device",
    "os error 28",
    "Disk quota exceeded",
)
"""How a full disk reads in the errors of SQLite, the OS, safetensors (Rust) and MLflow's wrappers."""


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` (or one it came from) is the disk running out of space, whatever raised it:
    ``OSError(ENOSPC)``, SQLite's "database or disk is full", or a library wrapping either."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(hint in str(current) for hint in DISK_FULL_HINTS):
            return True
        current = current.__cause__ or current.__context__
    return False


def disk_full_message(folder: Path | str, why: str = "no space left on device") -> str:
    """The one wording of a full disk: what filled, that nothing was half written, what to do."""
    return (
        f"the disk holding {folder} is full ({why}); nothing was half written, and a job keeps its row, "
        "log and last good checkpoint. Free some space there, then run the command again (a job that "
        "stopped: `canvascraft jobs list`, then `canvascraft jobs resume ID`, or Resume on the Train page)"
    )


def disk_full_error(folder: Path | str, why: str = "no space left on device") -> StoreFullError:
    return StoreFullError(disk_full_message(folder, why))


def refused(error: OperationalError, url: str | None = None) -> bool:
    """Whether this is the database refusing a write (locked, disk full) rather than a bug."""
    return is_locked(error) or _is_full(error, _database_folder(url or get_settings().db_url))


def store_error(error: OperationalError, url: str | None = None) -> StoreError:
    """The plain words for a write the database refused: the disk is full (and where), or it stayed
    locked; either way the command's transaction was rolled back."""
    url = url or get_settings().db_url
    folder = _database_folder(url)
    if _is_full(error, folder):
        return disk_full_error(folder or "the studio database", refusal(error))
    return StoreBusyError(
        f"the studio database could not be written ({refusal(error)}); another program may hold it "
        f"locked (a backup, a long import) longer than the busy timeout ({busy_timeout_s():g} s, "
        "CANVASCRAFT_SQLITE_BUSY_TIMEOUT_S); the command stopped, run it again in a moment"
    )


def write(url: str, work: Callable[[Connection], T], *, tries: int = WRITE_TRIES) -> T:
    """Run ``work`` in one transaction, again from the start while the database stays locked; a
    refusal that outlasts the tries (or a full disk) is raised as a ``StoreError``."""
    pause = RETRY_PAUSE_S
    for attempt in range(1, tries + 1):
        try:
            with engine_for(url).begin() as connection:
                return work(connection)
        except OperationalError as error:
            if not refused(error, url):
                raise
            if not is_locked(error) or attempt == tries:
                raise store_error(error, url) from error
        time.sleep(pause)
        pause = min(pause * 2, MAX_PAUSE_S)
    raise AssertionError("unreachable: the last try returns or raises")


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
    url = url or get_settings().db_url
    factory = sessionmaker(engine_for(url), expire_on_commit=False)
    try:
        with factory() as session, session.begin():
            yield session
    except OperationalError as error:
        if not refused(error, url):
            raise
        raise store_error(error, url) from error
