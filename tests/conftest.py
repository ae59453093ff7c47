"""Shared fixtures: every test gets its own workspace folder and real databases in it."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from canvascraft.config import get_settings
from canvascraft.jobs import warm
from canvascraft.scheduler.background import warm_up_jobs
from canvascraft.store.session import engine_for


def worker_database(url: str | None) -> str | None:
    """The PostgreSQL test database of this test process: with parallel workers (pytest-xdist) each
    gets its own (``canvascraft_test_gw0``…), created on first use, since tests reset the schema."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            known = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if known.scalar() is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


POSTGRES_URL = worker_database(os.environ.get("CANVASCRAFT_TEST_POSTGRES_URL"))


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


TINY_RUNS: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "table": ("sample-table", "table-starter", "table-mlp", {"epochs": 2}),
    "image": ("sample-images", "image-starter", "image-cnn",
              {"epochs": 1, "max_items": 30, "hyper": {"batch_size": 8, "width": 8}}),
    "audio": ("sample-audio", "audio-starter", "audio-cnn",
              {"epochs": 1, "max_items": 30, "hyper": {"batch_size": 8, "width": 8}}),
    "median": ("sample-table", "table-median", "table-mlp", {"epochs": 2}),
}  # fmt: skip
"""The tiny real runs tests share: one per sample dataset, and a table run on a median-imputing copy of
``table-starter`` (so two runs differ in one recipe setting)."""


@dataclass(frozen=True)
class TrainedTemplate:
    """A workspace holding the finished ``TINY_RUNS`` (key → job id and MLflow run id)."""

    path: Path
    job_ids: dict[str, int]
    run_ids: dict[str, str]


@pytest.fixture(scope="session")
def trained_runs_template(
    sample_workspace_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> TrainedTemplate:
    """The sample workspace with every ``TINY_RUNS`` run finished, trained once per session (training is
    the slow part of the suite). Tests copy it (``trained_runs_workspace``) or copy it once per module;
    the copies' MLflow artifacts stay in this folder, so no test edits them (one that damages a model's
    files uses the gallery's ``damageable`` runs, which have a workspace of their own)."""

    def train(root: Path) -> dict[str, Any]:
        template = _train_tiny_runs(sample_workspace_template, root / "trained-runs" / "workspace")
        return {"path": str(template.path), "job_ids": template.job_ids, "run_ids": template.run_ids}

    saved = built_once(tmp_path_factory, "trained-runs", train)
    return TrainedTemplate(Path(saved["path"]), saved["job_ids"], saved["run_ids"])


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], dict[str, Any]]
) -> dict[str, Any]:
    """What ``build(root)`` returns (JSON), built once per session for every test worker: parallel
    workers share one; the first builds it, the others wait for it (training beside it on the same
    cores would only slow both) and read its record."""
    shared = tmp_path_factory.getbasetemp().parent if os.environ.get("PYTEST_XDIST_WORKER") else None
    root = shared or tmp_path_factory.mktemp(name)
    with FileLock(root / f"{name}.lock"):
        record = root / f"{name}.json"
        if not record.exists():
            record.write_text(json.dumps(build(root)))
        return json.loads(record.read_text())


def _train_tiny_runs(sample_template: Path, path: Path) -> TrainedTemplate:
    from canvascraft.recipe.library import load_recipe, save_recipe
    from canvascraft.recipe.spec import validate_recipe

    def median_recipe() -> None:
        base = load_recipe("table-starter").model_dump(mode="json")
        base["brushes"][0]["params"]["strategy"] = "median"
        save_recipe(validate_recipe({**base, "name": "table-median"}))

    launched, run_ids = train_runs(sample_template, path, TINY_RUNS, prepare=median_recipe)
    return TrainedTemplate(path, launched, run_ids)


