"""A new alert channel is one module: this one appends each alert as a JSON line to a file. It is
declared and registered here, proves itself against the shipped ``AlertChannelContract``, is set as a
model's alert target (settings, CLI), and a drift check the drift service announces reaches it through
the bus, the alert log and the outbox, with no change anywhere else."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from canvascraft.cli import app
from canvascraft.errors import AlertError, DeliveryError, UnknownNameError
from canvascraft.events import outbox
from canvascraft.events.channels import CHANNELS, AlertChannel, get_channel, register_channel
from canvascraft.events.message import AlertMessage
from canvascraft.services.alerts import get_alert_settings, list_alerts, list_channels, save_alert_settings
from canvascraft.services.drift import announce
from canvascraft.store.models import DriftCheck, DriftMetric, utcnow
from canvascraft.store.session import open_session
from canvascraft.testing.channels import AlertChannelContract, Inbox

LATER = timedelta(minutes=11)


class FileChannel(AlertChannel):
    """Appends one JSON line per alert to the file the target names (a log another tool tails)."""

    name = "test-file"
    summary = "Append each alert as one JSON line to a file."
    target_label = "alert file"

    @classmethod
    def check_target(cls, target: str) -> str:
        path = Path((target or "").strip())
        if not path.is_absolute() or not path.parent.is_dir():
            raise AlertError(
                f"alert file: {(target or '').strip()!r} is not an absolute path in an existing folder; "
                "give the full path of the file to append to"
            )
        return str(path)

    def send(self, target: str, message: AlertMessage) -> None:
        line = json.dumps(
            {
                "correlation_id": message.correlation_id,
                "event": message.event,
                "model": message.model_label,
                "title": message.title,
                "text": message.text(),
            }
        )
        try:
            with open(target, "a", encoding="utf-8") as file:
                file.write(line + "\n")
        except OSError as error:
            raise DeliveryError(f"could not append to {target}: {error.strerror or error}") from None


@pytest.fixture
def registered() -> Iterator[type[FileChannel]]:
    register_channel(FileChannel)
    yield FileChannel
    CHANNELS.unregister(FileChannel.name)


def lines(path: Path, count: int = 0, timeout: float = 0.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        found = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        if len(found) >= count or time.monotonic() >= deadline:
            return found
        time.sleep(0.02)


class TestFileChannel(AlertChannelContract):
    bad_targets = ("alerts.jsonl", "relative/alerts.jsonl", "/no/such/folder/alerts.jsonl")

    @pytest.fixture
    def channel_class(self, registered: type[FileChannel]) -> type[FileChannel]:
        return registered

    @pytest.fixture
    def inbox(self, registered: type[FileChannel], tmp_path: Path) -> Inbox:
        path = tmp_path / "alerts.jsonl"
        return Inbox(str(path), lambda count, timeout: lines(path, count, timeout))

    @pytest.fixture
    def channel(self, registered: type[FileChannel]) -> FileChannel:
        return registered()

    @pytest.fixture
    def unreachable(self, registered: type[FileChannel], tmp_path: Path) -> tuple[FileChannel, str]:
        return registered(), str(tmp_path / "unmounted" / "alerts.jsonl")  # its folder is gone


def drift_check(model: str = "paints") -> int:
    """A finished check that found drift in ``hue``, stored as the drift service stores one."""
    with open_session() as session:
        check = DriftCheck(
            model_name=model, model_ref=f"{model}@champion", model_version=3, trigger="manual",
            state="done", drifted=True, finished_at=utcnow(), n_reference=40, n_current=20,
            sentences=["hue moved up by 0.4 standard deviations"],
        )  # fmt: skip
        check.metrics = [DriftMetric(feature="hue", metric="psi", value=0.4, threshold=0.2, drifted=True)]
        session.add(check)
        session.flush()
        return int(check.id)


def test_a_drift_alert_reaches_the_new_channel_through_the_outbox(
    db: str, registered: type[FileChannel], tmp_path: Path
) -> None:
    path = tmp_path / "alerts.jsonl"
    save_alert_settings("paints", emails=[], channel_targets=[("test-file", str(path))])
    assert get_alert_settings("paints").targets == [("test-file", str(path))]

    check_id = drift_check()
    announce(check_id)  # what a drift check does when it ends: CheckCompleted, then DriftDetected

    (line,) = lines(path, 1, 5.0)
    sent = json.loads(line)
    (alert,) = [a for a in list_alerts("paints") if a.event == "drift_detected"]
    assert (sent["event"], sent["model"], sent["correlation_id"]) == (
        "drift_detected",
        "paints",
        alert.correlation_id,
    )
    assert f"check {check_id}" in sent["title"] and "hue moved up" in sent["text"]
    assert [(d.channel, d.target, d.state) for d in alert.deliveries] == [
        ("test-file", str(path), "delivered")
    ]


def test_a_delivery_to_the_new_channel_is_retried_until_its_target_is_back(
    db: str, registered: type[FileChannel], tmp_path: Path
) -> None:
    folder = tmp_path / "share"
    folder.mkdir()
    path = folder / "alerts.jsonl"
    save_alert_settings("paints", channel_targets=[f"test-file:{path}"])
    folder.rmdir()  # the share is unmounted when the drift is found

    announce(drift_check())
    (alert,) = [a for a in list_alerts("paints") if a.event == "drift_detected"]
    (delivery,) = alert.deliveries
    assert delivery.describe().startswith("retrying (1 try") and "could not append to" in delivery.describe()

    folder.mkdir()
    assert outbox.deliver_due(now=utcnow() + LATER) == 1
    assert json.loads(lines(path, 1)[0])["correlation_id"] == alert.correlation_id
    assert [d.state for d in list_alerts("paints")[0].deliveries] == ["delivered"]


def test_targets_of_the_new_channel_are_checked_by_it_and_kept_beside_webhook_and_email(
    db: str, registered: type[FileChannel], tmp_path: Path
) -> None:
    path = str(tmp_path / "alerts.jsonl")
    assert "test-file" in [c.name for c in list_channels()]
    with pytest.raises(AlertError, match=r"alert file: 'alerts\.jsonl' is not an absolute path"):
        save_alert_settings("paints", channel_targets=[("test-file", "alerts.jsonl")])
    with pytest.raises(
        UnknownNameError, match="channel targets: unknown alert channel 'test-fil'; did you mean"
    ):
        save_alert_settings("paints", channel_targets=[("test-fil", path)])
    with pytest.raises(AlertError, match="alert file: longer than 2000 characters"):
        save_alert_settings("paints", channel_targets=[("test-file", str(tmp_path / ("a" * 2001)))])
    with pytest.raises(AlertError, match="is not CHANNEL:TARGET"):
        save_alert_settings("paints", channel_targets=["test-file"])

    saved = save_alert_settings(
        "paints",
        webhook_url="https://hooks.example.com/x",
        emails=["ana@example.com"],
        channel_targets=[
            ("test-file", f" {path} "),
            f"test-file:{path}",
            "webhook:https://hooks.example.com/x",
        ],
    )
    assert saved.channel_targets == (("test-file", path), ("webhook", "https://hooks.example.com/x"))
    assert saved.targets == [
        ("webhook", "https://hooks.example.com/x"),
        ("email", "ana@example.com"),
        ("test-file", path),
    ], "each (channel, target) once, so an alert has one delivery per target"
    assert get_alert_settings("paints") == saved

    runner = CliRunner()
    shown = runner.invoke(app, ["alerts", "settings", "paints", "--no-auto-retrain"])
    assert shown.exit_code == 0, shown.output
    assert f"other:        test-file:{path}, webhook:https://hooks.example.com/x" in shown.output
    assert get_alert_settings("paints").channel_targets == saved.channel_targets, "other options keep them"
    other = str(tmp_path / "other.jsonl")
    changed = runner.invoke(app, ["alerts", "settings", "paints", "--target", f"test-file:{other}"])
    assert changed.exit_code == 0, changed.output
    assert get_alert_settings("paints").channel_targets == (("test-file", other),)
    assert get_alert_settings("paints").emails == ("ana@example.com",)
    bad = runner.invoke(app, ["alerts", "settings", "paints", "--target", "test-file:nope"])
    assert bad.exit_code == 1 and "alert file: 'nope' is not an absolute path" in bad.stderr
    cleared = runner.invoke(app, ["alerts", "settings", "paints", "--no-targets"])
    assert cleared.exit_code == 0 and "other:        (none)" in cleared.output
    listed = runner.invoke(app, ["alerts", "channels"])
    assert listed.exit_code == 0 and "test-file" in listed.output and "webhook" in listed.output


def test_a_delivery_naming_a_channel_nobody_registered_fails_with_the_name_and_is_retried(
    db: str, registered: type[FileChannel], tmp_path: Path
) -> None:
    path = tmp_path / "alerts.jsonl"
    save_alert_settings("paints", channel_targets=[("test-file", str(path))])
    CHANNELS.unregister(FileChannel.name)  # its module is gone from this studio
    with pytest.raises(UnknownNameError, match="unknown alert channel 'test-file'"):
        get_channel("test-file")

    announce(drift_check())
    (alert,) = [a for a in list_alerts("paints") if a.event == "drift_detected"]
    (delivery,) = alert.deliveries
    assert delivery.state == "retrying" and "unknown alert channel 'test-file'" in (delivery.last_error or "")

    register_channel(FileChannel)  # back: the next round delivers it
    assert outbox.deliver_due(now=utcnow() + LATER) == 1
    assert len(lines(path)) == 1


def panel_script() -> None:
    from components.alerts_panel import render_alert_settings

    render_alert_settings("paints")


def test_the_drift_page_panel_sets_targets_of_the_new_channel(
    db: str, registered: type[FileChannel], tmp_path: Path
) -> None:
    path = str(tmp_path / "alerts.jsonl")
    page = AppTest.from_function(panel_script, default_timeout=30).run()
    assert "test-file (alert file)" in page.text_area(key="alerts-targets-paints").help

    page.text_area(key="alerts-targets-paints").input("test-file:relative.jsonl")
    page.button[0].click().run()
    assert "alert file: 'relative.jsonl' is not an absolute path" in page.error[0].value
    page.text_area(key="alerts-targets-paints").input(f"test-file:{path}\n\n")
    page.button[0].click().run()
    assert page.success[0].value == "Alert settings saved."
    assert get_alert_settings("paints").channel_targets == (("test-file", path),)

    page = AppTest.from_function(panel_script, default_timeout=30).run()
    assert page.text_area(key="alerts-targets-paints").value == f"test-file:{path}"
