"""Signed share links: make one to a run, a comparison, a model, a Try result or a drift check; list,
revoke, and rotate the signing key."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from canvascraft.cli.output import clean_errors, open_workspace
from canvascraft.cli.root import link_app

Expires = Annotated[
    str | None,
    typer.Option(
        "--expires", help="How long the link opens: 7d, 12h, 90m (default: CANVASCRAFT_LINK_EXPIRES, 30d)."
    ),
]


def _make(params: dict[str, str], drift: bool = False, expires: str | None = None) -> None:
    """Check the view's values as a link from a page would be, sign it, print the address (stdout)
    and what it is (stderr), so ``url=$(canvascraft link run ID)`` holds only the address."""
    from canvascraft.errors import ShareLinkError
    from canvascraft.services.links import create_link
    from canvascraft.share.links import parse, parse_drift

    state = parse_drift(params) if drift else parse(params)
    if state.problems:
        raise ShareLinkError("; ".join(state.problems))
    open_workspace()
    made, url = create_link(state, expires)
    typer.echo(url)
    typer.echo(
        f"share link {made.info.id}: {made.info.what}, read only, for anyone who has it, until "
        f"{made.info.expires_at:%Y-%m-%d %H:%M} UTC; stop it with `canvascraft link revoke {made.info.id}`",
        err=True,
    )


@link_app.command("run")
@clean_errors
def link_run(run_id: Annotated[str, typer.Argument(help="MLflow run id.")], expires: Expires = None) -> None:
    """A link that opens one run."""
    from canvascraft.gallery.runs import check_run_id

    _make({"view": "run", "run": check_run_id(run_id)}, expires=expires)


@link_app.command("compare")
@clean_errors
def link_compare(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more MLflow run ids.")], expires: Expires = None
) -> None:
    """A link that opens a comparison of runs."""
    from canvascraft.errors import GalleryError
    from canvascraft.gallery.runs import check_run_id

    if len(run_ids) < 2:
        raise GalleryError("a comparison needs at least two run ids")
    _make({"view": "compare", "runs": ",".join(check_run_id(r) for r in run_ids)}, expires=expires)


@link_app.command("model")
@clean_errors
def link_model(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    version: Annotated[str | None, typer.Option(help="A version number or an alias.")] = None,
    expires: Expires = None,
) -> None:
    """A link that opens a registered model's page (its versions and model card)."""
    _make({"view": "models", "model": name, "version": version or ""}, expires=expires)


@link_app.command("try")
@clean_errors
def link_try(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    version: Annotated[str, typer.Option(help="A version number or an alias.")] = "champion",
    item: Annotated[str | None, typer.Option(help="A stored item's sha256 to show the guesses for.")] = None,
    expires: Expires = None,
) -> None:
    """A link that opens a Try result: a model version's guesses for one sample item."""
    _make({"view": "try", "model": name, "version": version, "item": item or ""}, expires=expires)


@link_app.command("check")
@clean_errors
def link_check(
    check_id: Annotated[int, typer.Argument(help="A drift check's id (`canvascraft drift checks MODEL`).")],
    expires: Expires = None,
) -> None:
    """A link that opens one drift check and its report."""
    _make({"check": str(check_id)}, drift=True, expires=expires)


@link_app.command("list")
@clean_errors
def link_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every share link with what it opens, who made it, and whether it still opens."""
    from canvascraft.services.links import list_links

    open_workspace()
    found = list_links()
    if as_json:
        rows: list[dict[str, Any]] = [
            {"id": s.id, "view": s.view, "opens": s.what, "params": s.params, "state": s.state,
             "created_by": s.created_by_name, "created_by_subject": s.created_by_subject,
             "created_at": s.created_at.isoformat(), "expires_at": s.expires_at.isoformat(),
             "revoked_at": s.revoked_at and s.revoked_at.isoformat()}
            for s in found
        ]  # fmt: skip
        typer.echo(json.dumps(rows, indent=2))
        return
    if not found:
        typer.echo("no share links yet: `canvascraft link run RUN_ID` makes one")
        return
    typer.echo(f"{'id':>4}  {'state':<8} {'expires':<17} {'made by':<20} opens")
    for s in found:
        typer.echo(
            f"{s.id:>4}  {s.state:<8} {s.expires_at:%Y-%m-%d %H:%M}  {s.created_by_name[:20]:<20} {s.what}"
        )


@link_app.command("revoke")
@clean_errors
def link_revoke(
    link_id: Annotated[int, typer.Argument(help="The link's id (`canvascraft link list`).")],
) -> None:
    """Stop a link for good: opening it shows "This link is not valid" from now on."""
    from canvascraft.services.links import revoke_link

    open_workspace()
    info = revoke_link(link_id)
    typer.echo(f"share link {info.id} revoked ({info.what})")


@link_app.command("rotate-key")
@clean_errors
def link_rotate_key() -> None:
    """Sign new links with a new key; links signed with the old keys keep opening until they are dropped."""
    from canvascraft.services.links import rotate_key

    open_workspace()
    count = rotate_key()
    typer.echo(
        f"new key made: it signs new links, and {count} keys verify; once the older links may stop, "
        "`canvascraft link drop-old-keys`"
    )


@link_app.command("drop-old-keys")
@clean_errors
def link_drop_old_keys() -> None:
    """Keep only the newest key: every link signed with an older one stops opening."""
    from canvascraft.services.links import drop_old_keys

    open_workspace()
    dropped = drop_old_keys()
    typer.echo(f"{dropped} old key(s) dropped: links signed with them no longer open")
