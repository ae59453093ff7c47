"""People and roles as pages, the CLI and the API see them: who is acting, what their role allows, who
signed in and the roles admins set."""

from __future__ import annotations

from canvascraft.auth import people as _people
from canvascraft.auth.identity import (
    LOCAL,
    ROLES,
    SIGNED_OUT,
    Person,
    acting_as,
    current_person,
    require_role,
    set_person_lookup,
)
from canvascraft.auth.login import HOW_TO, LoginSetup, check_binding, login_setup
from canvascraft.auth.people import PersonView, list_people, signed_in
from canvascraft.auth.throttle import SignInLimiter
from canvascraft.config import get_settings

__all__ = [
    "HOW_TO",
    "LOCAL",
    "ROLES",
    "SIGNED_OUT",
    "LoginSetup",
    "Person",
    "PersonView",
    "SignInLimiter",
    "acting_as",
    "check_binding",
    "current_person",
    "list_people",
    "login_setup",
    "require_role",
    "set_person_lookup",
    "set_role",
    "sign_in_limiter",
    "signed_in",
]


def set_role(subject: str, role: str | None) -> PersonView:
    """An admin sets ``subject``'s role (``None``: back to what the provider's claim gives)."""
    require_role("admin", "set people's roles")
    return _people.set_role(subject, role)


def sign_in_limiter() -> SignInLimiter:
    """The server's limit on sign-in attempts per address (``CANVASCRAFT_SIGNIN_ATTEMPTS`` per
    ``CANVASCRAFT_SIGNIN_WINDOW_S``)."""
    settings = get_settings()
    return SignInLimiter(settings.signin_attempts, settings.signin_window_s)
