"""The tracking helpers on a real MLflow SQLite store inside the test's workspace."""

from __future__ import annotations

import time
from pathlib import Path

import mlflow.pytorch
import pytest
import torch
from mlflow.tracking import MlflowClient
from mlflow.utils.file_utils import local_file_uri_to_path
from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH
from torch import nn

from canvascraft.config import get_settings
from canvascraft.tracking import TrainingRun, ensure_experiment, tracking_client
from canvascraft.tracking.runs import TRUNCATED_NOTE
from canvascraft.training.loop import EpochResult


def epoch(number: int) -> EpochResult:
    return EpochResult.from_row(
        {
            "epoch": number,
            "train_loss": 1.0 / number,
            "train_accuracy": 0.5 + number / 100,
            "train_f1": 0.4 + number / 100,
            "val_loss": 2.0 / number,
            "val_accuracy": 0.45 + number / 100,
            "val_f1": 0.35 + number / 100,
            "seconds": 0.25 * number,
            "is_best": True,
        }
    )


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current directory, so a stray ``mlruns`` folder would show."""
    path = tmp_path / "cwd"
    path.mkdir()
    monkeypatch.chdir(path)
    return path


def test_ensure_experiment_is_idempotent_and_stores_artifacts_in_the_workspace(
    workspace: Path, cwd: Path
) -> None:
    first = ensure_experiment("demo")
    assert ensure_experiment("demo") == first
    location = Path(local_file_uri_to_path(tracking_client().get_experiment(first).artifact_location))
    assert location == get_settings().artifact_root / "demo"
    assert location.is_relative_to(workspace)
    assert (workspace / "mlflow.db").is_file()
    assert list(cwd.iterdir()) == []


def test_run_lifecycle_params_metrics_artifacts_and_resume(workspace: Path, cwd: Path) -> None:
    long_value = "x" * (MAX_PARAM_VAL_LENGTH + 50)
    run = TrainingRun.start(
        run_name="job-7",
        params={"lr": 0.01, "epochs": 3, "notes": long_value},
        tags={"canvascraft.job_id": "7"},
    )
    for number in (1, 2, 3):
        run.log_epoch(epoch(number))
    run.log_text("name: demo\n", "recipe.yaml")
    run.log_text('{"mean": 1.5}', "state/table.json")
    run.finish()

    fresh = MlflowClient(get_settings().tracking_uri)
    data = fresh.get_run(run.run_id)
    assert data.info.status == "FINISHED"
    assert data.info.run_name == "job-7"
    assert data.data.params["lr"] == "0.01"
    assert data.data.params["epochs"] == "3"
    notes = data.data.params["notes"]
    assert len(notes) == MAX_PARAM_VAL_LENGTH and notes.endswith(TRUNCATED_NOTE)
    assert data.data.tags["canvascraft.job_id"] == "7"
    history = fresh.get_metric_history(run.run_id, "val_loss")
    assert [(m.step, m.value) for m in history] == [(1, 2.0), (2, 1.0), (3, pytest.approx(2 / 3))]
    assert set(data.data.metrics) == {
        "train_loss",
        "val_loss",
        "train_accuracy",
        "val_accuracy",
        "train_f1",
        "val_f1",
        "epoch_seconds",
    }

    out = Path(fresh.download_artifacts(run.run_id, "", str(workspace / "download")))
    assert (out / "recipe.yaml").read_text() == "name: demo\n"
    assert (out / "state" / "table.json").read_text() == '{"mean": 1.5}'
    artifact_dir = Path(local_file_uri_to_path(data.info.artifact_uri))
    assert artifact_dir.is_relative_to(get_settings().artifact_root)

    resumed = TrainingRun.resume(run.run_id)
    assert fresh.get_run(run.run_id).info.status == "RUNNING"
    resumed.log_epoch(epoch(4))
    resumed.finish("KILLED")
    assert fresh.get_run(run.run_id).info.status == "KILLED"
    assert [m.step for m in fresh.get_metric_history(run.run_id, "val_loss")] == [1, 2, 3, 4]
    assert list(cwd.iterdir()) == []


def test_child_run_records_its_parent(workspace: Path) -> None:
    parent = TrainingRun.start(run_name="study", params={})
    child = TrainingRun.start(run_name="trial-0", params={"lr": 1}, parent_run_id=parent.run_id)
    tags = tracking_client().get_run(child.run_id).data.tags
    assert tags["mlflow.parentRunId"] == parent.run_id


def test_log_model_round_trips_in_pt2_format_inside_the_workspace(
    workspace: Path, cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    example = torch.randn(5, 4)
    run = TrainingRun.start(run_name="job-model", params={"lr": 0.1})

    started = time.perf_counter()
    uri = run.log_model(model, example)
    seconds = time.perf_counter() - started
    run.finish()
    print(f"log_model took {seconds:.2f} s")

    assert uri.startswith("models:/")
    assert model.training  # mode restored
    # Loading resolves ``models:/`` through the tracking URI, as a job or page process would have it.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", get_settings().tracking_uri)
    loaded = mlflow.pytorch.load_model(uri)
    assert isinstance(loaded, torch.fx.GraphModule)
    with torch.no_grad():
        assert torch.allclose(loaded(example), model.eval()(example), atol=1e-6)
        assert loaded(torch.randn(2, 4)).shape == (2, 3)  # the batch dimension stayed dynamic

    client = tracking_client()
    logged = client.get_logged_model(uri.removeprefix("models:/"))
    assert logged.source_run_id == run.run_id
    assert str(logged.status) in {"READY", "LoggedModelStatus.READY"}
    model_dir = Path(local_file_uri_to_path(logged.artifact_location))
    assert model_dir.is_relative_to(get_settings().artifact_root)
    assert [p.name for p in (model_dir / "data").iterdir()] == ["model.pt2"]  # no pickled model.pth
    assert not list(model_dir.rglob("*.pkl"))
    assert list(cwd.iterdir()) == []