def train_runs(
    sample_template: Path,
    path: Path,
    runs: dict[str, tuple[str, str, str, dict[str, Any]]],
    prepare: Callable[[], None] | None = None,
) -> tuple[dict[str, int], dict[str, str]]:
    """Copy the sample workspace to ``path`` and train ``runs`` there (key → dataset, recipe, trainer,
    options), all queued at once; returns their job ids and MLflow run ids by key."""
    from canvascraft.services.jobs import launch_training, wait_for

    shutil.copytree(sample_template, path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CANVASCRAFT_POOL_TICK_S", "0")
        use_workspace(patch, path)
        if prepare is not None:
            prepare()
        launched = {
            key: launch_training(dataset, recipe, trainer, **options)
            for key, (dataset, recipe, trainer, options) in runs.items()
        }
        run_ids = {}
        for key, job_id in launched.items():
            job = wait_for(job_id, timeout_s=600)
            assert job.state == "succeeded" and job.mlflow_run_id, job.error_tail
            run_ids[key] = job.mlflow_run_id
        engine_for(get_settings().db_url).dispose()
    get_settings.cache_clear()
    return launched, run_ids


FLOW_TINY = {"width": 8, "batch_size": 16, "resolution": "16"}
"""A tiny ``image-flow`` network at 16 pixels: seconds an epoch on two cores."""
FLOW_MODEL = "shapes-maker"


@pytest.fixture(scope="session")
def flow_template(
    sample_workspace_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, int, str]:
    """A sample workspace with one finished two-epoch image-flow run, registered as
    ``shapes-maker@champion``: trained once per session and shared by the workers, like
    ``trained_runs_template``. Tests copy it (``flow``); returns (path, job id, run id)."""
    from canvascraft.services.gallery import register

    def train(root: Path) -> dict[str, Any]:
        path = root / "flow-run" / "workspace"
        runs = {"flow": ("sample-images", "image-flow-starter", "image-flow",
                         {"epochs": 2, "max_items": 30, "hyper": FLOW_TINY})}  # fmt: skip
        launched, run_ids = train_runs(sample_workspace_template, path, runs)
        with pytest.MonkeyPatch.context() as patch:
            use_workspace(patch, path)
            register(run_ids["flow"], FLOW_MODEL, alias="champion")
            engine_for(get_settings().db_url).dispose()
        get_settings.cache_clear()
        return {"path": str(path), "job_id": launched["flow"], "run_id": run_ids["flow"]}

    saved = built_once(tmp_path_factory, "flow-run", train)
    return Path(saved["path"]), saved["job_id"], saved["run_id"]


@pytest.fixture
def flow(flow_template: tuple[Path, int, str], workspace: Path) -> tuple[int, str]:
    """A private copy of the flow workspace, with the settings pointing at it: (job id, run id)."""
    path, job_id, run_id = flow_template
    shutil.copytree(path, workspace)
    return job_id, run_id


def copy_trained(template: TrainedTemplate, folder: Path) -> Path:
    """A private copy of the trained workspace at ``folder`` (which must not exist yet)."""
    shutil.copytree(template.path, folder)
    return folder


@pytest.fixture
def trained_runs_workspace(trained_runs_template: TrainedTemplate, workspace: Path) -> TrainedTemplate:
    """A private copy of the trained workspace, with the settings pointing at it."""
    copy_trained(trained_runs_template, workspace)
    return TrainedTemplate(workspace, trained_runs_template.job_ids, trained_runs_template.run_ids)


SLOWEST_FIRST = (
    "tests/tuning/test_tuning.py",
    "tests/test_browser.py",
    "tests/jobs/test_training_lifecycle.py",
    "tests/jobs/test_train_job.py",
    "tests/test_tune_page.py",
    "tests/events/test_retrain.py",
    "tests/drift/test_schedules.py",
    "tests/test_store.py",
    "tests/jobs/test_fork_and_pins.py",
)
"""Modules that take a minute or more on two cores: parallel workers (which take whole modules in
collection order) start them first, so no worker is left running one alone at the end."""


def _controller(session: pytest.Session) -> bool:
    """The process that runs the session, not one of its parallel workers."""
    return not hasattr(session.config, "workerinput")


def pytest_sessionstart(session: pytest.Session) -> None:
    if _controller(session):  # the first job of the run then starts warm too
        threading.Thread(target=warm_up_jobs, name="warm-jobs", daemon=True).start()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _controller(session):
        warm.stop(dict(os.environ))  # its forked jobs have all ended with their tests


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: index for index, path in enumerate(SLOWEST_FIRST)}
    root = Path(__file__).resolve().parent.parent

    def order(item: pytest.Item) -> int:
        path = Path(item.path).resolve()
        return (
            rank.get(path.relative_to(root).as_posix(), len(rank)) if path.is_relative_to(root) else len(rank)
        )

    items.sort(key=order)  # stable: every module keeps its own order
