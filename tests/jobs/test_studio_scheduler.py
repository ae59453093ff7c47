"""The served studio moves the job queue on by itself: no page needs to be open."""

from __future__ import annotations

import time
from pathlib import Path

from canvascraft.jobs import JobPool
from tests.studio_server import serve_studio


def test_a_started_studio_runs_queued_jobs_before_anyone_opens_it(
    sample_workspace: Path, tmp_path: Path
) -> None:
    pool = JobPool()
    first, second = pool.submit("sleep", {"seconds": 0.2}), pool.submit("sleep", {"seconds": 0.2})
    with serve_studio(sample_workspace, tmp_path / "studio.log"):
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if all(pool.get_job(j).state == "succeeded" for j in (first, second)):
                break
            time.sleep(0.5)  # this test never ticks: only the studio's own scheduler does
    assert [pool.get_job(j).state for j in (first, second)] == ["succeeded", "succeeded"]
