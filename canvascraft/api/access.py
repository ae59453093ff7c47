"""Who gets in: a request's bearer token, checked against the scope its endpoint needs."""

from __future__ import annotations

from typing import Any

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from canvascraft.services.tokens import TokenInfo, authenticate

_bearer = HTTPBearer(auto_error=False, description="A token from `canvascraft tokens create --scope …`.")


def require(scope: str) -> Any:
    """A dependency that lets a request in when its bearer token is active and covers ``scope``; else
    ``TokenRefused`` (401) or ``ScopeTooLow`` (403), each saying which token to create."""

    def check(credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> TokenInfo:  # noqa: B008
        return authenticate(credentials.credentials if credentials else None, scope)

    return Depends(check)


READ = require("read")
TRAIN = require("train")
ADMIN = require("admin")
