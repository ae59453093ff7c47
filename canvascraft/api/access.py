"""Who gets in: a request's bearer token, checked against the scope its endpoint needs; the request
then acts as the person who made the token, so the services' guards check their role and the audit
log names them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from canvascraft.services.people import acting_as
from canvascraft.services.tokens import TokenInfo, WindowLimit, admit

_bearer = HTTPBearer(auto_error=False, description="A token from `canvascraft tokens create --scope …`.")


def failure_limit(request: Request) -> WindowLimit:
    """The API app's count of refused tokens per client address (one per app, made by ``create_api``)."""
    limit = getattr(request.app.state, "token_failures", None)
    if limit is None:
        limit = request.app.state.token_failures = WindowLimit()
    return limit


def require(scope: str) -> Any:
    """A dependency that lets a request in when its bearer token is active and covers ``scope``, and
    runs the rest of the request as the token's maker; else ``TokenRefused`` (401), ``ScopeTooLow``
    (403) or, after too many refusals from one address, ``TooManyFailures`` (429)."""

    async def check(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
    ) -> AsyncIterator[TokenInfo]:
        address = request.client.host if request.client else "unknown"
        secret = credentials.credentials if credentials else None
        info = await run_in_threadpool(admit, secret, scope, address, failure_limit(request))
        # Set here, in the request's own context: the handler's worker thread starts from a copy of it.
        with acting_as(info.person):
            yield info

    return Depends(check)


READ = require("read")
TRAIN = require("train")
ADMIN = require("admin")
