"""The alert log and its outbox against real local servers: webhook (plain and Slack), retries with
backoff, an endpoint that comes back, dead letters, concurrent senders, and email over SMTP."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import select

from canvascraft.config import get_settings
from canvascraft.events import DriftDetected, TrainingCompleted, TrainingFailed, outbox, publish
from canvascraft.events.observers.webhook import TIMEOUT_S as WEBHOOK_TIMEOUT_S
from canvascraft.services.alerts import list_alerts, retry_now, save_alert_settings
from canvascraft.store.models import Alert, utcnow
from canvascraft.store.session import open_session
from tests.events.servers import smtp_server, webhook_receiver
from tests.local_servers import free_port

LATER = timedelta(minutes=11)
"""Past the longest backoff: a ``deliver_due(now=…)`` this far ahead finds every retry due."""


def drift(model: str = "paints", check_id: int = 12) -> DriftDetected:
    return DriftDetected(
        model_name=model,
        model_ref=f"{model}@champion",
        model_version=3,
        check_id=check_id,
        drifted_features=("hue",),
        sentences=("hue moved up by 0.4 standard deviations",),
        link=f"http://localhost:8501/drift?model={model}&check={check_id}",
    )


def states(model: str = "paints", now: datetime | None = None) -> list[str]:
    return [d.describe(now) for a in list_alerts(model) for d in a.deliveries]


def waits_s(state: str) -> int:
    """The ``next in N s`` of a retrying delivery's state."""
    found = re.search(r"next in (\d+) s\)", state)
    assert found, state
    return int(found.group(1))


def test_every_event_is_logged_and_only_chosen_events_are_sent(db: str) -> None:
    with webhook_receiver() as receiver:
        save_alert_settings("paints", webhook_url=receiver.url, events=["drift_detected"])
        quiet = TrainingFailed(job_id=3, reason="exit code 3", dataset="d", trainer="t", model_name="paints")
        studio = TrainingCompleted(job_id=4, run_id=None, dataset="d", trainer="t", metrics=())

        for event in (drift(), quiet, studio):
            assert publish(event) == []
        receiver.wait_for(1)

    assert len(receiver.requests) == 1
    (studio_alert,) = list_alerts("studio")
    assert (studio_alert.model_name, studio_alert.model_label, studio_alert.deliveries) == ("", "studio", ())
    newest, oldest = list_alerts("paints")
    assert (oldest.event, newest.event) == ("drift_detected", "training_failed")
    assert [d.state for d in oldest.deliveries] == ["delivered"] and newest.deliveries == ()
    assert newest.delivery_summary() == "logged only (nobody asked to hear about this event)"
    with open_session(db) as session:
        row = session.scalars(select(Alert).where(Alert.event == "drift_detected")).one()
        assert row.correlation_id == receiver.requests[0].body["correlation_id"]
        assert row.payload["check_id"] == 12 and row.acknowledged_at is None


def test_a_webhook_gets_the_alert_as_json(db: str) -> None:
    with webhook_receiver() as receiver:
        save_alert_settings("paints", webhook_url=receiver.url)
        event = drift()
        publish(event)
        (request,) = receiver.wait_for(1)

    body = request.body
    assert body["event"] == "drift_detected" and body["model"] == "paints"
    assert body["title"] == "Drift detected on paints@champion: 1 feature moved (check 12)"
    assert "hue moved up" in body["body"]
    assert body["link"] == event.link and body["correlation_id"] == event.correlation_id
    assert body["at"].endswith("+00:00") and body["payload"]["drifted_features"] == ["hue"]
    assert request.headers["X-CanvasCraft-Correlation-Id"] == event.correlation_id
    assert states() == ["delivered"]


def test_slack_format_posts_text_and_blocks(db: str) -> None:
    with webhook_receiver() as receiver:
        save_alert_settings("paints", webhook_url=receiver.url, slack_format=True)
        publish(drift())
        (request,) = receiver.wait_for(1)

    body = request.body
    assert set(body) == {"text", "blocks"}
    assert body["text"].startswith("Drift detected on paints@champion") and "check=12" in body["text"]
    kinds = [block["type"] for block in body["blocks"]]
    assert kinds == ["header", "section", "context", "actions"]
    assert body["blocks"][3]["elements"][0]["url"].endswith("check=12")


