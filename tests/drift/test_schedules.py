"""Watched models: schedules in the workspace database's job store, one run per tick across studios,
missed ticks coalesced, checks run as pool jobs on only the new files, files sent to Try, and the CLI."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from typer.testing import CliRunner

import canvascraft.drift.queue as drift_queue
from canvascraft.cli import app
from canvascraft.config import get_settings
from canvascraft.errors import DriftError
from canvascraft.events.outbox import deliver_due
from canvascraft.gallery.registry import register
from canvascraft.scheduler.drift import JOBSTORE, _editing, attach, job_id, next_runs
from canvascraft.services.alerts import list_alerts, save_alert_settings
from canvascraft.services.datasets import open_version, table_rows
from canvascraft.services.drift import (
    capture_sent,
    enqueue_scheduled,
    get_check,
    get_monitor,
    list_checks,
    request_check,
    run_check_now,
    save_monitor,
    set_paused,
)
from canvascraft.services.jobs import cancel_job, get_job, wait_for
from canvascraft.store.session import engine_for
from tests.conftest import TrainedTemplate, copy_trained, use_workspace
from tests.events.servers import smtp_server, webhook_receiver
from tests.local_servers import free_port

MODEL = "inks"


@pytest.fixture(scope="module")
def trained_template(
    trained_runs_template: TrainedTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A workspace with ``inks@champion``, the session's tiny table model, registered once for the module."""
    path = copy_trained(trained_runs_template, tmp_path_factory.mktemp("drift-schedules") / "workspace")
    with pytest.MonkeyPatch.context() as patch:
        use_workspace(patch, path)
        register(trained_runs_template.run_ids["table"], MODEL, alias="champion")
        engine_for(get_settings().db_url).dispose()
    get_settings.cache_clear()
    return path


@pytest.fixture
def model(trained_template: Path, workspace: Path) -> Iterator[str]:
    shutil.copytree(trained_template, workspace, dirs_exist_ok=True)
    yield MODEL
    engine_for(get_settings().db_url).dispose()


def studio_scheduler() -> BackgroundScheduler:
    """What a studio process runs for drift: a scheduler on the workspace's job store."""
    scheduler = BackgroundScheduler(timezone=UTC)
    attach(scheduler)
    scheduler.start()
    return scheduler


def rows_csv(folder: Path, name: str, *, shift: bool) -> Path:
    rows = table_rows(open_version("sample-table")).sample(120, random_state=1).drop(columns=["style"])
    if shift:
        rows["thickness_mm"] = rows["thickness_mm"] * 4 + 3
        rows["brightness"] = rows["brightness"] * 0.3
    path = folder / name
    rows.to_csv(path, index=False)
    return path


def record_claims(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool]]:
    """Every scheduled tick that reached us, as ``(tick, claimed)``; the scheduled function looks the
    queueing function up on each call, so wrapping it sees both schedulers' ticks."""
    seen: list[tuple[int, bool]] = []
    real = drift_queue.enqueue_scheduled

    def recording(monitor_id: int, now: datetime | None = None) -> int | None:
        now = now or datetime.now(UTC)
        result = real(monitor_id, now)
        seen.append((int(now.timestamp()), result is not None))
        return result

    monkeypatch.setattr(drift_queue, "enqueue_scheduled", recording)
    return seen


def test_a_schedule_is_kept_in_the_database_and_survives_a_restart(model: str) -> None:
    save_monitor(model, every="1h")

    scheduler = studio_scheduler()  # a studio started afterwards, in a fresh scheduler
    try:
        jobs = scheduler.get_jobs(JOBSTORE)
    finally:
        scheduler.shutdown(wait=False)
    monitor = get_monitor(model)
    assert [job.id for job in jobs] == [job_id(monitor.id)]
    assert jobs[0].trigger.interval == timedelta(hours=1)
    assert monitor.schedule_label == "every 1 h"
    assert monitor.next_run is not None
    assert timedelta(0) < monitor.next_run - datetime.now(UTC) <= timedelta(hours=1)


def test_editing_pausing_and_removing_a_schedule_changes_the_job_store(model: str) -> None:
    monitor = save_monitor(model, every="15min")
    save_monitor(model, cron="0 6 * * *")
    assert get_monitor(model).schedule_label == "cron 0 6 * * *"
    assert next_runs()[monitor.id].hour == 6

    paused = set_paused(model, True)
    assert paused.schedule_label == "cron 0 6 * * * (paused)" and paused.next_run is None
    assert next_runs()[monitor.id] is None
    assert set_paused(model, False).next_run is not None

    save_monitor(model)  # neither interval nor cron: checks by hand only
    assert monitor.id not in next_runs()
    assert get_monitor(model).schedule_label == "not scheduled"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"every": "soon"}, "write a number and a unit"),
        ({"cron": "every day"}, "is not a crontab line"),
        ({"every": "1h", "cron": "0 * * * *"}, "not both"),
        ({"source_kind": "dataset", "source": "no-such-data"}, "source dataset 'no-such-data'"),
        ({"source_kind": "inbox"}, "source must be one of"),
        ({"alias": "nope"}, "Register the model"),
        ({"thresholds": {"psi": -1}}, "psi"),
    ],
)
def test_a_bad_schedule_names_the_field_and_saves_nothing(model: str, options: dict, message: str) -> None:
    with pytest.raises(DriftError, match=message):
        save_monitor(model, **options)
    with pytest.raises(DriftError, match="not watched"):
        get_monitor(model)


