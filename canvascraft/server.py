"""The studio's one ASGI server: Streamlit's pages (``st.App`` over ``app.py``), the HTTP API at
``/api`` and any other ASGI routes, on one port, served by uvicorn.

``components.launcher`` builds it with :func:`build_app` and hands it to Streamlit's own uvicorn
runner, so Streamlit's config (``.streamlit/config.toml``, ``--server.*`` flags) applies as before.
The background scheduler starts in the server's lifespan: once per server, before the first request.

This module imports Streamlit, so it is no part of the core; the API it mounts reaches the studio only
through ``canvascraft.services`` (import-linter checks both).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import streamlit as st
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount

from canvascraft.api import API_PREFIX, create_api

APP_FILE = Path(__file__).resolve().parents[1] / "app.py"
"""The Streamlit entrypoint (router and frame of every page)."""


def extra_routes() -> list[BaseRoute]:
    """Every ASGI route served beside the pages: the one place to mount another (``/metrics``…).
    Streamlit refuses a route under its own prefixes (``/_stcore/``, ``/media/``, ``/static/``…)."""
    return [Mount(API_PREFIX, app=create_api())]


def extra_middleware() -> list[Middleware]:
    """Middleware that wraps every request, pages and API alike (it runs before Streamlit's own)."""
    return []


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Start the studio's background scheduler with the server (so queued jobs start and scheduled
    drift checks run before, and without, any browser session), and stop it with the server."""
    from canvascraft.services.workspace import start_background

    scheduler = start_background()
    try:
        yield None
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)


def build_app(script: Path = APP_FILE) -> st.App:
    """The studio as one ASGI app: the pages of ``script``, :func:`extra_routes` and the lifespan."""
    return st.App(script, routes=extra_routes(), middleware=extra_middleware(), lifespan=lifespan)
