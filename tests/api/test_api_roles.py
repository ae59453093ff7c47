"""The API as the person who made the token: their role caps the token's scope, the services' guards
see them, the audit log names them; refused tokens are counted per address and answered 429."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update
from starlette.applications import Starlette
from starlette.testclient import TestClient

from canvascraft.auth.throttle import WindowLimit
from canvascraft.errors import TooManyFailures
from canvascraft.services.audit import list_audit
from canvascraft.services.people import Person, acting_as
from canvascraft.services.tokens import create_token
from canvascraft.store.models import ApiToken
from canvascraft.store.session import open_session
from components.server import extra_routes

LAUNCH = {"dataset": "sample-table", "recipe": "table-starter", "trainer": "table-mlp", "epochs": 1}
VIEWER = Person("viewer-1", "Vic Viewer", "viewer")
ARTIST = Person("artist-1", "Ada Artist", "artist")


@pytest.fixture
def http(sample_workspace: Path) -> Iterator[TestClient]:
    with TestClient(Starlette(routes=extra_routes()), base_url="http://127.0.0.1") as client:
        yield client


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_a_viewers_token_reads_but_cannot_launch(http: TestClient) -> None:
    with acting_as(VIEWER):
        secret = create_token("read").secret
    assert http.get("/api/v1/datasets", headers=bearer(secret)).status_code == 200
    refused = http.post("/api/v1/jobs", json=LAUNCH, headers=bearer(secret))
    assert refused.status_code == 403
    assert http.get("/api/v1/jobs", headers=bearer(secret)).json() == []  # nothing was queued


def test_a_token_never_allows_more_than_its_makers_role(http: TestClient) -> None:
    with acting_as(ARTIST):
        secret = create_token("train").secret
    with open_session() as session:  # its maker is a viewer now (an admin lowered their role)
        session.execute(update(ApiToken).values(maker_role="viewer"))
    refused = http.post("/api/v1/jobs", json=LAUNCH, headers=bearer(secret))
    assert refused.status_code == 403
    assert "made by Ada Artist, who is a viewer, so it allows read at most" in refused.json()["error"]
    assert http.get("/api/v1/datasets", headers=bearer(secret)).status_code == 200


def test_a_request_acts_as_the_tokens_maker(http: TestClient) -> None:
    with acting_as(ARTIST):
        secret = create_token("train").secret
    launched = http.post("/api/v1/jobs", json=LAUNCH, headers=bearer(secret))
    assert launched.status_code == 202, launched.text
    entry = list_audit(action="job.launch")[0]
    assert (entry.subject, entry.name) == ("artist-1", "Ada Artist")
    job_id = launched.json()["job_id"]
    assert entry.target == f"job {job_id}: sample-table"
    local_job = http.post("/api/v1/jobs", json=LAUNCH, headers=bearer(create_token("admin").secret))
    assert http.post(f"/api/v1/jobs/{job_id}/cancel", headers=bearer(secret)).status_code == 202  # its own
    someone_elses = http.post(f"/api/v1/jobs/{local_job.json()['job_id']}/cancel", headers=bearer(secret))
    assert someone_elses.status_code == 403
    assert "cannot cancel someone else's job" in someone_elses.json()["error"]


def test_refused_tokens_are_rate_limited_per_address_and_logged(
    http: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    good = create_token("read").secret
    with caplog.at_level(logging.WARNING, logger="canvascraft.services.tokens"):
        for _ in range(10):
            assert http.get("/api/v1/datasets", headers=bearer("cc_guess")).status_code == 401
    assert sum("token refused for testclient" in r.getMessage() for r in caplog.records) == 10
    blocked = http.get("/api/v1/datasets", headers=bearer(good))  # even a good token, from that address
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    assert "too many refused tokens from testclient" in blocked.json()["error"]


def test_the_limit_forgets_failures_a_window_old() -> None:
    now = [0.0]
    limit = WindowLimit(limit=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        limit.check("10.0.0.1")
        limit.failed("10.0.0.1")
    with pytest.raises(TooManyFailures) as refused:
        limit.check("10.0.0.1")
    assert refused.value.retry_after == 60
    limit.check("10.0.0.2")  # another address is not held up
    now[0] = 59.5
    with pytest.raises(TooManyFailures):
        limit.check("10.0.0.1")
    now[0] = 60.5
    limit.check("10.0.0.1")
