"""The real ``canvascraft studio`` serves the pages, the API docs and ``/api/v1`` from one port, and
the API runs a whole flow: launch a training job with a train token, follow it to its end, register
and alias its model with an admin token, predict table rows with ``NAME@ALIAS``; a real Prometheus
scrapes ``/metrics`` from the same port."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
from typer.testing import CliRunner

from canvascraft.cli import app as cli
from canvascraft.config import get_settings
from tests.local_servers import PROMETHEUS, free_port, scraped_by_prometheus, started, wait_answering

ROOT = Path(__file__).resolve().parents[2]


def make_token(scope: str) -> str:
    result = CliRunner().invoke(cli, ["tokens", "create", "--scope", scope, "--name", f"test {scope}"])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()[0]


def test_one_port_serves_pages_docs_and_a_whole_api_flow(sample_workspace: Path, tmp_path: Path) -> None:
    read, train, admin = make_token("read"), make_token("train"), make_token("admin")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CANVASCRAFT_WORKSPACE": str(sample_workspace),
        "CANVASCRAFT_POOL_TICK_S": "1",
        "STREAMLIT_SERVER_ADDRESS": "127.0.0.1",
    }
    command = [sys.executable, "-m", "canvascraft.cli", "studio", "--port", str(port)]
    log = tmp_path / "studio.log"
    with started(command, ROOT, log, env) as process:
        wait_answering(url, process, log, "/_stcore/health", timeout=120)
        assert f"port {port}: pages at /, API docs at /api/docs, metrics at /metrics" in log.read_text()
        with httpx.Client(base_url=url, timeout=30) as http:
            page = http.get("/train")  # a page route: Streamlit's app shell
            assert page.status_code == 200 and "<html" in page.text.lower()
            docs = http.get("/api/docs")
            assert docs.status_code == 200 and "/api/openapi.json" in docs.text
            assert "/v1/jobs" in http.get("/api/openapi.json").json()["paths"]

            assert http.get("/api/v1/jobs").status_code == 401
            launch = {
                "dataset": "sample-table",
                "recipe": "table-starter",
                "trainer": "table-mlp",
                "epochs": 1,
            }
            refused = http.post("/api/v1/jobs", json=launch, headers=bearer(read))
            assert refused.status_code == 403
            assert "canvascraft tokens create --scope train" in refused.json()["error"]

            accepted = http.post("/api/v1/jobs", json=launch, headers=bearer(train))
            assert accepted.status_code == 202, accepted.text
            job_id = accepted.json()["job_id"]
            job = follow(http, job_id, bearer(read))  # only the studio's own scheduler moves it on
            assert job["state"] == "succeeded", job
            assert job["progress"]["epoch"] == 1 and job["progress"]["history"][0]["val_accuracy"] >= 0
            assert http.get(f"/api/v1/jobs/{job_id}/logs", headers=bearer(read)).json()["log"]

            registered = http.post(
                "/api/v1/models", json={"run_id": job["mlflow_run_id"], "name": "api-paints"},
                headers=bearer(admin),
            )  # fmt: skip
            assert registered.status_code == 201, registered.text
            version = registered.json()["version"]
            moved = http.put(
                "/api/v1/models/api-paints/aliases/champion", json={"version": version}, headers=bearer(admin)
            )
            assert moved.status_code == 200, moved.text

            table = pd.read_csv(get_settings().sample_dir / "sample-table" / "paint-mixtures.csv")
            rows = table.drop(columns=["style"]).head(2).to_dict(orient="records")
            predicted = http.post(
                "/api/v1/predict/api-paints@champion/rows", json={"rows": rows}, headers=bearer(train)
            )
            assert predicted.status_code == 200, predicted.text
            answers = predicted.json()["predictions"]
            assert len(answers) == 2
            assert {a["predicted"] for a in answers} <= set(table["style"])
            assert all(0 <= a["probability"] <= 1 for a in answers)

            metrics = http.get("/metrics")  # the same port, no token: Prometheus scrapes it
            assert metrics.status_code == 200
            assert 'canvascraft_jobs{kind="train",state="succeeded"} 1.0' in metrics.text
            assert 'route="/api/v1/jobs/{job_id}"' in metrics.text
        if PROMETHEUS is not None:
            found = scraped_by_prometheus(url, tmp_path, {
                "jobs": 'canvascraft_jobs{kind="train",state="succeeded"}',
                "requests": 'canvascraft_api_requests_total{route="/api/v1/jobs",method="POST",status="202"}',
            })  # fmt: skip
            assert found["jobs"][0]["value"][1] == "1" and found["requests"][0]["value"][1] == "1"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def follow(http: httpx.Client, job_id: int, headers: dict[str, str], timeout_s: float = 180) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        job = http.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        if job["state"] not in ("queued", "running") or time.monotonic() > deadline:
            return job
        time.sleep(0.5)
