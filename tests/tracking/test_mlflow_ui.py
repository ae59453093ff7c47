"""``canvascraft mlflow-ui``: MLflow's own server on the workspace's store shows the studio's runs.

The server is started from ``ui_command`` (exactly what the CLI runs) on a free loopback port and read
through the REST endpoints MLflow's UI calls, so a run that shows here shows in the browser. All traffic
stays on 127.0.0.1.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from canvascraft.config import get_settings
from canvascraft.errors import ConfigError
from canvascraft.jobs import JobState
from canvascraft.services.jobs import get_job
from canvascraft.services.recipes import export_recipe
from canvascraft.store.models import Job
from canvascraft.tracking.runs import tracking_client
from canvascraft.tracking.ui import ui_command, ui_env, ui_url
from tests.conftest import TrainedTemplate, use_workspace
from tests.local_servers import HOST, free_port, get, get_json, post_json, started, wait_answering

START_S = 180.0
"""MLflow's server imports a lot before it answers; bounded, but generous on a busy machine."""


@pytest.fixture
def trained(trained_runs_template: TrainedTemplate, monkeypatch: pytest.MonkeyPatch) -> Iterator[Job]:
    """The session's finished two-epoch table job, a real run with params, metrics and artifacts, in
    the session's trained workspace itself: the UI only reads it (a write would fail these tests)."""
    use_workspace(monkeypatch, trained_runs_template.path)
    job = get_job(trained_runs_template.job_ids["table"])
    assert job.state == JobState.SUCCEEDED and job.mlflow_run_id, job.error_tail
    yield job
    get_settings.cache_clear()


def test_mlflow_ui_serves_the_runs_params_metrics_and_artifacts(
    trained: Job, trained_runs_template: TrainedTemplate, cwd: Path, tmp_path: Path
) -> None:
    port = free_port()
    url = ui_url(HOST, port)
    assert url == f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with started(ui_command(HOST, port), cwd, log, env=ui_env()) as server:
        wait_answering(url, server, log, path="/health", timeout=START_S)

        experiment = get_json(url, "/api/2.0/mlflow/experiments/get-by-name", experiment_name="canvascraft")
        experiment_id = experiment["experiment"]["experiment_id"]
        runs = post_json(url, "/api/2.0/mlflow/runs/search", {"experiment_ids": [experiment_id]})["runs"]
        history = get_json(
            url, "/api/2.0/mlflow/metrics/get-history", run_id=trained.mlflow_run_id, metric_key="val_loss"
        )
        listed = get_json(url, "/api/2.0/mlflow/artifacts/list", run_id=trained.mlflow_run_id)
        recipe = get(url, "/get-artifact", path="recipe.yaml", run_uuid=trained.mlflow_run_id).decode()
        table = json.loads(get(url, "/get-artifact", path="table_state.json", run_uuid=trained.mlflow_run_id))
        models = post_json(url, "/api/2.0/mlflow/logged-models/search", {"experiment_ids": [experiment_id]})

    assert len(runs) == len(trained_runs_template.run_ids)  # the workspace's runs, each once
    (run,) = [r for r in runs if r["info"]["run_id"] == trained.mlflow_run_id]
    assert run["info"]["run_id"] == trained.mlflow_run_id and run["info"]["status"] == "FINISHED"
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert (params["trainer"], params["dataset"], params["recipe"]) == (
        "table-mlp", "sample-table", "table-starter"
    )  # fmt: skip
    assert params["hyper.epochs"] == "2"
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert tags["canvascraft.job_id"] == str(trained.id)
    metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    assert {"train_loss", "val_loss", "train_accuracy", "val_accuracy", "val_f1"} <= set(metrics)
    assert 0.0 <= metrics["val_accuracy"] <= 1.0
    assert sorted(m["step"] for m in history["metrics"]) == [1, 2]

    artifact_root = (get_settings().artifact_root / "canvascraft").as_uri()
    assert listed["root_uri"].startswith(artifact_root)  # the workspace's files, read in place
    assert {"recipe.yaml", "table_state.json"} <= {f["path"] for f in listed["files"]}
    assert recipe == export_recipe("table-starter")
    assert table["classes"] and table["feature_names"]
    served = sorted((m["info"]["source_run_id"], m["info"]["status"]) for m in models["models"])
    assert served == sorted(
        (run_id, "LOGGED_MODEL_READY") for run_id in trained_runs_template.run_ids.values()
    )
    assert trained.mlflow_run_id in trained_runs_template.run_ids.values()
    assert list(cwd.iterdir()) == []  # nothing written where the server was started


