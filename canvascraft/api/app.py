"""The FastAPI application and its errors as JSON (who gets in is ``access.py``).

Every error answers ``{"error": "<the message the CLI prints>"}`` with a status that says what kind
of problem it is: 400 bad input, 401 no usable token, 403 scope too low, 404 an unknown id or name
(:class:`~canvascraft.errors.NotFound`), 409 a state that refuses the action
(:class:`~canvascraft.errors.Conflict`), 413 an upload over the studio's limit, 429 too many refused
tokens from one address (with ``Retry-After``), 503 a busy or full database (nothing was written).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from canvascraft.api.routes import router
from canvascraft.errors import (
    CanvasCraftError,
    Conflict,
    NotFound,
    NothingImportedError,
    RecipeError,
    RoleTooLow,
    ScopeTooLow,
    StoreError,
    TokenRefused,
    TooManyFailures,
    UploadTooLarge,
)
from canvascraft.services.tokens import WindowLimit

API_PREFIX = "/api"
"""Where the server mounts this app; its own paths start at ``/v1`` and its docs at ``/docs``."""
VERSION = "v1"
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
"""Swagger UI's script, style and icon, served by the studio itself: the docs page sends no request to
any other address (FastAPI's default page loads them from a CDN)."""
UNION_TAGS = frozenset({"train", "study"})
"""The tags of bodies that are one of several shapes (a launch); left out of error locations."""


def status_of(error: CanvasCraftError) -> int:
    if isinstance(error, TokenRefused):
        return 401
    if isinstance(error, TooManyFailures):
        return 429
    if isinstance(error, ScopeTooLow | RoleTooLow):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict):
        return 409
    if isinstance(error, UploadTooLarge):
        return 413
    if isinstance(error, StoreError):  # the database was busy or full: nothing was written, try again
        return 503
    return 400


def _error_body(error: CanvasCraftError) -> dict[str, Any]:
    body: dict[str, Any] = {"error": str(error)}
    if isinstance(error, RecipeError) and len(error.errors) > 1:
        body["errors"] = error.errors
    if isinstance(error, NothingImportedError):
        body["skipped"] = [{"name": s.name, "reason": s.reason} for s in error.skipped]
    return body


async def _studio_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, CanvasCraftError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, TokenRefused) else None
    if isinstance(error, TooManyFailures):
        headers = {"Retry-After": str(error.retry_after)}
    return JSONResponse(_error_body(error), status_code=status_of(error), headers=headers)


async def _bad_request(request: Request, error: Exception) -> JSONResponse:
    """FastAPI's 422 for a body or parameter of the wrong shape, as a 400 with one plain line."""
    assert isinstance(error, RequestValidationError)
    problems = []
    for item in error.errors():
        loc = [str(part) for part in item.get("loc", ())]
        if loc[:1] == ["body"]:  # the body itself, and the union member it was read as (``train``)
            loc = loc[2:] if len(loc) > 1 and loc[1] in UNION_TAGS else loc[1:]
        where = ".".join(loc)
        problems.append(f"{where}: {item.get('msg', 'invalid')}" if where else str(item.get("msg")))
    return JSONResponse({"error": "; ".join(problems) or "the request is not valid"}, status_code=400)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    """Starlette's own errors (no such path, method not allowed) in the same ``{"error": …}`` shape."""
    assert isinstance(error, StarletteHTTPException)
    message = {404: f"no API path {request.url.path}; see /api/docs"}.get(
        error.status_code, str(error.detail)
    )
    return JSONResponse({"error": message}, status_code=error.status_code, headers=error.headers)


def create_api() -> FastAPI:
    """The API as an ASGI app, to mount at :data:`API_PREFIX` (the studio server does)."""
    api = FastAPI(
        title="CanvasCraft ML Studio API",
        version=VERSION,
        summary="The studio's datasets, recipes, jobs, runs, models, predictions, drift and alerts.",
        description=(
            "Send a token as `Authorization: Bearer TOKEN`; make one with "
            "`canvascraft tokens create --scope read|train|admin`. read: GET requests; train: also "
            "launching, cancelling, resuming, importing and predicting; admin: also the model "
            "registry, alert settings and tokens. A request acts as the token's maker, and a token never "
            "allows more than their role (viewer: read, artist: train, admin: admin)."
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    api.state.token_failures = WindowLimit()
    api.mount("/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    @api.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        here = request.scope.get("root_path", "")  # where the server mounted the API
        return get_swagger_ui_html(
            openapi_url=f"{here}/openapi.json", title=f"{api.title} · docs",
            swagger_js_url=f"{here}/docs-assets/swagger-ui-bundle.js",
            swagger_css_url=f"{here}/docs-assets/swagger-ui.css",
            swagger_favicon_url=f"{here}/docs-assets/favicon.png",
        )  # fmt: skip

    api.add_exception_handler(CanvasCraftError, _studio_error)
    api.add_exception_handler(RequestValidationError, _bad_request)
    api.add_exception_handler(StarletteHTTPException, _http_error)
    api.include_router(router, prefix=f"/{VERSION}")
    return api
