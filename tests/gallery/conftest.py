"""One workspace with real tiny training runs, shared by the gallery's model tests.

Training is the slow part (tens of seconds per run on two cores), so each modality is trained at most
once per session, on demand, in a workspace copied from the sample template; tests register models
under their own names, so they never depend on each other's registry state.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from canvascraft.config import get_settings
from canvascraft.store.models import Job
from tests.conftest import use_workspace

RUNS: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "table": ("sample-table", "table-starter", "table-mlp", {"epochs": 2}),
    "image": ("sample-images", "image-starter", "image-cnn",
              {"epochs": 1, "max_items": 30, "hyper": {"batch_size": 8, "width": 8}}),
    "audio": ("sample-audio", "audio-starter", "audio-cnn",
              {"epochs": 1, "max_items": 30, "hyper": {"batch_size": 8, "width": 8}}),
}  # fmt: skip


@pytest.fixture(scope="session")
def trained_workspace(sample_workspace_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gallery") / "workspace"
    shutil.copytree(sample_workspace_template, path)
    return path


_TRAINED: dict[str, Job] = {}


@pytest.fixture
def gallery_workspace(trained_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    use_workspace(monkeypatch, trained_workspace)
    yield trained_workspace
    get_settings.cache_clear()


@pytest.fixture
def trained(gallery_workspace: Path) -> Callable[[str], Job]:
    """``trained("image")``: the finished job of that modality's tiny run (trained on first use)."""
    from canvascraft.services.jobs import launch_training, wait_for

    def get(modality: str) -> Job:
        if modality not in _TRAINED:
            dataset, recipe, trainer, options = RUNS[modality]
            job = wait_for(launch_training(dataset, recipe, trainer, **options), timeout_s=400)
            assert job.state == "succeeded" and job.mlflow_run_id, job.error_tail
            _TRAINED[modality] = job
        return _TRAINED[modality]

    return get
