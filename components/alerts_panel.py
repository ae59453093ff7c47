"""A model's alert settings form and its alert list (the Drift page shows both).

Everything is done by ``canvascraft.services.alerts``; this module only reads widgets and renders.
Widget keys start with ``alerts-`` and carry the model name, so two models' panels never share state.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from canvascraft.errors import CanvasCraftError
from canvascraft.services import alerts
from components.roles import may, needs
from components.text import plain

LIST_LIMIT = 50
ACTION_ROWS = 10
"""Alerts with their own Acknowledge / Retry now buttons; older ones are in the table only."""


def _key(model_name: str, what: str) -> str:
    return f"alerts-{what}-{model_name or 'studio'}"


def render_alert_settings(model_name: str) -> None:
    """Who hears about this model's events, how, and whether drift retrains it (admins only: a webhook
    address is a secret)."""
    if not needs("admin", "Alert settings"):
        return
    current = alerts.get_alert_settings(model_name)
    with st.form(_key(model_name, "settings")):
        st.markdown("**Alerts**" + ("" if current.saved else " (not set up yet: nobody is told)"))
        webhook = st.text_input(
            "Webhook URL",
            value=current.webhook_url or "",
            placeholder="https://hooks.slack.com/services/…",
            help="Each alert is POSTed here as JSON. Leave empty for no webhook.",
            key=_key(model_name, "webhook"),
        )
        slack = st.checkbox(
            "Slack message format",
            value=current.slack_format,
            help="Send Slack's text-and-blocks body (also understood by Mattermost and Rocket.Chat).",
            key=_key(model_name, "slack"),
        )
        emails = st.text_input(
            "Email recipients",
            value=", ".join(current.emails),
            placeholder="ana@example.com, ops@example.com",
            help="Separate addresses with commas. Sent through the SMTP server in the studio's settings.",
            key=_key(model_name, "emails"),
        )
        channels = ", ".join(f"{c.name} ({c.target_label})" for c in alerts.list_channels())
        others = st.text_area(
            "Other alert targets",
            value="\n".join(f"{channel}:{target}" for channel, target in current.channel_targets),
            placeholder="channel:target, one a line",
            help=f"Targets of any alert channel, one CHANNEL:TARGET a line. Channels: {channels}.",
            key=_key(model_name, "targets"),
        )
        events = st.multiselect(
            "Tell them when",
            options=list(alerts.EVENT_NAMES),
            default=[name for name in current.events if name in alerts.EVENT_NAMES],
            format_func=lambda name: alerts.EVENT_NAMES[name],
            help="Every event is kept in the alert list below; only these are sent out.",
            key=_key(model_name, "events"),
        )
        auto_retrain = st.toggle(
            "Retrain automatically when drift is found",
            value=current.auto_retrain,
            key=_key(model_name, "auto-retrain"),
        )
        ask_first = st.checkbox(
            "Ask me before switching to the retrained version",
            value=current.ask_first,
            help="On: the retrained version waits here, side by side with the current one, until you "
            "approve it. Off: the alias moves to it at once when it is more accurate on the same items.",
            key=_key(model_name, "ask-first"),
        )
        minutes = st.number_input(
            "Cool-down between retrains (minutes)",
            min_value=0,
            value=current.cooldown_s // 60,
            step=5,
            help="After a retrain, drift found within this time does not start another one.",
            key=_key(model_name, "cooldown"),
        )
        submitted = st.form_submit_button("Save alert settings", type="primary")
    if not submitted:
        return
    cooldown_s = current.cooldown_s if int(minutes) == current.cooldown_s // 60 else int(minutes) * 60
    try:
        alerts.save_alert_settings(
            model_name,
            webhook_url=webhook,
            slack_format=slack,
            emails=[emails],
            channel_targets=[line for line in others.splitlines() if line.strip()],
            events=events,
            auto_retrain=auto_retrain,
            ask_first=ask_first,
            cooldown_s=cooldown_s,
        )
    except CanvasCraftError as error:
        st.error(plain(error), icon=":material/error:")
        return
    st.success("Alert settings saved.", icon=":material/check:")


def _acknowledge(alert_id: int, notice_key: str) -> None:
    try:
        alerts.acknowledge(alert_id)
        st.session_state[notice_key] = ("success", f"Alert #{alert_id} acknowledged.")
    except CanvasCraftError as error:
        st.session_state[notice_key] = ("error", plain(error))


def _retry(alert_id: int, notice_key: str) -> None:
    try:
        view = alerts.retry_now(alert_id)
        st.session_state[notice_key] = ("info", f"Alert #{alert_id}: {view.delivery_summary()}")
    except CanvasCraftError as error:
        st.session_state[notice_key] = ("error", plain(error))


def render_alert_list(model_name: str) -> None:
    """The model's alerts, newest first, with each delivery's state in words, Acknowledge and Retry now."""
    notice_key = _key(model_name, "notice")
    if notice := st.session_state.pop(notice_key, None):
        kind, text = notice
        getattr(st, kind)(text)
    show_seen = st.toggle("Show acknowledged alerts", value=False, key=_key(model_name, "show-seen"))
    rows = alerts.list_alerts(model_name, LIST_LIMIT, unacknowledged=not show_seen)
    if not rows:
        st.info("No alerts" + ("" if show_seen else " waiting for you") + ": nothing has happened yet.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "time": alert.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    "event": alert.event_label,
                    "title": alert.title,
                    "delivery": alert.delivery_summary(),
                    "acknowledged": alert.acknowledged,
                }
                for alert in rows
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    for alert in rows[:ACTION_ROWS]:
        with st.container(border=True):
            text, ack, retry = st.columns([5, 1.4, 1.2], vertical_alignment="center")
            text.markdown(f"**#{alert.id}** {alert.title}  \n{alert.delivery_summary()}")
            ack.button(
                "Acknowledge",
                key=_key(model_name, f"ack-{alert.id}"),
                disabled=alert.acknowledged or not may("artist"),
                on_click=_acknowledge,
                args=(alert.id, notice_key),
            )
            retry.button(
                "Retry now",
                key=_key(model_name, f"retry-{alert.id}"),
                disabled=not alert.undelivered or not may("artist"),
                help="Send the undelivered deliveries at once.",
                on_click=_retry,
                args=(alert.id, notice_key),
            )
