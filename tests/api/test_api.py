"""``/api/v1`` in process, over the routes the studio server mounts (``components.server.extra_routes``),
with httpx (Starlette's TestClient): who gets in, the status and plain message of each kind of error,
importing an upload, and the registry and predictions on the pre-trained workspace."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import update
from starlette.applications import Starlette
from starlette.testclient import TestClient
from typer.testing import CliRunner

from canvascraft.cli import app as cli
from canvascraft.config import get_settings
from canvascraft.services.tokens import create_token
from canvascraft.store.models import ApiToken, utcnow
from canvascraft.store.session import open_session
from components.server import extra_routes
from tests.conftest import TrainedTemplate

LAUNCH = {"dataset": "sample-table", "recipe": "table-starter", "trainer": "table-mlp", "epochs": 1}


@pytest.fixture
def http(sample_workspace: Path) -> Iterator[TestClient]:
    with TestClient(Starlette(routes=extra_routes()), base_url="http://127.0.0.1") as client:
        yield client


def bearer(scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(scope).secret}"}


def test_no_token_bad_token_revoked_and_expired_are_401_with_what_to_do(http: TestClient) -> None:
    missing = http.get("/api/v1/datasets")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert "canvascraft tokens create --scope read" in missing.json()["error"]
    assert http.get("/api/v1/datasets", headers={"Authorization": "Bearer cc_nope"}).status_code == 401

    created = CliRunner().invoke(cli, ["tokens", "create", "--scope", "read", "--expires", "30d"])
    assert created.exit_code == 0, created.output
    secret = created.stdout.splitlines()[0]
    assert secret.startswith("cc_")
    headers = {"Authorization": f"Bearer {secret}"}
    names = [d["name"] for d in http.get("/api/v1/datasets", headers=headers).json()]
    assert names == ["sample-audio", "sample-images", "sample-table"]
    with open_session() as session:  # only the hash is stored
        assert secret not in {row.token_hash for row in session.query(ApiToken)}

    listed = CliRunner().invoke(cli, ["tokens", "list"])
    token_id = next(line.split()[0] for line in listed.stdout.splitlines()[1:] if "active" in line)
    revoked = CliRunner().invoke(cli, ["tokens", "revoke", token_id])
    assert revoked.exit_code == 0 and f"token {token_id} revoked" in revoked.stdout
    refused = http.get("/api/v1/datasets", headers=headers)
    assert refused.status_code == 401 and f"token {token_id} is revoked" in refused.json()["error"]

    expiring = create_token("read", expires="1h")
    with open_session() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == expiring.info.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    late = http.get("/api/v1/datasets", headers={"Authorization": f"Bearer {expiring.secret}"})
    assert late.status_code == 401 and "is expired" in late.json()["error"]


def test_a_scope_too_low_is_403_and_names_the_scope_to_create(http: TestClient) -> None:
    read, train = bearer("read"), bearer("train")
    refused = http.post("/api/v1/jobs", json=LAUNCH, headers=read)
    assert refused.status_code == 403
    assert "create a token with `canvascraft tokens create --scope train`" in refused.json()["error"]
    assert http.get("/api/v1/tokens", headers=train).status_code == 403
    admin = bearer("admin")
    made = http.post("/api/v1/tokens", json={"scope": "train", "name": "ci"}, headers=admin)
    assert made.status_code == 201 and made.json()["secret"].startswith("cc_")
    assert http.delete(f"/api/v1/tokens/{made.json()['id']}", headers=admin).json()["state"] == "revoked"
    assert http.post("/api/v1/tokens", json={"scope": "root"}, headers=admin).status_code == 400
    assert http.post("/api/v1/models", json={"run_id": "x", "name": "y"}, headers=train).status_code == 403
    assert http.get("/api/v1/jobs", headers=read).json() == []  # nothing was queued


def test_errors_are_json_with_the_clis_messages_and_statuses(http: TestClient) -> None:
    read, train = bearer("read"), bearer("train")
    unknown = http.get("/api/v1/jobs/424242", headers=read)
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "Job 424242 does not exist; list jobs to see their ids."}
    assert http.get("/api/v1/datasets/nope/versions", headers=read).status_code == 404
    assert http.get("/api/v1/runs/nope", headers=read).status_code == 404
    assert http.get("/api/v1/no-such-path", headers=read).json()["error"].startswith("no API path")

    bad_epochs = http.post("/api/v1/jobs", json={**LAUNCH, "epochs": 0}, headers=train)
    assert bad_epochs.status_code == 400
    assert bad_epochs.json()["error"].startswith("epochs: Input should be greater than or equal to 1")
    typo = http.post("/api/v1/jobs", json={**LAUNCH, "epoch": 1}, headers=train)
    assert typo.status_code == 400 and typo.json()["error"] == "epoch: Extra inputs are not permitted"
    bad_hyper = http.post("/api/v1/jobs", json={**LAUNCH, "hyper": {"learning_rate": -1}}, headers=train)
    assert bad_hyper.status_code == 400 and "learning_rate" in bad_hyper.json()["error"]

    recipe = http.get("/api/v1/recipes/table-starter", headers=read).json()
    assert http.post("/api/v1/recipes/validate", json=recipe, headers=read).json()["valid"] is True
    recipe["brushes"][0]["params"]["strategy"] = "sometimes"
    invalid = http.post("/api/v1/recipes/validate", json=recipe, headers=read)
    assert invalid.status_code == 400 and invalid.json()["error"].startswith("brushes[0].")

    accepted = http.post("/api/v1/jobs", json=LAUNCH, headers=train)
    assert accepted.status_code == 202
    job_id = accepted.json()["job_id"]
    assert http.get(f"/api/v1/jobs/{job_id}", headers=read).json()["state"] == "queued"
    busy = http.post(f"/api/v1/jobs/{job_id}/resume", headers=train)
    assert busy.status_code == 409 and busy.json()["error"].startswith(f"Job {job_id} is still queued")
    cancelled = http.post(f"/api/v1/jobs/{job_id}/cancel", headers=train)
    assert cancelled.status_code == 202 and cancelled.json()["state"] == "cancelled"
    assert http.post(f"/api/v1/jobs/{job_id}/cancel", headers=train).status_code == 409


def test_a_study_launch_drift_and_alerts(http: TestClient) -> None:
    read, train, admin = bearer("read"), bearer("train"), bearer("admin")
    study = {**LAUNCH, "kind": "study", "trials": 1, "parallel": 1}
    accepted = http.post("/api/v1/jobs", json=study, headers=train)
    assert accepted.status_code == 202, accepted.text
    job = http.get(f"/api/v1/jobs/{accepted.json()['job_id']}", headers=read).json()
    assert (job["kind"], job["group"], job["state"]) == ("tune", "study", "queued")
    assert http.post(f"/api/v1/jobs/{job['id']}/cancel", headers=train).json()["state"] == "cancelled"

    assert http.get("/api/v1/drift/monitors", headers=read).json() == []
    assert http.get("/api/v1/drift/checks", headers=read).json() == []
    unwatched = http.post("/api/v1/drift/monitors/paints/checks", headers=train)
    assert unwatched.status_code == 404 and "model 'paints' is not watched" in unwatched.json()["error"]
    assert http.get("/api/v1/drift/checks/7", headers=read).status_code == 404

    assert http.get("/api/v1/alerts", headers=read).json() == []
    settings = {"emails": ["artist@example.org"], "cooldown_s": 60}
    assert http.put("/api/v1/alerts/settings/paints", json=settings, headers=train).status_code == 403
    saved = http.put("/api/v1/alerts/settings/paints", json=settings, headers=admin)
    assert saved.status_code == 200, saved.text
    assert http.get("/api/v1/alerts/settings/paints", headers=read).json()["emails"] == ["artist@example.org"]
    bad = http.put("/api/v1/alerts/settings/paints", json={"emails": ["nobody"]}, headers=admin)
    assert bad.status_code == 400 and "'nobody' is not an email address" in bad.json()["error"]


def test_an_upload_is_imported_as_a_new_version(http: TestClient) -> None:
    train = bearer("train")
    table = get_settings().sample_dir / "sample-table" / "paint-mixtures.csv"
    files = [("files", ("mixtures.csv", table.read_bytes(), "text/csv"))]
    made = http.post("/api/v1/datasets/api-paints/versions", files=files, data={"label_column": "style"},
                     headers=train)  # fmt: skip
    assert made.status_code == 201, made.text
    assert (made.json()["dataset"], made.json()["version"]) == ("api-paints", 1)
    versions = http.get("/api/v1/datasets/api-paints/versions", headers=bearer("read")).json()
    assert [v["number"] for v in versions] == [1]
    junk = [("files", ("notes.bin", b"\x00\x01", "application/octet-stream"))]
    nothing = http.post("/api/v1/datasets/api-empty/versions", headers=train, files=junk)
    assert nothing.status_code == 400 and nothing.json()["skipped"]


def test_register_alias_and_predict_files_on_the_trained_workspace(
    trained_runs_workspace: TrainedTemplate,
) -> None:
    admin, train = bearer("admin"), bearer("train")
    with TestClient(Starlette(routes=extra_routes()), base_url="http://127.0.0.1") as http:
        run_id = trained_runs_workspace.run_ids["table"]
        made = http.post("/api/v1/models", json={"run_id": run_id, "name": "paints", "alias": "champion"},
                         headers=admin)  # fmt: skip
        assert made.status_code == 201, made.text
        assert made.json()["aliases"] == ["champion"]
        assert (
            http.put("/api/v1/models/paints/aliases/live", json={"version": 9}, headers=admin).status_code
            == 404
        )
        listed = http.get("/api/v1/models", headers=bearer("read")).json()
        assert [(m["name"], m["aliases"]) for m in listed] == [("paints", {"champion": 1})]

        table = get_settings().sample_dir / "sample-table" / "paint-mixtures.csv"
        files = [("files", ("mixtures.csv", table.read_bytes(), "text/csv")),
                 ("files", ("notes.txt", b"not a table", "text/plain"))]  # fmt: skip
        answered = http.post("/api/v1/predict/paints@champion", files=files, headers=train)
        assert answered.status_code == 200, answered.text
        predictions = answered.json()["predictions"]
        styles = set(pd.read_csv(table)["style"])
        readable = [p for p in predictions if not p["error"]]
        assert readable and {p["predicted"] for p in readable} <= styles
        assert [p["file"] for p in predictions if p["error"]] == ["notes.txt"]

        runs = {r["run_id"]: r for r in http.get("/api/v1/runs", headers=bearer("read")).json()}
        assert run_id in runs and runs[run_id]["dataset"] == "sample-table"
        detail = http.get(f"/api/v1/runs/{run_id}", headers=bearer("read")).json()
        assert detail["card"]["run_id"] == run_id and detail["classes"]
        other = trained_runs_workspace.run_ids["median"]
        compared = http.get("/api/v1/runs/compare", params={"ids": [run_id, other]}, headers=bearer("read"))
        assert compared.status_code == 200, compared.text
        assert [r["run_id"] for r in compared.json()["runs"]] == [run_id, other]
        assert compared.json()["recipe_diff"]

        missing = http.post("/api/v1/predict/paints@nope/rows", json={"rows": [{}]}, headers=train)
        assert missing.status_code == 404 and "has no alias 'nope'" in missing.json()["error"]


def test_the_docs_page_loads_swagger_ui_from_the_studio_itself(http: TestClient) -> None:
    """Nothing on the docs page reaches past the studio: its script and style come from /api too."""
    page = http.get("/api/docs")
    assert page.status_code == 200 and "/api/openapi.json" in page.text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(source.startswith("/api/docs-assets/") for source in sources), sources
    for source in sources:
        assert http.get(source).status_code == 200, source
    assert http.get("/api/openapi.json").json()["info"]["title"] == "CanvasCraft ML Studio API"
