"""The served studio moves the job queue on by itself: no page needs to be open."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

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


def test_an_overlapping_pool_tick_is_not_a_warning_but_another_jobs_skip_is(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``make run``'s console repeated "tick_job_pool … skipped: maximum number of running instances
    reached": the pool tick overlapping itself is expected (one at a time), so it is not logged."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from canvascraft.scheduler.background import POOL_TICK_ID, quiet_overlapping_ticks

    release = threading.Event()
    quiet_overlapping_ticks()
    scheduler = BackgroundScheduler(daemon=True)
    for job_id in (POOL_TICK_ID, "someone-elses-job"):  # both outlast their interval
        scheduler.add_job(
            release.wait, "interval", seconds=0.05, id=job_id, name=job_id, max_instances=1, coalesce=True
        )
    caplog.set_level(logging.WARNING, logger="apscheduler")
    scheduler.start()
    try:
        deadline = time.monotonic() + 30
        while not any("someone-elses-job" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the other job never overlapped itself"
            time.sleep(0.05)
    finally:
        release.set()
        scheduler.shutdown(wait=True)
    skipped = [
        r.getMessage() for r in caplog.records if "maximum number of running instances" in r.getMessage()
    ]
    assert skipped and all("someone-elses-job" in message for message in skipped)
