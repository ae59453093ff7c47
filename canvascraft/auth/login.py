"""Signing in with OpenID Connect: whether the studio needs a login, whether it is configured, and
which role a signed-in person's claims give.

The login itself is Streamlit's (``st.login`` and its ``/auth/login`` and ``/oauth2callback`` routes,
Authlib underneath), configured by the ``[auth]`` section of Streamlit's secrets. This module reads that
section as a plain mapping and never imports Streamlit: the launcher and the page frame hand it over.

- Bound to this machine (``localhost``, ``127.0.0.1``, ``::1``) the studio needs no login: everyone is
  :data:`~canvascraft.auth.identity.LOCAL`. Bound to any other address it refuses to start unless
  ``[auth]`` is complete (:func:`check_binding`), and says how to configure it (:data:`HOW_TO`).
- A signed-in person's role: the values of their ``CANVASCRAFT_ROLE_CLAIM`` claim (default
  ``groups``) through ``CANVASCRAFT_ROLE_MAP`` (``studio-admins=admin,artists=artist``; the highest
  wins), else ``CANVASCRAFT_DEFAULT_ROLE``; a role an admin set in the studio overrides it
  (:mod:`canvascraft.auth.people`).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from canvascraft.auth.identity import role_rank
from canvascraft.config import Settings, get_settings, is_loopback, parse_role_map
from canvascraft.errors import ConfigError

AUTH_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")
"""What the ``[auth]`` section must hold for ``st.login()`` (the default provider)."""
CALLBACK_PATH = "/oauth2callback"
"""Streamlit's callback route: ``redirect_uri`` is the studio's address with this path."""
MIN_COOKIE_SECRET = 32
"""Characters a ``cookie_secret`` needs at least (it signs the identity cookie)."""

HOW_TO = """\
Configure sign-in with OpenID Connect: register the studio with your identity provider (Keycloak, \
Google, Microsoft Entra ID, Okta, Authentik…) with the redirect URI https://YOUR-STUDIO/oauth2callback, \
then put this in .streamlit/secrets.toml beside app.py (or in a file passed as \
`--secrets.files=PATH`, `canvascraft studio --secrets PATH`):

[auth]
redirect_uri = "https://YOUR-STUDIO/oauth2callback"
cookie_secret = "A-LONG-RANDOM-STRING"   # python -c "import secrets; print(secrets.token_urlsafe(32))"
client_id = "FROM-YOUR-PROVIDER"
client_secret = "FROM-YOUR-PROVIDER"
server_metadata_url = "https://YOUR-PROVIDER/.well-known/openid-configuration"

Roles come from the provider's `groups` claim mapped by CANVASCRAFT_ROLE_MAP \
(e.g. "studio-admins=admin,artists=artist"); see "Logins and roles" in README.md."""


@dataclass(frozen=True)
class LoginSetup:
    """What the ``[auth]`` section says: ``configured`` when it is there (and complete)."""

    configured: bool
    redirect_uri: str | None = None

    @property
    def secure(self) -> bool:
        """The redirect URI is https: cookies can be marked ``Secure``."""
        return (self.redirect_uri or "").startswith("https://")


def login_setup(section: Mapping[str, Any] | None) -> LoginSetup:
    """The ``[auth]`` section checked: absent or empty means no login; present but incomplete or
    unusable is a ``ConfigError`` naming each problem (``st.login`` would fail on it at the first
    visit, with a message only the server log shows)."""
    if not section:
        return LoginSetup(configured=False)
    problems = [f"{key} is missing" for key in AUTH_KEYS if not str(section.get(key) or "").strip()]
    redirect_uri = str(section.get("redirect_uri") or "").strip()
    if redirect_uri:
        parsed = urllib.parse.urlsplit(redirect_uri)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            problems.append(f"redirect_uri {redirect_uri!r} is not an absolute http(s) address")
        elif not parsed.path.endswith(CALLBACK_PATH):
            problems.append(f"redirect_uri {redirect_uri!r} must end with {CALLBACK_PATH}")
    metadata = str(section.get("server_metadata_url") or "").strip()
    if metadata and not metadata.startswith(("http://", "https://")):
        problems.append(f"server_metadata_url {metadata!r} is not an absolute http(s) address")
    secret = str(section.get("cookie_secret") or "")
    if secret and len(secret) < MIN_COOKIE_SECRET:
        problems.append(
            f"cookie_secret has {len(secret)} characters; use at least {MIN_COOKIE_SECRET} random ones"
        )
    if problems:
        raise ConfigError(
            f"the [auth] section of the studio's secrets cannot be used: {'; '.join(problems)}.\n\n{HOW_TO}"
        )
    return LoginSetup(configured=True, redirect_uri=redirect_uri)


def check_binding(address: str | None, section: Mapping[str, Any] | None) -> list[str]:
    """Whether the studio may start bound to ``address`` with this ``[auth]`` section: a
    ``ConfigError`` saying how to configure a login when it is bound beyond this machine without one;
    else the warnings to print at start (an http redirect URI outside localhost)."""
    setup = login_setup(section)
    # No address at all: Streamlit then listens on every interface.
    host = (address or "").strip() or "every interface"
    if not setup.configured:
        if is_loopback(host):
            return []
        raise ConfigError(
            f"the studio is bound to {host}, beyond this machine, and no sign-in is configured: anyone "
            "who reached its port could do everything (import, train, move aliases, delete). Serve it on "
            "localhost (leave out --address), or configure a login.\n\n" + HOW_TO
        )
    warnings = []
    redirect_host = urllib.parse.urlsplit(setup.redirect_uri or "").hostname
    if not setup.secure and not is_loopback(redirect_host):
        warnings.append(
            f"the sign-in redirect_uri {setup.redirect_uri} is http: outside localhost the sign-in code "
            "and the identity cookie would cross the network in clear text. Serve the studio behind "
            "https (a reverse proxy) and set redirect_uri to https://…/oauth2callback"
        )
    return warnings


def claim_values(claims: Mapping[str, Any], claim: str) -> list[str]:
    """The values of ``claim``: a list as it is, a string split on spaces and commas (providers send
    groups as a list, some roles as one string)."""
    value = claims.get(claim)
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in value.replace(",", " ").split() if part]
    if isinstance(value, list | tuple | set):
        return [str(part) for part in value]
    return [str(value)]


def claimed_role(claims: Mapping[str, Any], settings: Settings | None = None) -> str:
    """The role the identity provider's claims give: the highest that a value of the role claim maps
    to, else the default role."""
    settings = settings or get_settings()
    mapping = parse_role_map(settings.role_map)
    roles = [mapping[value] for value in claim_values(claims, settings.role_claim) if value in mapping]
    return max(roles, key=role_rank) if roles else settings.default_role
