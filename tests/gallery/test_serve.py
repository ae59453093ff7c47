"""``canvascraft serve``: MLflow's model server on 127.0.0.1 answers a real request like the Predictor."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from canvascraft.errors import ModelError
from canvascraft.gallery.predict import Predictor
from canvascraft.gallery.registry import register
from canvascraft.gallery.serve import predictions_from_response, scoring_payload, serve_command, serve_env
from canvascraft.services.datasets import item_bytes
from canvascraft.store.models import Job
from canvascraft.tracking.runs import tracking_client
from tests.local_servers import HOST, free_port, post_json, started, wait_answering

START_S = 180.0
"""MLflow's model server loads the model before it answers; bounded, but generous on a busy machine."""


def test_serve_answers_invocations_like_the_predictor(
    trained: Callable[[str], Job], cwd: Path, tmp_path: Path
) -> None:
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
    log = tmp_path / "serve.log"
    with started(command, cwd, log, env=serve_env()) as server:
        url = f"http://{HOST}:{port}"
        wait_answering(url, server, log, path="/ping", timeout=START_S)
        answer = post_json(url, "/invocations", body)

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
