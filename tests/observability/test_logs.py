"""JSON logs with one correlation id across the parent, the bus and a real job process."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from canvascraft.events.bus import EventBus
from canvascraft.events.types import CheckCompleted, Event
from canvascraft.jobs.pool import JobPool
from canvascraft.jobs.states import JobState
from canvascraft.observability.logs import (
    TRACE_KEY,
    configure_logging,
    correlation,
    current_correlation_id,
    log_file,
    reset_logging,
)
from canvascraft.store.migrate import upgrade
from tests.jobs.helpers import finished, wait_for


@pytest.fixture
def server_logging(workspace: Path) -> Iterator[Path]:
    """This process logs as the server does; the handlers go again after the test."""
    configure_logging("server")
    yield log_file()
    reset_logging()


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_job_queued_in_a_chain_logs_under_its_id_here_and_in_its_process(server_logging: Path) -> None:
    upgrade()
    pool = JobPool(max_concurrent=1)
    with correlation(step="test chain") as chain:
        logging.getLogger("tests.chain").info("drift found, retraining")
        job_id = pool.submit("sleep", {"seconds": 0.1})
    assert current_correlation_id() is None
    job = wait_for(pool, job_id, finished, timeout=60)  # launched and ended outside the chain
    assert job.state == JobState.SUCCEEDED
    assert job.spec[TRACE_KEY]["correlation_id"] == chain

    found = lines(server_logging)
    ours = [line for line in found if line["correlation_id"] == chain]
    here = [line for line in ours if line["pid"] == os.getpid()]
    there = [line for line in ours if line["pid"] == job.pid]
    assert [line["message"] for line in here] == [
        "drift found, retraining",
        f"job {job_id} (sleep) queued",
        f"job {job_id} (sleep) started",
        f"job {job_id} (sleep) ended succeeded",
    ]
    assert [line["message"] for line in there] == [
        f"job {job_id} process {job.pid} started",
        f"job {job_id} process ended with exit code 0",
    ]
    assert {line["component"] for line in here} == {"server"} and {line["component"] for line in there} == {
        "job"
    }
    assert all(line["job_id"] == job_id for line in there + here[1:])
    assert {line["level"] for line in ours} == {"info"} and all(
        line["time"].endswith("+00:00") for line in ours
    )
    # one trace: the job's spans continue the span it was queued in (W3C traceparent)
    assert len({line["trace_id"] for line in ours}) == 1
    # the job's own log file is as readable as before: what it printed, no JSON
    text = Path(job.log_path or "").read_text()
    assert f"job {job_id} started pid {job.pid}" in text and "{" not in text


def test_a_job_queued_outside_any_chain_gets_none(server_logging: Path) -> None:
    upgrade()
    pool = JobPool(max_concurrent=1)
    job_id = pool.submit("sleep", {"seconds": 0})
    job = wait_for(pool, job_id, finished)
    assert TRACE_KEY not in job.spec
    mine = [line for line in lines(server_logging) if line["job_id"] == job_id]
    assert mine and all(line["correlation_id"] is None for line in mine)


def check_completed(**overrides: Any) -> CheckCompleted:
    fields: dict[str, Any] = {"model_name": "m", "model_ref": "m@champion", "model_version": 1,
                              "check_id": 1, "drifted": False, "link": ""}  # fmt: skip
    return CheckCompleted(**fields, **overrides)


def test_observers_run_in_the_events_chain_and_events_made_in_a_chain_join_it() -> None:
    bus = EventBus()
    seen: list[str | None] = []

    def observer(event: Event) -> None:
        seen.append(current_correlation_id())

    bus.subscribe(observer)
    started = check_completed()  # outside any chain: it starts one
    bus.publish(started)
    with correlation("chain-1"):
        joined = check_completed()
    bus.publish(joined)

    assert joined.correlation_id == "chain-1"
    assert seen == [started.correlation_id, "chain-1"]
    assert current_correlation_id() is None


def test_text_format_on_stderr_still_names_the_chain_and_the_file_stays_json(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from canvascraft.config import get_settings

    monkeypatch.setenv("CANVASCRAFT_LOG_FORMAT", "text")
    monkeypatch.setenv("CANVASCRAFT_LOG_FILE", str(workspace / "elsewhere.jsonl"))
    get_settings.cache_clear()
    configure_logging("server")
    try:
        with correlation("chain-2"):
            try:
                raise ValueError("bad value")
            except ValueError:
                logging.getLogger("tests.text").exception("it failed")
    finally:
        reset_logging()
    err = capsys.readouterr().err
    assert "ERROR tests.text [chain-2] it failed" in err
    (line,) = [line for line in lines(workspace / "elsewhere.jsonl") if line["logger"] == "tests.text"]
    assert line["correlation_id"] == "chain-2" and line["level"] == "error"
    assert "ValueError: bad value" in line["exception"]


def test_the_schedulers_routine_ticks_stay_out_of_the_studio_log(server_logging: Path) -> None:
    """The pool ticks every second; APScheduler's two INFO lines per run would bury the studio's own."""
    from apscheduler.schedulers.background import BackgroundScheduler

    ran = []
    scheduler = BackgroundScheduler()
    scheduler.add_job(lambda: ran.append(1), "interval", seconds=0.05, id="tick")
    scheduler.start()
    try:
        wait_until = 100
        while len(ran) < 3 and wait_until:
            wait_until -= 1
            threading.Event().wait(0.05)
    finally:
        scheduler.shutdown()
    logging.getLogger("canvascraft.jobs.pool").info("job 1 (sleep) queued")
    written = lines(server_logging)
    assert len(ran) >= 3 and [line["message"] for line in written] == ["job 1 (sleep) queued"]
