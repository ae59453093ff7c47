"""Shared fixtures: every test gets its own workspace folder and real databases in it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from canvascraft.config import get_settings
from canvascraft.store.session import engine_for

POSTGRES_URL = os.environ.get("CANVASCRAFT_TEST_POSTGRES_URL")


def use_workspace(monkeypatch: pytest.MonkeyPatch, path: Path, database_url: str | None = None) -> None:
    monkeypatch.setenv("CANVASCRAFT_WORKSPACE", str(path))
    if database_url:
        monkeypatch.setenv("CANVASCRAFT_DATABASE_URL", database_url)
    else:
        monkeypatch.delenv("CANVASCRAFT_DATABASE_URL", raising=False)
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def no_background_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Page tests run app.py in this process; its scheduler must not tick other tests' pools.
    Tests drive ``tick()`` themselves; served studios (subprocesses) turn their scheduler back on."""
    monkeypatch.setenv("CANVASCRAFT_POOL_TICK_S", "0")
    monkeypatch.setenv("CANVASCRAFT_ALERT_RETRY_S", "0")
    monkeypatch.setenv("CANVASCRAFT_DRIFT_SCHEDULES", "0")


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty workspace (SQLite database not yet created) that the settings point at."""
    path = tmp_path / "workspace"
    use_workspace(monkeypatch, path)
    yield path
    get_settings.cache_clear()


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    """An empty folder to start a server in, so a stray file it writes there (``mlruns``) would show."""
    path = tmp_path / "cwd"
    path.mkdir()
    return path


def reset_postgres(url: str) -> None:
    """Drop everything in the test database, so each test starts from an empty schema."""
    with engine_for(url).begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The studio database on SQLite and, when CANVASCRAFT_TEST_POSTGRES_URL is set, on PostgreSQL."""
    if request.param == "sqlite":
        return get_settings().db_url
    if not POSTGRES_URL:
        pytest.skip("set CANVASCRAFT_TEST_POSTGRES_URL (make test does) to run on PostgreSQL")
    reset_postgres(POSTGRES_URL)
    use_workspace(monkeypatch, workspace, POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def sample_workspace_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with the three sample datasets imported, built once and copied per test."""
    from canvascraft.services.workspace import prepare

    path = tmp_path_factory.mktemp("template") / "workspace"
    with pytest.MonkeyPatch.context() as patch:
        use_workspace(patch, path)
        prepare()
        engine_for(get_settings().db_url).dispose()
    get_settings.cache_clear()
    return path


@pytest.fixture
def sample_workspace(sample_workspace_template: Path, workspace: Path) -> Path:
    """A private copy of the sample workspace, with the settings pointing at it."""
    shutil.copytree(sample_workspace_template, workspace)
    return workspace
