"""``canvascraft audit``: the audit log (who changed what and when), newest first."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from canvascraft.cli.output import clean_errors, open_workspace
from canvascraft.cli.root import audit_app


@audit_app.command("list")
@clean_errors
def audit_list(
    action: Annotated[
        str | None,
        typer.Option("--action", help="One action (model.alias) or a group ending in a dot (model.)."),
    ] = None,
    who: Annotated[
        str | None, typer.Option("--who", help="Only this person's: a subject, or part of a name.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many records.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every change with who made it and when: registry, retrain decisions, alert settings, tokens,
    imports, launches."""
    from canvascraft.services.audit import list_audit

    open_workspace()
    entries = list_audit(action=action, who=who, limit=limit)
    if as_json:
        rows = [
            {"id": e.id, "at": e.at.isoformat(), "subject": e.subject, "name": e.name, "role": e.role,
             "action": e.action, "target": e.target, "detail": e.detail}
            for e in entries
        ]  # fmt: skip
        typer.echo(json.dumps(rows, indent=2))
        return
    if not entries:
        typer.echo("no changes recorded" + (f" for {action}" if action else "") + " yet")
        return
    typer.echo(f"{'when (UTC)':<19}  {'who':<20} {'action':<22} target")
    for e in entries:
        typer.echo(f"{e.at:%Y-%m-%d %H:%M:%S}  {e.name[:20]:<20} {e.action:<22} {e.target}")
