"""People and roles as pages, the CLI and the API see them: who is acting, what their role allows, who
signed in and the roles admins set."""

from __future__ import annotations

from dataclasses import replace

from canvascraft.auth import people as _people
from canvascraft.auth.identity import (
    LOCAL,
    ROLES,
    SCOPE_OF_ROLE,
    SIGNED_OUT,
    Person,
    acting_as,
    current_person,
    require_role,
    set_person_lookup,
)
from canvascraft.auth.login import HOW_TO, LoginSetup, check_binding, login_setup
from canvascraft.auth.people import PersonView, list_people, signed_in
from canvascraft.auth.throttle import WindowLimit
from canvascraft.config import get_settings
from canvascraft.services.guard import action

__all__ = [
    "HOW_TO",
    "LOCAL",
    "ROLES",
    "SCOPE_OF_ROLE",
    "SIGNED_OUT",
    "LoginSetup",
    "Person",
    "PersonView",
    "WindowLimit",
    "acting_as",
    "allows",
    "check_binding",
    "current_person",
    "list_people",
    "login_setup",
    "person_for_subject",
    "require_role",
    "set_person_lookup",
    "set_role",
    "sign_in_limiter",
    "signed_in",
]


@action(role="admin", does="set people's roles", audit="person.role", target="{subject}")
def set_role(subject: str, role: str | None) -> PersonView:
    """An admin sets ``subject``'s role (``None``: back to what the provider's claim gives)."""
    return _people.set_role(subject, role)


def sign_in_limiter() -> WindowLimit:
    """The server's limit on sign-in attempts per address (``CANVASCRAFT_SIGNIN_ATTEMPTS`` per
    ``CANVASCRAFT_SIGNIN_WINDOW_S``)."""
    settings = get_settings()
    return WindowLimit(settings.signin_attempts, settings.signin_window_s)


def person_for_subject(subject: str, stored: Person) -> Person:
    """The person ``subject`` names as they are now, given how a record made earlier stored them (an
    API token keeps its maker's name and role from the day it was made): the role an admin set or the
    provider's claim last gave wins over the stored one, so a token never outlives its maker's role.
    The local admin is always :data:`LOCAL`."""
    if subject == LOCAL.subject:
        return LOCAL
    role = _people.current_role(subject)
    return stored if role is None else replace(stored, role=role)


def allows(role: str) -> bool:
    """Whether the acting person's role covers ``role`` (what the pages ask before showing an action)."""
    return current_person().allows(role)
