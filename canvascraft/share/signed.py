"""Share links as capabilities: a signed token that opens one view read only, until it expires or is
revoked.

A link is ``<studio>/?share=TOKEN``. The token is an ``itsdangerous`` URL-safe timed signature (keys
from :mod:`canvascraft.share.keys`) over the link's id, its view and that view's query parameters, and
a row in ``share_links`` holds the same, with who made it, when it expires and whether it was revoked.
Opening checks the signature, then the row: a token whose signature fails, whose row is gone, revoked
or past its expiry, or whose view differs from the row's, does not open, and all of these read the same
to the person holding it (:class:`LinkNotValid`); the reason is logged.

Exactly one view: a run, a comparison, a model, a Try result or a drift check. The state a link opens is
cut down to that view's own values (no filters, no page), so nothing else can be reached from it, and
the unsigned query parameters of :mod:`canvascraft.share.links` stay what the studio uses inside.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select

from canvascraft.auth.identity import Person
from canvascraft.errors import LinkNotValid, ShareLinkError, UnknownShareLinkError
from canvascraft.events.settings import DURATION_PATTERN, DURATION_UNITS
from canvascraft.share.keys import key_ring
from canvascraft.share.links import DriftState, GalleryState, parse, parse_drift, to_params
from canvascraft.store.models import ShareLink, as_utc, utcnow
from canvascraft.store.session import open_session

log = logging.getLogger(__name__)

SALT = "canvascraft.share-link.v1"
PARAM = "share"
"""The query parameter a share link's token travels in, on any page of the studio."""
VIEWS = ("run", "compare", "model", "try", "drift")
MAX_LIFETIME = timedelta(days=366)
NOT_VALID_TITLE = "This link is not valid"
NOT_VALID_HELP = (
    "It may have expired or been revoked, or it was copied incompletely. Ask whoever sent it for a new one."
)
NOT_VALID = f"{NOT_VALID_TITLE}. {NOT_VALID_HELP}"


@dataclass(frozen=True)
class ShareLinkInfo:
    """A share link as ``canvascraft link list`` and the Admin page show it (never the token)."""

    id: int
    view: str
    params: dict[str, str]
    created_by_subject: str
    created_by_name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    @property
    def state(self) -> str:
        """``active``, ``revoked`` or ``expired``."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= utcnow() else "active"

    @property
    def what(self) -> str:
        """The view in words: ``run 0f3a…``, ``comparison of 3 runs``, ``model cats version 2``."""
        p = self.params
        if self.view == "run":
            return f"run {p.get('run', '?')}"
        if self.view == "compare":
            return f"comparison of {len(p.get('runs', '').split(','))} runs"
        if self.view == "drift":
            return f"drift check #{p.get('check', '?')}" + (f" of {p['model']}" if "model" in p else "")
        version = f" version {p['version']}" if "version" in p else ""
        if self.view == "model":
            return f"model {p.get('model', '?')}{version}"
        tried = (
            f"checkpoint {p['checkpoint']}" if "checkpoint" in p else f"model {p.get('model', '?')}{version}"
        )
        return f"Try result of {tried}"


@dataclass(frozen=True)
class NewShareLink:
    """A link just made: ``token`` goes in the URL (``?share=TOKEN``)."""

    info: ShareLinkInfo
    token: str


@dataclass(frozen=True)
class SharedView:
    """What a valid link opens: one view, as a state of its page, and until when."""

    link_id: int
    view: str
    state: GalleryState | DriftState
    expires_at: datetime


def scoped(state: GalleryState | DriftState) -> tuple[str, GalleryState | DriftState]:
    """The one view ``state`` names and the state cut down to that view's own values; a
    :class:`ShareLinkError` saying what can be shared for any other (the runs grid, a model list)."""
    if isinstance(state, DriftState):
        if state.check is None:
            raise ShareLinkError(
                "a drift link opens one check: open a check on the Drift page (or give its id) first"
            )
        return "drift", DriftState(model=state.model, check=state.check, feature=state.feature)
    if state.view == "run" and state.run:
        return "run", GalleryState(view="run", run=state.run)
    if state.view == "compare" and len(state.runs) >= 2:
        return "compare", GalleryState(view="compare", runs=state.runs)
    if state.view == "models" and state.model:
        return "model", GalleryState(view="models", model=state.model, version=state.version)
    if state.view == "try" and (state.model or state.checkpoint):
        kept = GalleryState(view="try", item=state.item)
        if state.checkpoint:
            return "try", replace(kept, checkpoint=state.checkpoint)
        if not state.version:
            raise ShareLinkError("a Try link names the model's version or alias: pick one first")
        return "try", replace(kept, model=state.model, version=state.version)
    raise ShareLinkError(
        "a share link opens one run, one comparison, one model, one Try result or one drift check; "
        "open one of those first (a list of runs with filters is shared inside the studio only)"
    )


def parse_lifetime(text: str | None) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``3600`` (seconds) → how long a link lives; None: the setting."""
    from canvascraft.config import get_settings

    given = get_settings().link_expires if text is None else text
    match = DURATION_PATTERN.match(given.strip())
    seconds = float(match.group(1)) * DURATION_UNITS[(match.group(2) or "s").lower()] if match else 0
    if seconds <= 0:
        where = "CANVASCRAFT_LINK_EXPIRES" if text is None else "expires"
        raise ShareLinkError(f"{where}: {given!r} is not a duration; write it as 30d, 12h or 90m")
    if seconds > MAX_LIFETIME.total_seconds():
        raise ShareLinkError(f"expires: {given!r} is too long; a share link lives at most 366d")
    return timedelta(seconds=seconds)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key_ring(), salt=SALT)