def test_the_cli_prints_the_url_first_and_serves_a_fresh_workspace(
    workspace: Path, cwd: Path, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "cli.log"
    command = [sys.executable, "-m", "canvascraft.cli", "mlflow-ui", "--port", str(port), "--host", HOST]
    with started(command, cwd, log, env=ui_env()) as cli:
        url = f"http://127.0.0.1:{port}"
        wait_answering(url, cli, log, path="/health", timeout=START_S)
        experiment = get_json(url, "/api/2.0/mlflow/experiments/get-by-name", experiment_name="canvascraft")

    first_line = log.read_text().splitlines()[0]
    assert first_line.startswith("MLflow UI for") and url in first_line
    assert str(workspace) in first_line
    location = (get_settings().artifact_root / "canvascraft").as_uri()
    assert experiment["experiment"]["artifact_location"] == location
    assert (workspace / "mlflow.db").is_file()
    assert list(cwd.iterdir()) == []


def _status(url: str, method: str, endpoint: str, body: bytes = b"{}") -> int:
    request = urllib.request.Request(url + endpoint, data=body, method=method)
    request.add_header("Content-Type", "application/json")
    request.add_header("Host", "localhost")  # what passed MLflow's own host check
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_ui_is_read_only_and_stopping_the_command_frees_its_port(
    trained: Job, cwd: Path, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "cli.log"
    command = [sys.executable, "-m", "canvascraft.cli", "mlflow-ui", "--port", str(port)]
    run_id = trained.mlflow_run_id
    assert run_id
    # The CLI in its own process, not in a session of its own: SIGTERM reaches only it, as from a
    # process manager, and it must take its server down with it.
    with open(log, "wb") as output:
        process = subprocess.Popen(command, cwd=cwd, env=ui_env(), stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_answering(url, process, log, path="/health", timeout=START_S)
        planted = _status(url, "PUT", f"/api/2.0/mlflow-artifacts/artifacts/0/{run_id}/artifacts/x.pth", b"x")
        deleted = _status(url, "POST", "/api/2.0/mlflow/runs/delete", json.dumps({"run_id": run_id}).encode())
        created = _status(url, "POST", "/api/2.0/mlflow/runs/create", b'{"experiment_id": "0"}')
        aliased = _status(url, "POST", "/api/2.0/mlflow/registered-models/alias", b'{"name": "m"}')
        searched = _status(url, "POST", "/api/2.0/mlflow/runs/search", b'{"experiment_ids": ["0"]}')
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert (planted, deleted, created, aliased) == (403, 403, 403, 403)
    assert searched == 200
    assert tracking_client().get_run(run_id).info.lifecycle_stage == "active"
    with socket.socket() as probe:  # no server process outlived the command and still listens there
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # closed connections may linger
        probe.bind((HOST, port))


def test_the_ui_refuses_any_address_but_loopback(workspace: Path) -> None:
    with pytest.raises(ConfigError, match=r"127\.0\.0\.1 only"):
        ui_command("0.0.0.0", 5000)
    result = subprocess.run(
        [sys.executable, "-m", "canvascraft.cli", "mlflow-ui", "--host", "0.0.0.0"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "127.0.0.1 only" in result.stderr and "Traceback" not in result.stderr
