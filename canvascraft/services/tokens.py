"""API tokens for the CLI (``canvascraft tokens``) and the API's own door check (``authenticate``)."""

from canvascraft.tokens import (
    SCOPES,
    NewToken,
    TokenInfo,
    authenticate,
    create_token,
    list_tokens,
    revoke_token,
)

__all__ = ["SCOPES", "NewToken", "TokenInfo", "authenticate", "create_token", "list_tokens", "revoke_token"]
