from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from canvascraft.server import extra_routes
from canvascraft.services.audit import list_audit
from canvascraft.services.people import Person, acting_as
from canvascraft.services.tokens import create_token

LAUNCH = {"dataset": "sample-table", "recipe": "table-starter", "trainer": "table-mlp", "epochs": 1}
ARTIST = Person("artist-1", "Ada", "artist")


@pytest.fixture
def http(sample_workspace: Path) -> Iterator[TestClient]:
    with TestClient(Starlette(routes=extra_routes()), base_url="http://127.0.0.1") as client:
        yield client


def test_scratch(http: TestClient) -> None:
    with acting_as(ARTIST):
        secret = create_token("train").secret
    r = http.post("/api/v1/jobs", json=LAUNCH, headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 202, r.text
    entries = list_audit(action="job.launch")
    assert entries[0].name == "Ada", entries
