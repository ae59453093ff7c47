"""People who signed in through the studio's login: list them, set a role (the shell acts as the local
admin, as the embedded studio does: whoever runs it has the workspace's files anyway)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from canvascraft.cli.output import clean_errors, open_workspace
from canvascraft.cli.root import people_app

CLAIM = "claim"
"""What `set-role` takes for "no role of the studio's own: the provider's claim decides"."""


@people_app.command("list")
@clean_errors
def people_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Everyone who signed in, most recently seen first, with the role the studio gives them."""
    from canvascraft.services.people import list_people

    open_workspace()
    everyone = list_people()
    if as_json:
        rows = [
            {"subject": p.subject, "name": p.name, "email": p.email, "role": p.role,
             "claim_role": p.claim_role, "set_role": p.set_role, "first_seen": p.first_seen.isoformat(),
             "last_seen": p.last_seen.isoformat()}
            for p in everyone
        ]  # fmt: skip
        typer.echo(json.dumps(rows, indent=2))
        return
    if not everyone:
        typer.echo("nobody has signed in yet (people appear after their first sign-in)")
        return
    typer.echo(f"{'role':<7} {'from':<6} {'last seen':<17} {'subject':<24} name")
    for p in everyone:
        source = "admin" if p.set_role else "claim"
        typer.echo(f"{p.role:<7} {source:<6} {p.last_seen:%Y-%m-%d %H:%M} {p.subject:<24} {p.name}")


@people_app.command("set-role")
@clean_errors
def people_set_role(
    subject: Annotated[str, typer.Argument(help="The person's subject (`canvascraft people list`).")],
    role: Annotated[str, typer.Argument(help=f"viewer, artist, admin, or {CLAIM} (their groups decide).")],
) -> None:
    """Give a person a role that overrides what their groups give (from their next page on)."""
    from canvascraft.services.people import set_role

    open_workspace()
    saved = set_role(subject, None if role == CLAIM else role)
    source = "set here" if saved.set_role else "from their groups"
    typer.echo(f"{saved.name} ({saved.subject}) is {saved.role} ({source})")
