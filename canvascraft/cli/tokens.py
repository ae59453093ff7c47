"""Bearer tokens for the HTTP API: create (the secret is printed once), list, revoke."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from canvascraft.cli.output import clean_errors, open_workspace
from canvascraft.cli.root import tokens_app


@tokens_app.command("create")
@clean_errors
def tokens_create(
    scope: Annotated[
        str,
        typer.Option("--scope", help="read (GET), train (plus launch, cancel, import, predict) or admin."),
    ] = "read",
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="How long it lives: 30d, 12h, 90m (default: until revoked)."),
    ] = None,
    name: Annotated[str, typer.Option("--name", help="What it is for, shown by `tokens list`.")] = "",
) -> None:
    """Make a token and print it once (only its hash is kept: copy it now)."""
    from canvascraft.services.tokens import create_token

    open_workspace()
    made = create_token(scope, expires, name)
    until = f"until {made.info.expires_at:%Y-%m-%d %H:%M} UTC" if made.info.expires_at else "until revoked"
    typer.echo(made.secret)
    typer.echo(
        f"token {made.info.id} ({made.info.scope}, {until}): shown once; send it as "
        "`Authorization: Bearer TOKEN`",
        err=True,
    )


@tokens_app.command("list")
@clean_errors
def tokens_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every token with its scope and state (never the secret)."""
    from canvascraft.services.tokens import list_tokens

    open_workspace()
    tokens = list_tokens()
    if as_json:
        rows = [
            {"id": t.id, "name": t.name, "scope": t.scope, "state": t.state,
             "created_at": t.created_at.isoformat(),
             "expires_at": t.expires_at and t.expires_at.isoformat(),
             "last_used_at": t.last_used_at and t.last_used_at.isoformat()}
            for t in tokens
        ]  # fmt: skip
        typer.echo(json.dumps(rows, indent=2))
        return
    if not tokens:
        typer.echo("no tokens yet: `canvascraft tokens create --scope read`")
        return
    typer.echo(f"{'id':>4}  {'scope':<6} {'state':<8} {'expires':<17} {'last used':<17} name")
    for t in tokens:
        expires = f"{t.expires_at:%Y-%m-%d %H:%M}" if t.expires_at else "never"
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "-"
        typer.echo(f"{t.id:>4}  {t.scope:<6} {t.state:<8} {expires:<17} {used:<17} {t.name}")


@tokens_app.command("revoke")
@clean_errors
def tokens_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (`canvascraft tokens list`).")],
) -> None:
    """Cut a token off for good: requests with it get 401 from now on."""
    from canvascraft.services.tokens import revoke_token

    open_workspace()
    info = revoke_token(token_id)
    typer.echo(f"token {info.id} revoked")
