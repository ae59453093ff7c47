"""API tokens for the CLI (``canvascraft tokens``) and the API's own door check (``admit``).

Anyone may make tokens for themselves, up to their role's scope; tokens are listed and revoked by
their maker, or by an admin. Each is recorded in the audit log.
"""

from __future__ import annotations

import logging

from canvascraft.auth.throttle import WindowLimit
from canvascraft.errors import TokenRefused
from canvascraft.services.guard import action
from canvascraft.services.people import person_for_subject
from canvascraft.tokens import SCOPES, NewToken, TokenInfo, list_tokens
from canvascraft.tokens import authenticate as _authenticate
from canvascraft.tokens import create_token as _create_token
from canvascraft.tokens import revoke_token as _revoke_token

log = logging.getLogger(__name__)

create_token = action(
    role="viewer", does="create an API token", audit="token.create",
    target=lambda v: f"token {v['result'].info.id} ({v['scope']})",
)(_create_token)  # fmt: skip
revoke_token = action(
    role="viewer", does="revoke an API token", audit="token.revoke", target="token {token_id}"
)(_revoke_token)


def authenticate(secret: str | None, needed: str) -> TokenInfo:
    """The active token ``secret`` names, its ``person`` its maker as they are now, when its scope and
    their role both cover ``needed``; else ``TokenRefused`` (401) or ``ScopeTooLow`` (403)."""
    return _authenticate(secret, needed, lambda stored: person_for_subject(stored.subject, stored))


def admit(secret: str | None, needed: str, address: str, failures: WindowLimit) -> TokenInfo:
    """:func:`authenticate` for one request from ``address``: refused while the address is over its
    limit of refused tokens (``TooManyFailures``, 429); each refusal counted and logged."""
    failures.check(address)
    try:
        return authenticate(secret, needed)
    except TokenRefused as error:
        count = failures.failed(address)
        log.warning(
            "token refused for %s (%d in the last %.0f s): %s", address, count, failures.window_s, error,
            extra={"client": address, "failures": count},
        )  # fmt: skip
        raise


__all__ = [
    "SCOPES",
    "NewToken",
    "TokenInfo",
    "WindowLimit",
    "admit",
    "authenticate",
    "create_token",
    "list_tokens",
    "revoke_token",
]
