"""Alert settings (checked, with messages naming the field), the ``canvascraft alerts`` commands and the
alerts panel through AppTest."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from canvascraft.cli import app
from canvascraft.errors import AlertError
from canvascraft.events import DriftDetected, TrainingFailed, publish
from canvascraft.services.alerts import (
    acknowledge,
    get_alert_settings,
    list_alerts,
    parse_duration,
    save_alert_settings,
)
from canvascraft.store.migrate import upgrade
from canvascraft.store.session import engine_for


def drift(model: str = "paints") -> DriftDetected:
    return DriftDetected(
        model_name=model,
        model_ref=f"{model}@champion",
        model_version=1,
        check_id=9,
        drifted_features=("hue",),
        sentences=(),
        link="http://localhost:8501/drift",
    )


def test_unsaved_settings_are_the_quiet_defaults(db: str) -> None:
    view = get_alert_settings("paints")
    assert (view.saved, view.webhook_url, view.emails) == (False, None, ())
    assert view.events == ("drift_detected", "training_failed")
    assert (view.auto_retrain, view.ask_first, view.cooldown_s) == (False, True, 3600)


def test_settings_are_saved_cleaned_and_replaced(db: str) -> None:
    saved = save_alert_settings(
        "paints",
        webhook_url=" https://hooks.example.com/x ",
        slack_format=True,
        emails=["ana@example.com; ops@example.com", "ana@example.com"],
        events=["drift_detected,check_completed"],
        auto_retrain=True,
        ask_first=False,
        cooldown_s=600,
    )
    assert saved.webhook_url == "https://hooks.example.com/x"
    assert saved.emails == ("ana@example.com", "ops@example.com")
    assert saved.events == ("drift_detected", "check_completed")
    assert get_alert_settings("paints") == saved
    again = save_alert_settings("paints", webhook_url="")
    assert (again.webhook_url, again.emails, again.auto_retrain) == (None, (), False)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"webhook_url": "ftp://example.com/x"},
            "webhook URL: 'ftp://example.com/x' is not an http:// or https://",
        ),
        ({"webhook_url": "hooks.example.com"}, "paste the full URL"),
        ({"emails": ["ana@example"]}, "email recipients: 'ana@example' is not an email address"),
        (
            {"events": ["drift"]},
            "events: 'drift' is not an event; choose from drift_detected, check_completed",
        ),
        ({"cooldown_s": -1}, "cool-down: -1 is not a number of seconds of 0 or more"),
    ],
)
def test_bad_settings_are_refused_with_the_field_and_what_to_do(
    db: str, values: dict[str, object], message: str
) -> None:
    with pytest.raises(AlertError, match=message.replace("(", r"\(").replace("?", r"\?")):
        save_alert_settings("paints", **values)  # type: ignore[arg-type]
    assert not get_alert_settings("paints").saved


def test_durations_read_like_people_write_them() -> None:
    assert [parse_duration(t) for t in ("90", "90s", "15m", "1h", "2d", "1.5h")] == [
        90,
        90,
        900,
        3600,
        172800,
        5400,
    ]
    with pytest.raises(AlertError, match="write it as 90s, 15m, 1h or 2d"):
        parse_duration("soon")


def test_acknowledging_an_unknown_alert_says_how_to_find_ids(db: str) -> None:
    with pytest.raises(AlertError, match="alert 41: no such alert; `canvascraft alerts list`"):
        acknowledge(41)


def test_cli_settings_list_and_ack(db: str) -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["alerts", "settings", "paints"])
    assert shown.exit_code == 0, shown.output
    assert "alert settings for paints (defaults)" in shown.output and "auto-retrain: off" in shown.output

    saved = runner.invoke(
        app,
        ["alerts", "settings", "paints", "--webhook", "https://hooks.example.com/x", "--slack",
         "--email", "ana@example.com", "--email", "ops@example.com", "--events", "drift_detected",
         "--auto-retrain", "--no-ask-first", "--cooldown", "2h"],
    )  # fmt: skip
    assert saved.exit_code == 0, saved.output
    assert "webhook:      https://hooks.example.com/x (Slack format)" in saved.output
    assert "email:        ana@example.com, ops@example.com" in saved.output
    assert "auto-retrain: on, switches when better" in saved.output and "cool-down:    7200 s" in saved.output
    kept = runner.invoke(app, ["alerts", "settings", "paints", "--no-auto-retrain"])
    assert "auto-retrain: off" in kept.output and "ana@example.com" in kept.output, "other values are kept"

    bad = runner.invoke(app, ["alerts", "settings", "paints", "--webhook", "nope"])
    assert bad.exit_code == 1
    assert bad.stderr.strip().startswith("error: webhook URL: 'nope' is not an http:// or https://")

    save_alert_settings("paints")  # nobody to tell, so no network in this test
    publish(drift())
    publish(TrainingFailed(job_id=2, reason="exit code 1", dataset="d", trainer="t"))
    listed = runner.invoke(app, ["alerts", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    alerts = json.loads(listed.stdout)
    assert [(a["event"], a["model"]) for a in alerts] == [
        ("training_failed", "studio"),
        ("drift_detected", "paints"),
    ]
    assert alerts[1]["title"] == "Drift detected on paints@champion: 1 feature moved (check 9)"

    text = runner.invoke(app, ["alerts", "list", "--model", "paints"])
    assert "] Drift detected on paints@champion" in text.output and "studio" not in text.output

    acked = runner.invoke(app, ["alerts", "ack", str(alerts[1]["id"])])
    assert acked.exit_code == 0 and f"acknowledged alert #{alerts[1]['id']}" in acked.output
    assert list_alerts("paints")[0].acknowledged
    missing = runner.invoke(app, ["alerts", "ack", "999"])
    assert missing.exit_code == 1 and "no such alert" in missing.stderr

    delivered = runner.invoke(app, ["alerts", "deliver"])
    assert delivered.exit_code == 0 and "delivered 0; 0 still waiting" in delivered.output


def panel_script() -> None:
    from components.alerts_panel import render_alert_list, render_alert_settings

    render_alert_settings("paints")
    render_alert_list("paints")


def test_the_panel_saves_settings_shows_errors_and_acknowledges(db: str) -> None:
    page = AppTest.from_function(panel_script, default_timeout=30).run()
    assert not page.exception
    assert page.info[0].value.startswith("No alerts waiting for you")

    page.text_input(key="alerts-webhook-paints").input("not a url")
    page.button[0].click().run()
    assert "webhook URL: 'not a url' is not an http:// or https:// address" in page.error[0].value
    assert not get_alert_settings("paints").saved

    page.text_input(key="alerts-webhook-paints").input("")
    page.text_input(key="alerts-emails-paints").input("ana@example.com")
    page.multiselect(key="alerts-events-paints").select("check_completed")
    page.toggle(key="alerts-auto-retrain-paints").set_value(True)
    page.number_input(key="alerts-cooldown-paints").set_value(30)
    page.button[0].click().run()
    assert page.success[0].value == "Alert settings saved."
    saved = get_alert_settings("paints")
    assert saved.emails == ("ana@example.com",) and saved.auto_retrain and saved.cooldown_s == 1800
    assert saved.events == ("drift_detected", "training_failed", "check_completed")

    save_alert_settings("paints")  # keep the alert offline
    publish(drift())
    page.run()
    (alert,) = list_alerts("paints")
    table = page.dataframe[0].value
    assert list(table["title"]) == [alert.title]
    assert list(table["delivery"]) == ["logged only (nobody asked to hear about this event)"]

    page.button(key=f"alerts-ack-{alert.id}-paints").click().run()
    assert page.success[0].value == f"Alert #{alert.id} acknowledged."
    assert list_alerts("paints")[0].acknowledged
    assert page.info[0].value.startswith("No alerts waiting for you"), "acknowledged alerts are hidden"


def test_settings_saved_before_channel_targets_existed_keep_working(database_url: str) -> None:
    upgrade(database_url, "0007")
    with engine_for(database_url).begin() as connection:
        connection.execute(
            text(
                "INSERT INTO alert_settings (model_name, webhook_url, slack_format, emails, events, "
                "auto_retrain, ask_first, cooldown_s, updated_at) VALUES ('paints', "
                "'https://hooks.example.com/x', false, '[\"ana@example.com\"]', '[\"drift_detected\"]', "
                "false, true, 60, '2026-01-01 00:00:00')"
            )
        )
    upgrade(database_url)

    view = get_alert_settings("paints")
    assert (view.webhook_url, view.emails, view.channel_targets) == (
        "https://hooks.example.com/x",
        ("ana@example.com",),
        (),
    )
    assert view.targets == [("webhook", "https://hooks.example.com/x"), ("email", "ana@example.com")]
