"""The studio's one ASGI server: Streamlit's pages (``st.App`` over ``app.py``), the HTTP API at
``/api`` and any other ASGI routes, on one port, served by uvicorn.

``components.launcher`` builds it with :func:`build_app` and hands it to Streamlit's own uvicorn
runner, so Streamlit's config (``.streamlit/config.toml``, ``--server.*`` flags) applies as before.
The background scheduler starts in the server's lifespan: once per server, before the first request.

It lives beside the launcher, with the UI: it imports Streamlit. It is the one module of the UI that
may mount ``canvascraft.api`` and the request metrics of ``canvascraft.observability`` (an
``ignore_imports`` line of the UI contract names it); the API it mounts reaches the studio only through
``canvascraft.services`` (import-linter checks both).
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import streamlit as st
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route

from canvascraft.api import API_PREFIX, create_api
from canvascraft.observability.logs import configure_logging
from canvascraft.observability.metrics import RequestMetrics, metrics_app
from canvascraft.services.people import WindowLimit, login_setup, sign_in_limiter

APP_FILE = Path(__file__).resolve().parents[1] / "app.py"
"""The Streamlit entrypoint (router and frame of every page)."""


def extra_routes() -> list[BaseRoute]:
    """Every ASGI route served beside the pages: the one place to mount another (``/metrics``…).
    Streamlit refuses a route under its own prefixes (``/_stcore/``, ``/media/``, ``/static/``…).
    ``/metrics`` is a ``Route``, not a ``Mount``, which would answer only ``/metrics/``."""
    return [Mount(API_PREFIX, app=create_api()), Route("/metrics", metrics_app())]


def extra_middleware() -> list[Middleware]:
    """Middleware that wraps every request, pages and API alike (it runs before Streamlit's own):
    Prometheus's request counts by route template and status, and the sign-in guard."""
    return [Middleware(RequestMetrics), Middleware(SignInGuard)]


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOGIN_PATH = "/auth/login"
CALLBACK_PATH = "/oauth2callback"
USER_COOKIE = b"_streamlit_user="
log = logging.getLogger("canvascraft.auth")


class SignInGuard:
    """Streamlit's sign-in routes, guarded: ``/auth/login`` answers 429 to an address past
    ``CANVASCRAFT_SIGNIN_ATTEMPTS`` per window (a failed sign-in counts too); a callback that comes back
    without an identity cookie (the provider refused, a stale or forged state, a code it would not
    exchange) is logged with the address and the provider's error; with an https ``redirect_uri`` every
    cookie the studio sets is marked ``Secure`` (Streamlit leaves that flag off)."""

    def __init__(self, app: ASGIApp, limiter: WindowLimit | None = None) -> None:
        self.app = app
        self.limiter = limiter or sign_in_limiter()
        self._secure: bool | None = None

    @property
    def secure(self) -> bool:
        if self._secure is None:  # Streamlit's secrets are read once the server runs
            from streamlit.runtime.secrets import secrets_singleton

            section = secrets_singleton.get("auth") if secrets_singleton.load_if_toml_exists() else None
            self._secure = login_setup(section).secure
        return self._secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].rstrip("/")
        address = (scope.get("client") or ("unknown",))[0]
        if path.endswith(LOGIN_PATH):
            wait = self.limiter.attempt(address)
            if wait is not None:
                log.warning("sign-in refused for %s: too many attempts (try again in %d s)", address, wait)
                await _too_many(send, wait)
                return
            log.info("sign-in started from %s", address)
        callback = path.endswith(CALLBACK_PATH)
        secure = self.secure

        async def guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if callback:
                    self._callback_ended(scope, address, headers)
                if secure:
                    headers = [_secure_cookie(name, value) for name, value in headers]
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, guarded)

    def _callback_ended(self, scope: Scope, address: str, headers: list[tuple[bytes, bytes]]) -> None:
        query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if "code" not in query and "error" not in query:
            return  # the provider sending the browser back after signing out, not a sign-in
        cookies = [value for name, value in headers if name.lower() == b"set-cookie"]
        if any(c.startswith(USER_COOKIE) and not c.startswith(USER_COOKIE + b'""') for c in cookies):
            log.info("sign-in completed from %s", address)
            return
        reason = query.get("error", ["no identity came back (a stale, replayed or forged callback, or a code "
                                     "the provider would not exchange)"])[0]  # fmt: skip
        log.warning("sign-in failed from %s: %s", address, reason.replace("\n", " ")[:200])
        self.limiter.failed(address)


def _secure_cookie(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    if name.lower() == b"set-cookie" and b"secure" not in value.lower():
        return name, value + b"; Secure"
    return name, value


async def _too_many(send: Send, wait: int) -> None:
    body = f"Too many sign-in attempts from this address. Try again in {wait} seconds.\n".encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"%d" % len(body)),
               (b"retry-after", b"%d" % wait)]  # fmt: skip
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Start the studio's background scheduler with the server (so queued jobs start and scheduled
    drift checks run before, and without, any browser session), and stop it with the server. The
    server's log lines go out as JSON with their correlation ids from here on."""
    from canvascraft.services.workspace import start_background

    configure_logging("server")
    scheduler = start_background()
    try:
        yield None
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)


def build_app(script: Path = APP_FILE) -> st.App:
    """The studio as one ASGI app: the pages of ``script``, :func:`extra_routes` and the lifespan."""
    return st.App(script, routes=extra_routes(), middleware=extra_middleware(), lifespan=lifespan)
