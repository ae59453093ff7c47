"""Share links for pages and the CLI: make, list, revoke, rotate keys, and open a link's one view.

Making a link needs the artist role (it lets someone without an account see the view); revoking needs
the link's maker or an admin; the keys are an admin's. Opening needs no one: the token is the capability.
"""

from __future__ import annotations

from canvascraft.auth.identity import Person, current_person
from canvascraft.config import get_settings
from canvascraft.errors import RoleTooLow
from canvascraft.services.guard import action
from canvascraft.share import keys, signed
from canvascraft.share.links import DriftState, GalleryState
from canvascraft.share.signed import (
    NOT_VALID,
    NOT_VALID_HELP,
    NOT_VALID_TITLE,
    PARAM,
    NewShareLink,
    SharedView,
    ShareLinkInfo,
    list_links,
    open_link,
    parse_lifetime,
    scoped,
)

VISITOR_ROLE = "viewer"

__all__ = [
    "NOT_VALID",
    "NOT_VALID_HELP",
    "NOT_VALID_TITLE",
    "PARAM",
    "NewShareLink",
    "ShareLinkInfo",
    "SharedView",
    "can_make_links",
    "create_link",
    "default_expiry",
    "drop_old_keys",
    "link_url",
    "list_links",
    "open_link",
    "parse_lifetime",
    "revoke_link",
    "rotate_key",
    "scoped",
    "visitor",
]


def can_make_links() -> bool:
    """Whether the acting person may make share links (the page shows the button only then)."""
    return current_person().allows("artist")


def default_expiry() -> str:
    """How long a link made without a choice lives (``CANVASCRAFT_LINK_EXPIRES``)."""
    return get_settings().link_expires


@action(
    role="artist",
    does="make a share link",
    audit="link.create",
    target=lambda v: f"link {v['result'][0].info.id}",
)
def create_link(
    state: GalleryState | DriftState, expires: str | None = None, base_url: str | None = None
) -> tuple[NewShareLink, str]:
    """A signed link to ``state``'s one view and its full address (on ``base_url``, else the studio's)."""
    made = signed.create_link(state, current_person(), expires)
    return made, link_url(made.token, base_url)


def link_url(token: str, base_url: str | None = None) -> str:
    return signed.share_url(base_url or get_settings().link_base, token)


@action(role="artist", does="revoke a share link", audit="link.revoke", target="link {link_id}")
def revoke_link(link_id: int) -> ShareLinkInfo:
    """Stop a link: its maker or an admin may."""
    person = current_person()
    link = signed.get_link(link_id)
    if not person.allows("admin") and person.subject != link.created_by_subject:
        raise RoleTooLow(
            f"{person.name} did not make share link {link_id} and cannot revoke it: that needs its maker "
            "or the admin role"
        )
    return signed.revoke_link(link_id)


@action(role="admin", does="rotate the share-link key", audit="link.rotate_key")
def rotate_key() -> int:
    return keys.rotate_key()


@action(role="admin", does="drop old share-link keys", audit="link.drop_old_keys")
def drop_old_keys() -> int:
    return keys.drop_old_keys()


def visitor(shared: SharedView) -> Person:
    """Who a shared view's page run acts as: a viewer named after the link, so no action runs behind it."""
    return Person(subject=f"share-link:{shared.link_id}", name="someone with a share link", role=VISITOR_ROLE)
