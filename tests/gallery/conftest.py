"""One workspace with real tiny training runs, shared by the gallery's model tests.

The runs are the session's ``TINY_RUNS`` (trained once, ``tests/conftest.py``), copied once for the
gallery; tests register models under their own names, so they never depend on each other's registry
state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from canvascraft.config import get_settings
from canvascraft.store.models import Job
from tests.conftest import TrainedTemplate, copy_trained, train_runs, use_workspace


@pytest.fixture(scope="session")
def trained_workspace(
    trained_runs_template: TrainedTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return copy_trained(trained_runs_template, tmp_path_factory.mktemp("gallery") / "workspace")


@pytest.fixture
def gallery_workspace(trained_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    use_workspace(monkeypatch, trained_workspace)
    yield trained_workspace
    get_settings.cache_clear()


@pytest.fixture
def trained(gallery_workspace: Path, trained_runs_template: TrainedTemplate) -> Callable[[str], Job]:
    """``trained("image")``: the finished job of that modality's tiny run."""
    from canvascraft.services.jobs import get_job

    def get(modality: str) -> Job:
        job = get_job(trained_runs_template.job_ids[modality])
        assert job.state == "succeeded" and job.mlflow_run_id, job.error_tail
        return job

    return get


@pytest.fixture(scope="session")
def damageable_runs(
    sample_workspace_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    """Two tiny table runs (same shape, other seeds) in a workspace of their own, for tests that damage
    a model's files in place: the shared trained template's folders are read and copied by other
    workers meanwhile, so they are never edited."""
    path = tmp_path_factory.mktemp("damageable") / "workspace"
    twins = {key: ("sample-table", "table-starter", "table-mlp", {"epochs": 2, "seed": seed})
             for key, seed in (("table", 0), ("twin", 1))}  # fmt: skip
    _, runs = train_runs(sample_workspace_template, path, twins)
    return path, runs


@pytest.fixture
def damageable_workspace(
    damageable_runs: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    use_workspace(monkeypatch, damageable_runs[0])
    yield damageable_runs[0]
    get_settings.cache_clear()


@pytest.fixture
def damageable(
    damageable_runs: tuple[Path, dict[str, str]], damageable_workspace: Path
) -> Callable[[str], str]:
    """``damageable("table")`` / ``damageable("twin")``: a run id whose model files a test may edit
    (and puts back), with the settings pointing at its workspace."""
    return damageable_runs[1].__getitem__