def test_an_endpoint_failing_twice_is_retried_with_backoff_then_delivered(db: str) -> None:
    with webhook_receiver(fail_first=2) as receiver:
        save_alert_settings("paints", webhook_url=receiver.url)
        before = utcnow()
        publish(drift())
        (state,) = states(now=before)  # seen from before the try: about 2 s (±25%), plus the try's own time
        assert state.startswith("retrying (1 try, next in ") and "s): HTTP 500 from " in state
        assert 2 <= waits_s(state) <= 5, state
        assert "receiver not ready" in state

        assert outbox.deliver_due() == 0, "not due yet: the backoff is respected"
        assert outbox.deliver_due(now=utcnow() + timedelta(seconds=3)) == 0
        assert states()[0].startswith("retrying (2 tries, next in ")
        assert outbox.deliver_due(now=utcnow() + LATER) == 1
        assert len(receiver.wait_for(1)) == 1

    assert len(receiver.requests) == 3
    assert states() == ["delivered after 3 tries"]
    assert outbox.deliver_due(now=utcnow() + 2 * LATER) == 0, "a delivered alert is never sent again"


def test_a_rate_limited_endpoint_is_retried_after_its_retry_after_then_delivered(db: str) -> None:
    with webhook_receiver(fail_first=1, fail_status=429, retry_after="30") as receiver:
        save_alert_settings("paints", webhook_url=receiver.url)
        before = utcnow()
        publish(drift())
        (state,) = states(now=before)
        assert state.startswith("retrying (1 try, next in ") and "s): HTTP 429 from " in state
        assert 30 <= waits_s(state) <= 33, state
        assert "(asked to wait 30 s): slow down" in state

        assert outbox.deliver_due(now=utcnow() + timedelta(seconds=5)) == 0, "it asked for 30 s, not 2"
        assert outbox.deliver_due(now=utcnow() + timedelta(seconds=31)) == 1
        assert len(receiver.wait_for(1)) == 1

    assert states() == ["delivered after 2 tries"]


def test_an_endpoint_that_times_out_is_retried_then_delivered(db: str) -> None:
    with webhook_receiver(slow_first=1, delay_s=WEBHOOK_TIMEOUT_S + 0.5) as receiver:
        save_alert_settings("paints", webhook_url=receiver.url)
        publish(drift())
        (state,) = states()
        assert state.startswith("retrying (1 try, ") and "): no answer from " in state, state
        assert f"within {WEBHOOK_TIMEOUT_S:g} s" in state

        assert outbox.deliver_due(now=utcnow() + LATER) == 1
        assert len(receiver.wait_for(1)) == 1

    assert states() == ["delivered after 2 tries"]


