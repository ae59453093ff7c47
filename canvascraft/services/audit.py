"""The audit log as admins read it: the Admin page's **Audit log** section and ``canvascraft audit list``."""

from __future__ import annotations

from canvascraft.auth.audit import AuditEntry, action_names, list_entries
from canvascraft.services.people import require_role


def list_audit(action: str | None = None, who: str | None = None, limit: int = 100) -> list[AuditEntry]:
    """The newest changes first (who, when, what, to what); ``action`` is one action (``model.alias``)
    or a group ending in ``.`` (``model.``); ``who`` a subject or part of a name. Admins only."""
    require_role("admin", "read the audit log")
    return list_entries(action=action, who=who, limit=limit)


def audit_actions() -> list[str]:
    """The actions recorded so far, for the log's filter. Admins only."""
    require_role("admin", "read the audit log")
    return action_names()


__all__ = ["AuditEntry", "audit_actions", "list_audit"]