def _info(row: ShareLink) -> ShareLinkInfo:
    return ShareLinkInfo(
        id=row.id,
        view=row.view,
        params=json.loads(row.payload),
        created_by_subject=row.created_by_subject,
        created_by_name=row.created_by_name,
        created_at=as_utc(row.created_at),
        expires_at=as_utc(row.expires_at),
        revoked_at=as_utc(row.revoked_at),
    )


def _sign(link_id: int, view: str, params: dict[str, str]) -> str:
    return _serializer().dumps({"id": link_id, "view": view, "params": params})


def create_link(
    state: GalleryState | DriftState,
    by: Person,
    expires: str | None = None,
    now: datetime | None = None,
) -> NewShareLink:
    """A signed link to the one view ``state`` names, made by ``by``, living ``expires`` from ``now``."""
    view, state = scoped(state)
    lifetime = parse_lifetime(expires)
    made = now or utcnow()
    params = to_params(state)
    with open_session() as session:
        row = ShareLink(
            view=view,
            payload=json.dumps(params, sort_keys=True),
            created_by_subject=by.subject,
            created_by_name=by.name,
            created_at=made,
            expires_at=made + lifetime,
        )
        session.add(row)
        session.flush()
        info = _info(row)
    return NewShareLink(info, _sign(info.id, view, params))


def share_url(base_url: str, token: str) -> str:
    """The address a token opens at: the studio's root, where the frame shows shared views."""
    return f"{base_url.rstrip('/')}/?{PARAM}={token}"


def list_links() -> list[ShareLinkInfo]:
    """Every share link, newest first, revoked and expired ones included."""
    with open_session() as session:
        return [_info(row) for row in session.scalars(select(ShareLink).order_by(ShareLink.id.desc()))]


def get_link(link_id: int) -> ShareLinkInfo:
    with open_session() as session:
        row = session.get(ShareLink, link_id)
        if row is None:
            raise UnknownShareLinkError(
                f"share link {link_id}: no such link; `canvascraft link list` shows their ids"
            )
        return _info(row)


def revoke_link(link_id: int) -> ShareLinkInfo:
    """Stop a link for good (revoking it again changes nothing)."""
    with open_session() as session:
        row = session.get(ShareLink, link_id)
        if row is None:
            raise UnknownShareLinkError(
                f"share link {link_id}: no such link; `canvascraft link list` shows their ids"
            )
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            session.flush()
        return _info(row)


def _refused(reason: str, **facts: Any) -> LinkNotValid:
    log.warning("share link refused: %s", reason, extra={"share_link": facts} if facts else None)
    return LinkNotValid(NOT_VALID)


def open_link(token: str, now: datetime | None = None) -> SharedView:
    """The view a token opens, or :class:`LinkNotValid` (tampered, unknown, expired or revoked)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 2000:
        raise _refused("not a token")
    try:
        data = _serializer().loads(token)
    except BadData:
        raise _refused("bad signature") from None
    if not (
        isinstance(data, dict)
        and isinstance(data.get("id"), int)
        and data.get("view") in VIEWS
        and isinstance(data.get("params"), dict)
    ):
        raise _refused("signed but not a share link")
    link_id, view, params = data["id"], data["view"], data["params"]
    with open_session() as session:
        row = session.get(ShareLink, link_id)
        if row is None:
            raise _refused("no such link", id=link_id)
        if row.view != view or json.loads(row.payload) != params:
            raise _refused("token and stored link differ", id=link_id)
        if row.revoked_at is not None:
            raise _refused("revoked", id=link_id)
        expires_at = as_utc(row.expires_at)
        if expires_at <= (now or utcnow()):
            raise _refused("expired", id=link_id)
    state = parse_drift(params) if view == "drift" else parse(params)
    if state.problems or scoped(state)[0] != view:
        raise _refused("stored view does not parse", id=link_id)
    return SharedView(link_id=link_id, view=view, state=state, expires_at=expires_at)
