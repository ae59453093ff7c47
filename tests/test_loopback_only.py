"""Servers with no login of their own (MLflow's UI, optuna-dashboard, MLflow's model server, the
generator server) bind to 127.0.0.1 only: another address is refused before anything starts, with the
studio's API named as the way in from other machines."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from canvascraft.cli import app
from canvascraft.errors import ConfigError
from canvascraft.gallery.generator_server import serve_generator
from canvascraft.gallery.serve import serve_command
from canvascraft.tuning.dashboard import dashboard_command

COMMANDS = (
    ["serve", "anything@champion", "--host", "0.0.0.0"],
    ["studies", "dashboard", "--host", "0.0.0.0"],
    ["mlflow-ui", "--host", "192.168.1.20"],
)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_the_cli_refuses_to_serve_beyond_this_machine(workspace: Path, command: list[str]) -> None:
    refused = CliRunner().invoke(app, command)
    assert refused.exit_code == 1
    assert "serves on 127.0.0.1 only" in refused.output and "no login of its own" in refused.output
    assert "the studio's HTTP API (/api/v1" in refused.output
    assert "Traceback" not in refused.output
    assert not (workspace / "optuna.db").exists()  # refused before anything was created


def test_the_servers_themselves_refuse_another_host(workspace: Path) -> None:
    for start in (
        lambda: serve_command("anything@champion", "0.0.0.0"),
        lambda: dashboard_command("::"),
        lambda: serve_generator("anything@champion", "10.0.0.5", 5001),
    ):
        with pytest.raises(ConfigError, match=r"127\.0\.0\.1 only"):
            start()
    for host in ("127.0.0.1", "localhost", "::1"):
        assert dashboard_command(host, 8080)[-3] == host
