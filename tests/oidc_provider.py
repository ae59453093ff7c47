"""A real OpenID Connect provider on 127.0.0.1 (``oidc-provider-mock``: discovery, authorize, token,
userinfo, JWKS and end-session endpoints, signed ID tokens) for the sign-in tests, and the studio's
``[auth]`` secrets that point at it.

Its pages link a stylesheet from a CDN; the browser tests fail on any request that leaves the machine,
so the provider's base template is replaced by one without it (the forms are the package's own).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import jinja2
import werkzeug.serving

from tests.local_servers import HOST

BASE_TEMPLATE = (
    "<!doctype html><html lang=en><main>{% block content %}{{ content }}{% endblock %}</main></html>"
)
CLIENT_ID = "canvascraft-studio"


@contextmanager
def oidc_provider(users: Sequence[tuple[str, dict[str, object]]]) -> Iterator[str]:
    """The provider with these predefined users (subject, claims), on a free loopback port; yields its
    address (``/.well-known/openid-configuration`` beneath it)."""
    import oidc_provider_mock

    app = oidc_provider_mock.app(
        user_claims=[oidc_provider_mock.User(sub=sub, claims=claims) for sub, claims in users]
    )
    app.jinja_loader = jinja2.ChoiceLoader(
        [jinja2.DictLoader({"_base.html": BASE_TEMPLATE}), app.jinja_loader]
    )
    server = werkzeug.serving.make_server(HOST, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def auth_secrets(folder: Path, provider: str) -> Path:
    """A secrets.toml whose ``[auth]`` section signs in through ``provider``; the studio's port is
    filled in by Streamlit (``{port}``)."""
    path = folder / "secrets.toml"
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "http://{HOST}:{{port}}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
        f'client_id = "{CLIENT_ID}"\n'
        'client_secret = "any-secret-the-mock-accepts"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    return path
