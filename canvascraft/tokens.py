"""Bearer tokens for the studio's HTTP API: made, listed, revoked and checked.

A token is ``cc_`` and a ``secrets.token_urlsafe`` value; the database keeps only its SHA-256, so a
copy of the database lets nobody in. A request's token is hashed, looked up by that hash and compared
with ``hmac.compare_digest``. Scopes are ordered: ``read`` < ``train`` < ``admin``, each allowing what
the ones below it allow.

A token is its maker's: requests with it act as the person who made it, and it never allows more than
that person's role does (``SCOPE_OF_ROLE``): not when it is made, and not later, when their role is
lowered (``authenticate`` is handed the person as they are now).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from canvascraft.auth.identity import SCOPE_OF_ROLE, Person, current_person
from canvascraft.errors import RoleTooLow, ScopeTooLow, TokenError, TokenRefused, UnknownTokenError
from canvascraft.events.settings import DURATION_PATTERN, DURATION_UNITS
from canvascraft.store.models import ApiToken, as_utc, utcnow
from canvascraft.store.session import open_session

SCOPES = ("read", "train", "admin")
"""Lowest first: a token allows its own scope and every scope before it."""
PREFIX = "cc_"
MAX_NAME = 100
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenInfo:
    """A token as ``canvascraft tokens list`` shows it: never the secret, which is not stored."""

    id: int
    name: str
    scope: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    person: Person
    """Who made it; from :func:`authenticate`, that person as they are now (their current role)."""

    @property
    def effective_scope(self) -> str:
        """The lower of the token's scope and its maker's role's (an admin made it, then became a viewer:
        ``read``)."""
        return lower_scope(self.scope, SCOPE_OF_ROLE[self.person.role])

    @property
    def state(self) -> str:
        """``active``, ``revoked`` or ``expired``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= utcnow():
            return "expired"
        return "active"


@dataclass(frozen=True)
class NewToken:
    """A token just made: ``secret`` is what the client sends, shown this once."""

    info: TokenInfo
    secret: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        scope=row.scope,
        created_at=as_utc(row.created_at),
        expires_at=as_utc(row.expires_at),
        revoked_at=as_utc(row.revoked_at),
        last_used_at=as_utc(row.last_used_at),
        person=Person(subject=row.subject, name=row.maker_name, role=row.maker_role),
    )


def lower_scope(one: str, other: str) -> str:
    return one if SCOPES.index(one) <= SCOPES.index(other) else other


def check_scope(scope: str) -> str:
    if scope not in SCOPES:
        raise TokenError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    return scope


def parse_expiry(text: str | None) -> timedelta | None:
    """``30d``, ``12h``, ``90m``, ``3600`` (seconds) → how long a token lives; None or ``never``: for good."""
    if text is None or text.strip().lower() in ("", "never"):
        return None
    match = DURATION_PATTERN.match(text.strip())
    seconds = float(match.group(1)) * DURATION_UNITS[(match.group(2) or "s").lower()] if match else 0
    if seconds <= 0:
        raise TokenError(f"expires: {text!r} is not a duration; write it as 30d, 12h or 90m (or never)")
    return timedelta(seconds=seconds)


def create_token(scope: str, expires: str | None = None, name: str = "") -> NewToken:
    """Make a token for the acting person with ``scope`` that lives for ``expires`` (default: until
    revoked); a scope beyond their role's is refused (``RoleTooLow``)."""
    check_scope(scope)
    maker = current_person()
    most = SCOPE_OF_ROLE[maker.role]
    if lower_scope(scope, most) != scope:
        raise RoleTooLow(
            f"{maker.name} is a {maker.role}, so their tokens can have scope {most} at most, not {scope}: "
            f"create one with `--scope {most}`, or ask an admin for a higher role"
        )
    lifetime = parse_expiry(expires)
    name = name.strip()
    if len(name) > MAX_NAME:
        raise TokenError(f"name: at most {MAX_NAME} characters, got {len(name)}")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    with open_session() as session:
        row = ApiToken(
            name=name,
            scope=scope,
            token_hash=_digest(secret),
            created_at=now,
            expires_at=now + lifetime if lifetime else None,
            subject=maker.subject,
            maker_name=maker.name,
            maker_role=maker.role,
        )
        session.add(row)
        session.flush()
        return NewToken(_info(row), secret)


def list_tokens() -> list[TokenInfo]:
    """Every token, newest first, revoked and expired ones included; to anyone but an admin, only the
    tokens they made."""
    person = current_person()
    query = select(ApiToken).order_by(ApiToken.id.desc())
    if not person.allows("admin"):
        query = query.where(ApiToken.subject == person.subject)
    with open_session() as session:
        return [_info(row) for row in session.scalars(query)]


def revoke_token(token_id: int) -> TokenInfo:
    """Cut a token off for good (revoking it again changes nothing): one's own, or anyone's for an
    admin."""
    person = current_person()
    with open_session() as session:
        row = session.get(ApiToken, token_id)
        if row is None or (row.subject != person.subject and not person.allows("admin")):
            raise UnknownTokenError(
                f"token {token_id}: no such token; `canvascraft tokens list` shows their ids"
            )
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            session.flush()
        return _info(row)


def _advice(needed: str) -> str:
    return (
        f"create a token with `canvascraft tokens create --scope {needed}` "
        "and send it as `Authorization: Bearer TOKEN`"
    )


def authenticate(
    secret: str | None, needed: str, person_now: Callable[[Person], Person] | None = None
) -> TokenInfo:
    """The token ``secret`` names when it is active and its effective scope covers ``needed``; otherwise
    :class:`TokenRefused` (none, unknown, revoked, expired) or :class:`ScopeTooLow`. ``person_now``
    turns the maker as stored into the maker as they are now (their current role caps the scope); the
    answer's ``person`` is who the request acts as."""
    check_scope(needed)
    if not secret:
        raise TokenRefused(f"this request needs a token: {_advice(needed)}")
    digest = _digest(secret)
    with open_session() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            raise TokenRefused(f"the token is not known to this studio: {_advice(needed)}")
        info = _info(row)
        if info.state != "active":
            raise TokenRefused(f"token {info.id} is {info.state}: {_advice(needed)}")
        if person_now is not None:
            info = dataclasses.replace(info, person=person_now(info.person))
        if SCOPES.index(info.scope) < SCOPES.index(needed):
            raise ScopeTooLow(
                f"token {info.id} has scope {info.scope}, this needs {needed}: "
                f"create a token with `canvascraft tokens create --scope {needed}`"
            )
        if SCOPES.index(info.effective_scope) < SCOPES.index(needed):
            raise ScopeTooLow(
                f"token {info.id} was made by {info.person.name}, who is a {info.person.role}, so it "
                f"allows {info.effective_scope} at most; this needs {needed}: ask an admin of this studio"
            )
        now = utcnow()
        if info.last_used_at is None or now - info.last_used_at > LAST_USED_EVERY:
            row.last_used_at = now  # at most once a minute: reads should not each write
        return info
