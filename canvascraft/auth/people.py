"""The people who signed in, remembered in the ``people`` table, and the roles admins set for them.

``signed_in(claims)`` turns a signed-in visitor's identity-token claims into the :class:`Person` the
studio acts for: ``sub`` is the subject (the provider's stable id), ``name`` and ``email`` as given,
the role an admin set if any, else the one the claims give (:func:`canvascraft.auth.login.claimed_role`).
It records the person (name, email, claimed role, last seen), writing only when something changed or
``SEEN_EVERY`` has passed, so a page run costs one read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from canvascraft.auth.identity import ROLES, Person
from canvascraft.auth.login import claimed_role
from canvascraft.errors import PeopleError, UnknownPersonError
from canvascraft.store.models import KnownPerson, as_utc, utcnow
from canvascraft.store.session import open_session

SEEN_EVERY = timedelta(minutes=1)
"""How stale ``last_seen`` may get before a page run writes it again."""
NAME_CLAIMS = ("name", "preferred_username", "nickname", "email")
"""Where a person's shown name comes from, first found first (else their subject)."""

log = logging.getLogger("canvascraft.auth")


@dataclass(frozen=True)
class PersonView:
    """One row of the People section and ``canvascraft people list``."""

    subject: str
    name: str
    email: str | None
    claim_role: str
    set_role: str | None
    first_seen: datetime
    last_seen: datetime

    @property
    def role(self) -> str:
        """The role the studio uses: the admin's when set, else the claim's."""
        return self.set_role or self.claim_role


def _view(row: KnownPerson) -> PersonView:
    return PersonView(
        subject=row.subject,
        name=row.name,
        email=row.email,
        claim_role=row.claim_role,
        set_role=row.role,
        first_seen=as_utc(row.first_seen),
        last_seen=as_utc(row.last_seen),
    )


def shown_name(claims: Mapping[str, Any]) -> str:
    for claim in NAME_CLAIMS:
        value = str(claims.get(claim) or "").strip()
        if value:
            return value
    return str(claims.get("sub") or "")


def signed_in(claims: Mapping[str, Any]) -> Person:
    """The person these identity-token claims belong to, recorded in ``people``."""
    subject = str(claims.get("sub") or "").strip()
    if not subject:
        raise PeopleError(
            "the identity provider signed this person in without a `sub` claim, so the studio cannot "
            "tell them apart; check the provider's client settings (scope openid)"
        )
    name = shown_name(claims)[:255]
    email = str(claims.get("email") or "").strip()[:320] or None
    claim_role = claimed_role(claims)
    now = utcnow()
    with open_session() as session:
        row = session.get(KnownPerson, subject)
        if row is None:
            row = KnownPerson(subject=subject, name=name, email=email, claim_role=claim_role,
                              first_seen=now, last_seen=now)  # fmt: skip
            session.add(row)
            log.info("first sign-in of %s (%s) as %s", subject, name, claim_role)
        elif (row.name, row.email, row.claim_role) != (name, email, claim_role) or (
            now - as_utc(row.last_seen) >= SEEN_EVERY
        ):
            row.name, row.email, row.claim_role, row.last_seen = name, email, claim_role, now
        role = row.role or claim_role
    return Person(subject=subject, name=name, role=role, email=email)


def current_role(subject: str) -> str | None:
    """The role ``subject`` has now (the admin's, else the claim's); None for someone never signed in."""
    with open_session() as session:
        row = session.get(KnownPerson, subject)
        return None if row is None else (row.role or row.claim_role)


def list_people() -> list[PersonView]:
    """Everyone who signed in, most recently seen first."""
    with open_session() as session:
        rows = session.scalars(select(KnownPerson).order_by(KnownPerson.last_seen.desc()))
        return [_view(row) for row in rows]


def set_role(subject: str, role: str | None) -> PersonView:
    """Set the role of the person ``subject`` (``None``: back to what their claim gives). Takes effect
    at their next page run."""
    if role is not None and role not in ROLES:
        raise PeopleError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    with open_session() as session:
        row = session.get(KnownPerson, subject)
        if row is None:
            raise UnknownPersonError(
                f"nobody with subject {subject!r} has signed in to this studio; "
                "`canvascraft people list` shows who has"
            )
        row.role = role
        session.flush()
        return _view(row)
