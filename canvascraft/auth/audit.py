"""The audit log: every change someone made, with who and when (``audit_log``, migration ``0014``).

Services write it through their guard (``canvascraft.services.guard.action``) after an action
succeeds, so a page, the CLI and the API leave the same record; admins read it on the Admin page and
with ``canvascraft audit list``. Rows are only ever added.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from canvascraft.auth.identity import Person
from canvascraft.errors import AuditError
from canvascraft.store.models import AuditRecord, as_utc, utcnow
from canvascraft.store.session import open_session

MAX_TARGET = 500
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class AuditEntry:
    """One change as the audit table and ``canvascraft audit list`` show it."""

    id: int
    at: datetime
    subject: str
    name: str
    role: str
    action: str
    target: str
    detail: dict[str, Any]


def _entry(row: AuditRecord) -> AuditEntry:
    return AuditEntry(
        id=row.id, at=as_utc(row.at), subject=row.subject, name=row.name, role=row.role,
        action=row.action, target=row.target, detail=dict(row.detail or {}),
    )  # fmt: skip


def record(person: Person, action: str, target: str = "", detail: dict[str, Any] | None = None) -> AuditEntry:
    """Add one record: ``person`` did ``action`` to ``target`` (``detail``: JSON-ready arguments)."""
    with open_session() as session:
        row = AuditRecord(
            at=utcnow(), subject=person.subject, name=person.name, role=person.role,
            action=action, target=target[:MAX_TARGET], detail=detail or {},
        )  # fmt: skip
        session.add(row)
        session.flush()
        return _entry(row)


def list_entries(action: str | None = None, who: str | None = None, limit: int = 100) -> list[AuditEntry]:
    """The newest records first; ``action`` keeps one action or, ending in ``.``, a group of them
    (``model.`` is every registry change); ``who`` keeps one person's: their subject, or a part of
    their name in any case. Filtered before the ``limit``, so older records of a person are found."""
    if not 1 <= limit <= MAX_LIMIT:
        raise AuditError(f"limit: give a number from 1 to {MAX_LIMIT}, got {limit}")
    query = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
    if action:
        query = query.where(
            AuditRecord.action.startswith(action) if action.endswith(".") else AuditRecord.action == action
        )
    if who and who.strip():
        wanted = who.strip()
        query = query.where(
            or_(AuditRecord.subject == wanted, func.lower(AuditRecord.name).contains(wanted.lower()))
        )
    with open_session() as session:
        return [_entry(row) for row in session.scalars(query)]


def action_names() -> list[str]:
    """The actions the log holds so far, for a filter's choices."""
    with open_session() as session:
        return sorted(session.scalars(select(AuditRecord.action).distinct()))