def test_an_alert_raised_while_the_endpoint_is_down_arrives_when_it_comes_back(db: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    save_alert_settings("paints", webhook_url=url)
    event = drift()

    assert publish(event) == [], "a down endpoint is not a subscriber failure"
    (state,) = states()
    assert state.startswith("retrying (1 try") and "could not reach" in state

    with webhook_receiver(port=port) as receiver:
        assert outbox.deliver_due(now=utcnow() + LATER) == 1
        (request,) = receiver.wait_for(1)

    assert request.body["correlation_id"] == event.correlation_id
    assert request.body["payload"] == event.to_dict()
    assert states() == ["delivered after 2 tries"]


def test_a_delivery_is_dead_lettered_after_the_last_try_and_retry_now_revives_it(db: str) -> None:
    port = free_port()
    save_alert_settings("paints", webhook_url=f"http://127.0.0.1:{port}/hook")
    publish(drift())
    now = utcnow()
    for _ in range(outbox.MAX_ATTEMPTS + 2):
        now += LATER
        outbox.deliver_due(now=now)

    (alert,) = list_alerts("paints")
    (delivery,) = alert.deliveries
    assert (delivery.state, delivery.attempts) == ("dead", outbox.MAX_ATTEMPTS)
    assert delivery.describe().startswith(f"dead-lettered after {outbox.MAX_ATTEMPTS} tries: could not reach")
    assert outbox.backoff_s(1, 0.5) == 2 and outbox.backoff_s(4, 0.5) == 16 and outbox.backoff_s(30) == 600

    with webhook_receiver(port=port) as receiver:
        view = retry_now(alert.id)
        assert len(receiver.wait_for(1)) == 1
    assert [d.state for d in view.deliveries] == ["delivered"]


def test_two_senders_at_once_send_each_delivery_once(db: str) -> None:
    port = free_port()
    save_alert_settings("paints", webhook_url=f"http://127.0.0.1:{port}/hook")
    for check_id in range(3):
        publish(drift(check_id=check_id))
    assert all(s.startswith("retrying") for s in states())

    with webhook_receiver(port=port, delay_s=0.2) as receiver:
        barrier = threading.Barrier(2)
        results: list[int] = []

        def sender() -> None:
            barrier.wait()
            results.append(outbox.deliver_due(now=utcnow() + LATER))

        threads = [threading.Thread(target=sender) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    assert sorted(results) and sum(results) == 3
    assert sorted(r.body["payload"]["check_id"] for r in receiver.requests) == [0, 1, 2]
    assert states() == ["delivered after 2 tries"] * 3


def test_email_is_sent_over_smtp_with_the_title_as_subject(
    db: str, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with smtp_server() as (port, mailbox):
        monkeypatch.setenv("CANVASCRAFT_SMTP_PORT", str(port))
        monkeypatch.setenv("CANVASCRAFT_SMTP_FROM", "alerts@studio.test")
        get_settings.cache_clear()
        save_alert_settings("paints", emails=["ana@example.com, ops@example.com"])
        event = drift()
        publish(event)
        envelopes = mailbox.wait_for(2)

    assert sorted(e.rcpt_tos[0] for e in envelopes) == ["ana@example.com", "ops@example.com"]
    message = message_from_bytes(envelopes[0].original_content)
    assert message["Subject"] == event.title()
    assert message["From"] == "alerts@studio.test"
    text = message.get_payload(decode=True).decode()
    assert "hue moved up" in text and event.link in text and event.correlation_id in text
    assert states() == ["delivered", "delivered"]


def test_one_refused_recipient_leaves_the_others_delivered_and_is_shown_on_its_own(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with smtp_server(refuse=("ghost@example.com",)) as (port, mailbox):
        monkeypatch.setenv("CANVASCRAFT_SMTP_PORT", str(port))
        get_settings.cache_clear()
        save_alert_settings("paints", emails=["ana@example.com, ghost@example.com, ops@example.com"])
        before = utcnow()
        publish(drift())
        envelopes = mailbox.wait_for(2)

    assert sorted(e.rcpt_tos[0] for e in envelopes) == ["ana@example.com", "ops@example.com"]
    (alert,) = list_alerts("paints")
    by_target = {d.target: d.describe(before) for d in alert.deliveries}
    assert by_target["ana@example.com"] == by_target["ops@example.com"] == "delivered"
    ghost = by_target["ghost@example.com"]
    assert ghost.startswith("retrying (1 try, next in ") and 2 <= waits_s(ghost) <= 5, ghost
    assert ghost.endswith(
        f"s): the mail server at 127.0.0.1:{port} refused ghost@example.com: 550 5.1.1 no such mailbox here"
    )


def test_an_unreachable_mail_server_leaves_the_email_retrying(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANVASCRAFT_SMTP_PORT", str(free_port()))
    get_settings.cache_clear()
    save_alert_settings("paints", emails=["ana@example.com"])
    publish(drift())
    (state,) = states()
    assert state.startswith("retrying (1 try") and "could not send email through 127.0.0.1:" in state


def test_the_scheduled_outbox_round_delivers_and_never_raises(
    db: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from canvascraft.scheduler.background import ALERT_OUTBOX_ID, BACKGROUND_JOBS, deliver_alerts

    assert ALERT_OUTBOX_ID in BACKGROUND_JOBS
    port = free_port()
    save_alert_settings("paints", webhook_url=f"http://127.0.0.1:{port}/hook")
    publish(drift())
    monkeypatch.setattr(outbox, "utcnow", lambda: utcnow() + LATER)  # the backoff has passed
    with webhook_receiver(port=port) as receiver:
        deliver_alerts()
        assert len(receiver.wait_for(1)) == 1
    assert states() == ["delivered after 2 tries"]

    monkeypatch.setenv("CANVASCRAFT_DATABASE_URL", f"sqlite:///{tmp_path / 'not-migrated.db'}")
    get_settings.cache_clear()  # a database without the tables: the round fails and says so
    deliver_alerts()
    assert "alert outbox round failed" in caplog.text


def test_backoffs_are_spread_so_alerts_that_failed_together_do_not_retry_together() -> None:
    waits = {round(outbox.backoff_s(3), 3) for _ in range(50)}
    assert len(waits) > 40 and min(waits) >= 6 and max(waits) <= 10  # 8 s ± 25%
    assert outbox.backoff_s(3, 0.0) == 6 and outbox.backoff_s(3, 0.999999) < 10
