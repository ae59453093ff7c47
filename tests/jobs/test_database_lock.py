"""A workspace database held locked past its busy timeout (a backup, a long write elsewhere) never ends a
running job, and a command that cannot write says so in one line."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from canvascraft.cli import app
from canvascraft.config import get_settings
from canvascraft.jobs import JobPool, JobState
from canvascraft.recipe.io import to_yaml
from canvascraft.recipe.starters import STARTER_RECIPES
from canvascraft.store.migrate import upgrade
from tests.jobs.helpers import finished, wait_for

BUSY_TIMEOUT_S = 0.3


@pytest.fixture
def url(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The workspace's SQLite database with a short busy timeout (here and in the job processes)."""
    monkeypatch.setenv("CANVASCRAFT_SQLITE_BUSY_TIMEOUT_S", str(BUSY_TIMEOUT_S))
    get_settings.cache_clear()
    url = get_settings().db_url
    upgrade(url)
    return url


@contextmanager
def locked(database: Path) -> Iterator[None]:
    """Another program holding the database's write lock (``BEGIN IMMEDIATE``) until the block ends."""
    holder = sqlite3.connect(database, timeout=30, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_running_job_outlives_a_lock_longer_than_the_busy_timeout(url: str, workspace: Path) -> None:
    pool = JobPool(url, max_concurrent=1)
    job_id = pool.submit("sleep", {"seconds": 4})
    wait_for(pool, job_id, lambda job: job.state == JobState.RUNNING and job.progress is not None)

    with locked(workspace / "canvascraft.db"):
        time.sleep(BUSY_TIMEOUT_S * 8)  # several progress writes give up meanwhile
        step_in_lock = pool.get_job(job_id).progress["step"]  # readers still read (WAL)

    job = wait_for(pool, job_id, finished, timeout=60)
    assert job.state == JobState.SUCCEEDED, job.error_tail
    log = Path(job.log_path or "").read_text()
    assert "the studio database is busy" in log and "the work goes on" in log
    assert job.progress and job.progress["step"] > step_in_lock  # writes resumed after the lock


def test_a_command_that_cannot_write_says_so_without_a_traceback(
    url: str, workspace: Path, tmp_path: Path
) -> None:
    recipe = tmp_path / "mine.yaml"
    starter = STARTER_RECIPES[0]
    recipe.write_text(to_yaml(starter).replace(f"name: {starter.name}", "name: mine", 1))
    with locked(workspace / "canvascraft.db"):
        result = CliRunner().invoke(app, ["recipe", "import", str(recipe)])
    assert result.exit_code == 1
    assert "error: the studio database could not be written (database is locked)" in result.output
    assert "run it again" in result.output and "Traceback" not in result.output
    assert CliRunner().invoke(app, ["recipe", "import", str(recipe)]).exit_code == 0  # and then it works


def test_a_bad_setting_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANVASCRAFT_SQLITE_BUSY_TIMEOUT_S", "-2")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["datasets", "list"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: bad setting: CANVASCRAFT_SQLITE_BUSY_TIMEOUT_S='-2': Input should be greater than 0 "
        "(fix or unset the variable)"
    ]
