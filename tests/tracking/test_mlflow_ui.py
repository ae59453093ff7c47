"""``canvascraft mlflow-ui``: MLflow's own server on the workspace's store shows the studio's runs.

The server is started from ``ui_command`` (exactly what the CLI runs) on a free loopback port and read
through the REST endpoints MLflow's UI calls, so a run that shows here shows in the browser. All traffic
stays on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from canvascraft.config import get_settings
from canvascraft.jobs import JobState
from canvascraft.services.jobs import launch_training, wait_for
from canvascraft.services.recipes import export_recipe
from canvascraft.store.models import Job
from canvascraft.tracking.ui import ui_command, ui_env, ui_url

HOST = "127.0.0.1"
START_S = 180.0
"""MLflow's server imports a lot before it answers; bounded, but generous on a busy machine."""
# No proxy from the environment: every request goes straight to the loopback server.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def get(url: str, endpoint: str, **query: str) -> bytes:
    address = f"{url}{endpoint}?{urllib.parse.urlencode(query)}" if query else f"{url}{endpoint}"
    with OPENER.open(address, timeout=30) as response:
        return bytes(response.read())


def get_json(url: str, endpoint: str, **query: str) -> Any:
    return json.loads(get(url, endpoint, **query))


def post_json(url: str, endpoint: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"{url}{endpoint}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with OPENER.open(request, timeout=30) as response:
        return json.loads(response.read())


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until ``/health`` answers; fails at once with the server's output if the server exits."""
    deadline = time.monotonic() + START_S
    while True:
        if process.poll() is not None:
            pytest.fail(f"the MLflow server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if get(url, "/health") == b"OK":
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the MLflow server did not answer in {START_S:g} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)


def stop(process: subprocess.Popen[bytes]) -> None:
    """The server and every worker it started (its own session), politely first."""
    for signum, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 15)):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            break
        try:
            process.wait(grace)
            break
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def started(command: list[str], cwd: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, cwd=cwd, env=ui_env(), stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        stop(process)


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    """An empty folder to start the server in, so a stray ``mlruns`` or ``mlartifacts`` would show."""
    path = tmp_path / "cwd"
    path.mkdir()
    return path


@pytest.fixture
def trained(sample_workspace: Path) -> Job:
    """A finished two-epoch table job, the quickest real run with params, metrics and artifacts."""
    job = wait_for(launch_training("sample-table", "table-starter", "table-mlp", epochs=2), timeout_s=240)
    assert job.state == JobState.SUCCEEDED and job.mlflow_run_id, job.error_tail
    return job


def test_mlflow_ui_serves_the_runs_params_metrics_and_artifacts(
    trained: Job, cwd: Path, tmp_path: Path
) -> None:
    port = free_port()
    url = ui_url(HOST, port)
    assert url == f"http://127.0.0.1:{port}"
    with started(ui_command(HOST, port), cwd, tmp_path / "server.log") as server:
        wait_healthy(url, server, tmp_path / "server.log")

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

    (run,) = runs
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
    assert [(m["info"]["source_run_id"], m["info"]["status"]) for m in models["models"]] == [
        (trained.mlflow_run_id, "LOGGED_MODEL_READY")
    ]
    assert list(cwd.iterdir()) == []  # nothing written where the server was started


def test_the_cli_prints_the_url_first_and_serves_a_fresh_workspace(
    workspace: Path, cwd: Path, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "cli.log"
    command = [sys.executable, "-m", "canvascraft.cli", "mlflow-ui", "--port", str(port), "--host", HOST]
    with started(command, cwd, log) as cli:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, cli, log)
        experiment = get_json(url, "/api/2.0/mlflow/experiments/get-by-name", experiment_name="canvascraft")

    first_line = log.read_text().splitlines()[0]
    assert first_line.startswith("MLflow UI for") and url in first_line
    assert str(workspace) in first_line
    location = (get_settings().artifact_root / "canvascraft").as_uri()
    assert experiment["experiment"]["artifact_location"] == location
    assert (workspace / "mlflow.db").is_file()
    assert list(cwd.iterdir()) == []
