"""``canvascraft serve``: MLflow's model server on 127.0.0.1 answers a real request like the Predictor."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from canvascraft.gallery.predict import Predictor
from canvascraft.gallery.registry import ModelError, register
from canvascraft.gallery.serve import predictions_from_response, scoring_payload, serve_command, serve_env
from canvascraft.services.datasets import item_bytes
from canvascraft.store.models import Job
from canvascraft.tracking.runs import tracking_client

HOST = "127.0.0.1"
START_S = 180.0
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def stop(process: subprocess.Popen[bytes]) -> None:
    """The server and its uvicorn workers (its own session), politely first."""
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


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_S
    while True:
        if process.poll() is not None:
            pytest.fail(f"the model server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with OPENER.open(f"{url}/ping", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the model server did not answer in {START_S:g} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)


def post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"{url}/invocations", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with OPENER.open(request, timeout=60) as response:
        return json.loads(response.read())


def test_serve_answers_invocations_like_the_predictor(trained: Callable[[str], Job], tmp_path: Path) -> None:
    job = trained("image")
    register(job.mlflow_run_id, "served", alias="champion")
    predictor = Predictor.from_ref("served@champion")
    root = Path(tracking_client().get_run(job.mlflow_run_id).info.artifact_uri.removeprefix("file://"))
    items = json.loads((root / "validation" / "predictions.json").read_text())["items"][:3]
    payloads = [
        scoring_payload(predictor, item_bytes(item["sha256"]), f"{i}.png") for i, item in enumerate(items)
    ]
    body = {"inputs": [row for payload in payloads for row in payload["inputs"]]}  # a batch of 3

    port = free_port()
    command = serve_command("served@champion", HOST, port)
    assert command[-8:] == ["--env-manager", "local", "-h", HOST, "-p", str(port), "-w", "1"]
    assert "models:/served@champion" in command
    cwd, log = tmp_path / "cwd", tmp_path / "serve.log"
    cwd.mkdir()
    with open(log, "wb") as output:
        server = subprocess.Popen(
            command, cwd=cwd, env=serve_env(), stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        url = f"http://{HOST}:{port}"
        wait_ready(url, server, log)
        answer = post(url, body)
    finally:
        stop(server)

    served = predictions_from_response(predictor, answer)
    local = [predictor.predict_item(item["sha256"]) for item in items]
    assert [p.label for p in served] == [p.label for p in local] == [item["predicted"] for item in items]
    for remote, mine in zip(served, local, strict=True):
        assert np.allclose(list(remote.probabilities.values()), list(mine.probabilities.values()), atol=1e-5)
    assert list(cwd.iterdir()) == []  # nothing written where the server was started


def test_serve_refuses_an_unknown_alias_before_starting(trained: Callable[[str], Job]) -> None:
    register(trained("table").mlflow_run_id, "served-table")
    with pytest.raises(ModelError, match="has no alias 'champion'"):
        serve_command("served-table@champion")
