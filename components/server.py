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

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import streamlit as st
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route

from canvascraft.api import API_PREFIX, create_api
from canvascraft.observability.logs import configure_logging
from canvascraft.observability.metrics import RequestMetrics, metrics_app

APP_FILE = Path(__file__).resolve().parents[1] / "app.py"
"""The Streamlit entrypoint (router and frame of every page)."""


def extra_routes() -> list[BaseRoute]:
    """Every ASGI route served beside the pages: the one place to mount another (``/metrics``…).
    Streamlit refuses a route under its own prefixes (``/_stcore/``, ``/media/``, ``/static/``…).
    ``/metrics`` is a ``Route``, not a ``Mount``, which would answer only ``/metrics/``."""
    return [Mount(API_PREFIX, app=create_api()), Route("/metrics", metrics_app())]


def extra_middleware() -> list[Middleware]:
    """Middleware that wraps every request, pages and API alike (it runs before Streamlit's own):
    Prometheus's request counts by route template and status."""
    return [Middleware(RequestMetrics)]


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
