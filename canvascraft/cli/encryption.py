"""Encryption at rest: make a key; seal every stored file and checkpoint under the newest key."""

from __future__ import annotations

import typer

from canvascraft.cli.output import clean_errors, open_workspace
from canvascraft.cli.root import encryption_app


@encryption_app.command("new-key")
@clean_errors
def encryption_new_key() -> None:
    """Print a new key for CANVASCRAFT_ENCRYPTION_KEYS (keep it outside the workspace folder)."""
    from canvascraft.store.sealing import KEYS_SETTING, new_key

    typer.echo(new_key())
    typer.echo(
        f"put it first in {KEYS_SETTING} (comma separated, newest first) for every studio, job and CLI "
        "process, then run `canvascraft encryption apply`; without it the sealed files cannot be read",
        err=True,
    )


@encryption_app.command("apply")
@clean_errors
def encryption_apply() -> None:
    """Seal every stored file and checkpoint under the newest key: files written before a key was
    set are sealed, files sealed with an older key are re-sealed, so the old key can then be dropped."""
    from canvascraft.store.sealing import reseal_file, sealed_folders

    open_workspace()
    count = 0
    for path in sealed_folders():
        reseal_file(path)
        count += 1
    typer.echo(f"sealed {count} files under the newest key")
