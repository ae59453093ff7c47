"""Set up a workspace and serve the studio."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from canvascraft.cli.output import (
    clean_errors,
)
from canvascraft.cli.root import app
from canvascraft.config import get_settings
from canvascraft.errors import ConfigError

if TYPE_CHECKING:
    pass

APP_FILE = Path(__file__).resolve().parents[2] / "app.py"


@app.command("init")
@clean_errors
def init(
    sample_runs: Annotated[
        bool,
        typer.Option(help="On a workspace without jobs, queue one short training run per sample dataset."),
    ] = True,
) -> None:
    """Prepare the workspace: migrations, the sample data when it holds no dataset yet, sample runs."""
    from canvascraft.services.workspace import prepare, queue_sample_runs

    reports = prepare()
    for report in reports:
        typer.echo(f"imported {report.dataset} v{report.version}: {report.item_count} items")
    if sample_runs and (queued := queue_sample_runs()):
        typer.echo(
            f"queued sample training jobs {', '.join(map(str, queued))}: the studio runs them one by one"
        )
    typer.echo(f"workspace ready: {get_settings().workspace}")


@app.command("studio")
@clean_errors
def studio(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    headless: Annotated[bool, typer.Option(help="Do not open a browser.")] = True,
    address: Annotated[
        str | None,
        typer.Option(
            help="Interface to bind (default: localhost, no login). Any other address, such as 0.0.0.0, "
            "needs a login configured: see README, Logins and roles."
        ),
    ] = None,
    secrets: Annotated[
        Path | None,
        typer.Option(help="A secrets.toml holding the [auth] section (default: .streamlit/secrets.toml)."),
    ] = None,
) -> None:
    """Start the studio at http://localhost:PORT: the pages, the HTTP API (/api/v1, docs at /api/docs),
    Prometheus metrics (/metrics) and the background scheduler, one server on one port."""
    from canvascraft.observability.logs import log_file
    from canvascraft.services.workspace import prepare

    if secrets is not None and not secrets.is_file():
        raise ConfigError(f"--secrets {secrets}: no such file; give the path of a secrets.toml")
    prepare()
    settings = get_settings()
    command = [
        sys.executable, "-m", "components.launcher", "run", str(APP_FILE),
        f"--server.port={port}", f"--server.headless={str(headless).lower()}",
        f"--server.maxUploadSize={settings.max_upload_mb}",
    ]  # fmt: skip
    if address is not None:
        command.append(f"--server.address={address}")
    if secrets is not None:
        command.append(f"--secrets.files={secrets.resolve()}")
    env = {**os.environ, "CANVASCRAFT_WORKSPACE": str(settings.workspace)}
    typer.echo(
        f"serving the studio on port {port}: pages at /, API docs at /api/docs, metrics at /metrics; "
        f"JSON logs in {log_file()}"
    )
    raise typer.Exit(subprocess.call(command, cwd=APP_FILE.parent, env=env))


# --- Models: the registry, predictions and serving (canvascraft.gallery) ------------------------------
