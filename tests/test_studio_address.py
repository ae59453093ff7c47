"""Links the studio makes start with the address it is served on, unless CANVASCRAFT_STUDIO_URL says
otherwise: alert links were built on port 8501 while the studio ran on 8611, and all were dead."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from canvascraft.cli import app
from canvascraft.config import get_settings
from canvascraft.services.drift import CheckSummary, check_link
from canvascraft.services.workspace import serve_from_args, studio_link_base

RUN = "0123456789abcdef0123456789abcdef"
STUDIO_ARGS = ["run", "app.py", "--server.port=8611", "--server.headless=true"]


@pytest.fixture
def no_studio_url(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No explicit address; what ``serve_from_args`` sets is undone after the test."""
    monkeypatch.delenv("CANVASCRAFT_STUDIO_URL", raising=False)
    monkeypatch.setenv("CANVASCRAFT_SERVED_URL", "unset")
    monkeypatch.delenv("CANVASCRAFT_SERVED_URL")
    monkeypatch.delenv("STREAMLIT_SERVER_PORT", raising=False)
    monkeypatch.delenv("STREAMLIT_SERVER_ADDRESS", raising=False)
    get_settings.cache_clear()
    return workspace


def a_check() -> CheckSummary:
    return CheckSummary(
        id=7, model_name="inks", model_ref="inks@champion", model_version=1, run_id=RUN, current="folder",
        trigger="manual", state="done", created_at=datetime.now(UTC), finished_at=None, drifted=True,
        n_reference=100, n_current=100, sentences=[], error=None, job_id=None,
    )  # fmt: skip


def test_a_studio_started_on_8611_links_alerts_to_8611(no_studio_url: Path) -> None:
    assert check_link(a_check()).startswith("http://localhost:8501/")  # nothing started yet: the default
    assert serve_from_args(STUDIO_ARGS) == "http://localhost:8611"
    assert check_link(a_check()) == "http://localhost:8611/drift?model=inks&check=7"
    # The scheduler's job processes (drift checks, whose alerts carry the link) inherit the address.
    show = "from canvascraft.config import get_settings; print(get_settings().link_base)"
    child = subprocess.run(
        [sys.executable, "-c", show],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert child.stdout.strip() == "http://localhost:8611"
    # The browser's own address is what Copy link shows when no address is set explicitly.
    assert studio_link_base("http://box.lan:8611") == "http://box.lan:8611"


def test_canvascraft_link_in_another_shell_uses_the_address_the_studio_was_started_on(
    no_studio_url: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve_from_args(["run", "app.py", "--server.port", "8611", "--server.address", "0.0.0.0"])
    monkeypatch.delenv("CANVASCRAFT_SERVED_URL")  # a shell that did not start the studio
    get_settings.cache_clear()
    shown = CliRunner().invoke(app, ["link", "run", RUN])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.strip().startswith("http://localhost:8611/?share=")


def test_an_explicit_studio_url_wins_over_the_port(
    no_studio_url: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANVASCRAFT_STUDIO_URL", "https://studio.example.org/cc/")
    get_settings.cache_clear()
    assert serve_from_args(STUDIO_ARGS) == "https://studio.example.org/cc"
    assert check_link(a_check()) == "https://studio.example.org/cc/drift?model=inks&check=7"
    assert studio_link_base("http://localhost:8611") == "https://studio.example.org/cc"