def test_a_tick_is_claimed_once_whoever_runs_it(model: str) -> None:
    monitor = save_monitor(model, every="1min")
    now = datetime.now(UTC)

    first = enqueue_scheduled(monitor.id, now)
    assert first is not None
    assert enqueue_scheduled(monitor.id, now + timedelta(seconds=1)) is None  # a second studio, same tick
    assert enqueue_scheduled(monitor.id, now + timedelta(minutes=1)) == first  # still queued: reused
    set_paused(model, True)
    assert enqueue_scheduled(monitor.id, now + timedelta(minutes=2)) is None
    assert [check.trigger for check in list_checks(model)] == ["schedule"]


def test_two_studios_on_one_workspace_run_each_tick_once(model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    claims = record_claims(monkeypatch)
    save_monitor(model, every=1)
    studios = [studio_scheduler(), studio_scheduler()]
    time.sleep(4.5)
    for scheduler in studios:
        scheduler.shutdown(wait=True)

    won = [tick for tick, claimed in claims if claimed]
    assert len(won) >= 3, claims
    assert len(won) == len(set(won)), f"a tick ran twice: {claims}"
    assert len(claims) >= len(won)


def test_ticks_missed_while_no_studio_ran_coalesce_into_one_run(
    model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monitor = save_monitor(model, every="1h")
    with _editing() as scheduler:  # the studio was down for five hours: five ticks missed
        scheduler.modify_job(
            job_id(monitor.id), JOBSTORE, next_run_time=datetime.now(UTC) - timedelta(hours=5)
        )
    claims = record_claims(monkeypatch)

    studio = studio_scheduler()
    time.sleep(2)
    studio.shutdown(wait=True)

    assert [claimed for _, claimed in claims] == [True]
    assert get_monitor(model).next_run > datetime.now(UTC)


def test_a_queued_check_runs_as_a_job_on_only_the_new_files(model: str) -> None:
    monitor = save_monitor(model, every="1h")
    rows_csv(monitor.folder, "calm.csv", shift=False)

    first = wait_for(get_check_job(request_check(model)), timeout_s=300)
    assert first.state == "succeeded", first.error_tail
    calm = list_checks(model)[0]
    assert calm.state == "done" and calm.drifted is False and calm.current.startswith("1 new file")

    rows_csv(monitor.folder, "shifted.csv", shift=True)
    (monitor.folder / "broken.csv").write_bytes(b"\x00\x01 not a table")
    shifted = run_check_now(model, trigger="manual")
    assert shifted.summary.state == "done" and shifted.summary.drifted
    assert shifted.summary.current.startswith("2 new files")  # calm.csv was read already
    assert any("thickness" in sentence for sentence in shifted.summary.sentences)
    assert [name for name, _ in shifted.skipped if name.endswith(".csv")] == ["broken.csv"]
    drifted = {point.feature for point in shifted.metrics if point.drifted}
    assert {"thickness_mm", "brightness"} <= drifted
    assert "thickness_mm" in shifted.histograms and shifted.farthest

    assert run_check_now(model).summary.state == "no_data"
    rows_csv(monitor.folder, "calm.csv", shift=True)  # rewritten: counts as new again
    assert run_check_now(model).summary.current.startswith("1 new file")


def get_check_job(check_id: int) -> int:
    job = get_check(check_id, finished_only=False).summary.job_id
    assert job is not None and get_job(job).kind == "drift"
    return job


def test_files_sent_to_try_are_kept_by_content_for_a_watching_model(model: str) -> None:
    sent = rows_csv(get_settings().workspace, "sent.csv", shift=True)
    csv = sent.read_bytes()
    assert capture_sent(model, "sent.csv", csv) is None  # not watched: nothing kept

    monitor = save_monitor(model, source_kind="sent")
    predicted = CliRunner().invoke(app, ["predict", f"{model}@champion", str(sent)])
    assert predicted.exit_code == 0, predicted.output
    assert [path.suffix for path in monitor.folder.iterdir()] == [".csv"]  # what Try predicted is kept
    kept = capture_sent(model, "../../etc/evil.csv", csv)
    assert kept is not None and kept.parent == get_monitor(model).folder and ".." not in kept.name
    assert capture_sent(model, "again.csv", csv) == kept
    assert capture_sent(model, "script.sh", b"rm -rf /") is None
    check = run_check_now(model)
    assert check.summary.state == "done" and check.summary.drifted


def test_the_cli_schedules_lists_checks_and_writes_a_report(model: str, tmp_path: Path) -> None:
    runner = CliRunner()
    scheduled = runner.invoke(app, ["drift", "schedule", f"{model}@champion", "--every", "1h",
                                    "--threshold", "psi=0.5"])  # fmt: skip
    assert scheduled.exit_code == 0, scheduled.output
    assert "every 1 h" in scheduled.output and str(get_monitor(model).folder) in scheduled.output
    assert get_monitor(model).custom_thresholds == {"psi": 0.5}

    rows_csv(get_monitor(model).folder, "shifted.csv", shift=True)
    ran = runner.invoke(app, ["drift", "run", model, "--report", str(tmp_path / "run.html")])
    assert ran.exit_code == 0, ran.output
    assert ran.output.startswith("DRIFT") and "/drift?model=inks&check=" in ran.output

    checked = runner.invoke(app, ["drift", "check", f"{model}@champion", "--current", "sample-table",
                                  "--report", str(tmp_path / "check.html")])  # fmt: skip
    assert checked.exit_code == 0, checked.output
    assert checked.output.startswith("no drift")
    report = (tmp_path / "check.html").read_text()
    assert report.startswith("<!DOCTYPE html>") and "sample-table" in report

    listed = json.loads(runner.invoke(app, ["drift", "list", "--json"]).output)
    assert listed[0]["model"] == "inks@champion" and listed[0]["schedule"] == "every 1 h"
    assert listed[0]["latest"].startswith("no drift")
    assert runner.invoke(app, ["drift", "pause", model]).output.strip().endswith("(paused)")
    assert runner.invoke(app, ["drift", "unwatch", model]).exit_code == 0
    missing = runner.invoke(app, ["drift", "run", model])
    assert missing.exit_code == 1 and "is not watched" in missing.output
    assert len(list_checks(model)) == 2  # the history stays


def test_drift_found_by_a_check_job_reaches_a_webhook_and_a_mailbox_even_one_that_was_down(
    model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with smtp_server() as (smtp_port, mailbox):
        monkeypatch.setenv("CANVASCRAFT_SMTP_PORT", str(smtp_port))  # the check job inherits it
        get_settings.cache_clear()
        port = free_port()
        save_alert_settings(model, webhook_url=f"http://127.0.0.1:{port}/hook", emails=["artist@example.com"])
        monitor = save_monitor(model, every="1h")
        with webhook_receiver(port) as receiver:
            rows_csv(monitor.folder, "shifted.csv", shift=True)
            job = wait_for(get_check_job(request_check(model)), timeout_s=300)
            assert job.state == "succeeded", job.error_tail
            (request,) = receiver.wait_for(1)
        (mail,) = mailbox.wait_for(1)

        assert request.body["event"] == "drift_detected" and request.body["model"] == model
        # the check's job process published it in the chain the check was queued in
        assert request.body["correlation_id"] == job.spec["trace"]["correlation_id"]
        assert "thickness" in request.body["body"]
        assert f"/drift?model={model}&check={list_checks(model)[0].id}" in request.body["link"]
        assert mail.rcpt_tos == ["artist@example.com"] and b"Drift detected" in mail.content

        rows_csv(monitor.folder, "shifted-again.csv", shift=True)  # the receiver is down now
        detail = run_check_now(model)
        assert detail.summary.drifted
        webhook = [d.state for d in list_alerts(model)[0].deliveries if d.channel == "webhook"]
        assert webhook == ["retrying"]
        with webhook_receiver(port) as receiver:  # back up: the outbox delivers it late, intact
            deliver_due(now=datetime.now(UTC) + timedelta(minutes=10))
            (late,) = receiver.wait_for(1)
        assert late.body["payload"]["check_id"] == detail.summary.id
        assert [d.state for d in list_alerts(model)[0].deliveries if d.channel == "webhook"] == ["delivered"]


def test_a_check_whose_job_is_cancelled_ends_failed_and_leaves_its_files_new(model: str) -> None:
    monitor = save_monitor(model)
    rows_csv(monitor.folder, "shifted.csv", shift=True)
    check_id = request_check(model)
    cancel_job(get_check_job(check_id))

    cancelled = get_check(check_id).summary
    assert cancelled.state == "failed" and "cancelled before it finished" in (cancelled.error or "")
    assert run_check_now(model).summary.current.startswith("1 new file")  # shifted.csv is still new
