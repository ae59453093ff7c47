"""People and roles as pages, the CLI and the API see them: who is acting, and what their role allows."""

from __future__ import annotations

from canvascraft.auth.identity import (
    LOCAL,
    ROLES,
    SCOPE_OF_ROLE,
    Person,
    acting_as,
    current_person,
    require_role,
)


def person_for_subject(subject: str, stored: Person) -> Person:
    """The person ``subject`` names as they are now (their current role), given how a record made
    earlier stored them (an API token keeps its maker's name and role from the day it was made).
    The local admin is always :data:`LOCAL`; everyone else is, for now, as stored: this is the one
    place a people table's current role replaces the stored one."""
    if subject == LOCAL.subject:
        return LOCAL
    return stored


def allows(role: str) -> bool:
    """Whether the acting person's role covers ``role`` (what the pages ask before showing an action)."""
    return current_person().allows(role)


__all__ = [
    "LOCAL",
    "ROLES",
    "SCOPE_OF_ROLE",
    "Person",
    "acting_as",
    "allows",
    "current_person",
    "person_for_subject",
    "require_role",
]
