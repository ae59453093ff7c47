"""The person a piece of work is done for, carried in a contextvar like the correlation id.

The page frame (after login) and the API (after its token check) set the person with
:func:`acting_as`; services ask :func:`current_person` or :func:`require_role` and never take a
``who`` argument, so a service called from the CLI, a page or the API checks and audits the same way.
Nobody set means the embedded default: one person on localhost, no login, allowed everything
(``LOCAL``). A job process and the scheduler act as ``LOCAL`` too: they run what someone already
allowed. Where a block of work runs outside the ``acting_as`` that started it (a Streamlit fragment's
rerun runs the fragment alone, without the frame), :func:`set_person_lookup` names where to find the
person: the page frame registers the signed-in session's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from canvascraft.config import ROLE_NAMES
from canvascraft.errors import RoleTooLow

ROLES = ROLE_NAMES
"""Lowest first: a role allows what its own level allows and everything below it.

- viewer: browse, open shared views;
- artist: import, brushes, train, tune, try, register a candidate;
- admin: move aliases, approve or reject retrains, alert settings, tokens, roles, deleting.
"""
SCOPE_OF_ROLE = {"viewer": "read", "artist": "train", "admin": "admin"}
"""The API token scope that matches each role (a token never goes beyond its maker's role)."""


@dataclass(frozen=True)
class Person:
    """Someone acting in the studio: ``subject`` is the identity provider's stable id (or ``local``)."""

    subject: str
    name: str
    role: str
    email: str | None = None

    def allows(self, role: str) -> bool:
        """Whether this person's role covers ``role``."""
        return role_rank(self.role) >= role_rank(role)


LOCAL = Person(subject="local", name="local user", role="admin")
"""The embedded default's one person: the studio is bound to localhost and has no login."""

SIGNED_OUT = Person(subject="signed-out", name="signed-out visitor", role="viewer")
"""Who a session of a studio with a login acts as before anyone signed in (it sees the sign-in screen)."""

_person: ContextVar[Person | None] = ContextVar("canvascraft_person", default=None)
_lookup: Callable[[], Person | None] | None = None


def role_rank(role: str) -> int:
    """The position of ``role`` in :data:`ROLES`; a ``ValueError`` naming the roles for any other."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    return ROLES.index(role)


def current_person() -> Person:
    """Who the work in this context is for: the ``acting_as`` in force, else what the registered
    lookup finds, else :data:`LOCAL`."""
    person = _person.get()
    if person is None and _lookup is not None:
        person = _lookup()
    return person or LOCAL


def set_person_lookup(lookup: Callable[[], Person | None] | None) -> None:
    """Where :func:`current_person` looks when no ``acting_as`` is in force (``None``: nowhere). The
    lookup answers ``None`` outside the work it knows (a scheduler thread), which then acts as LOCAL."""
    global _lookup
    _lookup = lookup


@contextmanager
def acting_as(person: Person) -> Iterator[Person]:
    """Run the block as ``person`` (a page run, an API request), restoring who was acting before."""
    token = _person.set(person)
    try:
        yield person
    finally:
        _person.reset(token)


def require_role(role: str, action: str) -> Person:
    """The current person, when their role covers ``role``; else :class:`RoleTooLow` saying who may
    ``action`` (a phrase such as ``"move a model's alias"``)."""
    person = current_person()
    if not person.allows(role):
        raise RoleTooLow(
            f"{person.name} is a {person.role} and cannot {action}: that needs the {role} role. "
            "Ask an admin of this studio to change your role."
        )
    return person
