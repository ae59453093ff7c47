"""Drift: is each watched model still seeing data like its training data? Schedules, verdicts, reports."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace

import streamlit as st

from canvascraft.errors import CanvasCraftError
from canvascraft.services.drift import get_check, list_checks, list_monitors, watchable_models
from canvascraft.services.retrain import list_retrains
from canvascraft.share.links import DriftState, parse_drift
from components.alerts_panel import render_alert_list, render_alert_settings
from components.drift_check_view import (
    check_view,
    download_report,
    history_section,
    label_and_add_button,
    opened_check,
    series_section,
    verdict_block,
)
from components.drift_monitors import live_checks, monitor_panel, thresholds_form, watch_form, when
from components.label_and_add import opened, render_label_and_add, started_notice
from components.retrain_panel import render_retrains
from components.text import plain
from components.view_nav import clear_notices, go, notify, share_box, show_notices

st.title("Drift")
st.markdown(
    "Is a model still seeing data like the data it was trained on? Watch a model, let it be checked on a "
    "schedule or press **Run now**, and read what changed in plain words."
)
state = parse_drift(st.query_params.to_dict())
for problem in state.problems:
    notify(f"This link was changed or is out of date: {problem}.")

if state.check is not None and state.model is None:
    with suppress(CanvasCraftError):  # a link naming only a check opens its model
        state = replace(state, model=get_check(state.check, finished_only=False).summary.model_name)
show_notices()

models = watchable_models()
monitors = {m.model_name: m for m in list_monitors()}
if not monitors:
    if state.model is not None:
        st.warning(f"The model {plain(repr(state.model))} is not watched.", icon=":material/link_off:")
    if not models:
        st.info(
            "No registered models yet: train and register a model in the Gallery first, then come back to "
            "watch it.",
            icon=":material/info:",
        )
        st.page_link("pages/gallery.py", label="Open the Gallery", icon=":material/collections:")
        clear_notices()
        st.stop()
    st.info("No model is watched yet: pick one below to start.", icon=":material/visibility:")
    with st.container(border=True):
        st.subheader("Watch a model", anchor=False)
        watch_form(models, asked=state.model)
    clear_notices()
    st.stop()

names = list(monitors)
if state.model is not None and state.model not in monitors:
    why = "is registered but not watched yet" if state.model in models else "does not exist (deleted?)"
    st.warning(
        f"The model {plain(repr(state.model))} {why}; showing {plain(names[0])}.", icon=":material/link_off:"
    )
current = state.model if state.model in monitors else names[0]
monitor = monitors[current]
checks = list_checks(current)

picker, new, share = st.columns([4, 1.3, 1], vertical_alignment="bottom")
chosen = picker.selectbox("Watched model", names, index=names.index(current))
if chosen != current:
    go(DriftState(model=chosen))
unwatched = [name for name in models if name not in monitors]
with new.popover("Watch a model", icon=":material/add:", width="stretch"):
    if unwatched:
        watch_form(unwatched, asked=state.model)
    else:
        st.caption(
            "Every registered model is watched: change one with **Edit**, or register another in the Gallery."
        )

monitor_panel(monitor, models)
live_checks(current)

detail = opened_check(replace(state, model=current), checks)
if detail is not None and detail.summary.model_name != current:
    owner = detail.summary.model_name
    if owner in monitors:  # the link's check belongs to another watched model: open it there
        go(DriftState(model=owner, check=detail.summary.id, feature=state.feature))
    st.warning(
        f"Check #{detail.summary.id} is of the model {owner!r}, which is no longer watched; showing "
        f"{current}'s checks.",
        icon=":material/link_off:",
    )
    detail = opened_check(DriftState(model=current), checks)
view_state = DriftState(model=current, check=detail.summary.id if detail else None, feature=state.feature)
with share:
    share_box(view_state)

if detail is None:
    if monitor.source_kind == "dataset":
        hint = "press **Run now** to check it against its dataset"
    else:
        hint = f"drop files into `{monitor.folder}` and press **Run now**"
    if not any(c.state in ("queued", "running") for c in checks):
        st.info(f"No checks yet: {hint}, or wait for the schedule.", icon=":material/inbox:")
else:
    newest = next((c for c in checks if c.state in ("no_data", "failed")), None)
    latest_done = next((c.id for c in checks if c.state == "done"), None)
    if state.check is None and newest is not None and newest.id > detail.summary.id:
        st.caption(f"A newer check, #{newest.id} ({when(newest.created_at)}), had {newest.verdict}.")
    verdict_block(detail, latest=detail.summary.id == latest_done)
    report, label, _ = st.columns([1, 1.4, 2.6])
    with report:
        download_report(detail.summary.id)
    with label:
        label_and_add_button(detail, monitor)

started_notice()
labelling = opened()
if labelling is not None:
    render_label_and_add(labelling, current, alias=monitor.alias)

pending = [r for r in list_retrains(current) if r.state == "pending_approval"]
if pending:
    st.warning(
        f"A retrained version of {current} waits for your approval: open **Alerts and retraining** to "
        "compare "
        "it with the current one on the same items.",
        icon=":material/pending_actions:",
    )
tabs = st.tabs(["Drift over time", "This check in detail", "History", "Limits", "Alerts and retraining"])
over_time, in_detail, history, limits, alerts = tabs
with over_time:
    series_section(current)
with in_detail:
    if detail is None:
        st.caption("The details of a check appear here once one has finished.")
    else:
        check_view(detail, view_state)
with history:
    if checks:
        history_section(checks, view_state, detail.summary.id if detail else None)
    else:
        st.caption("No checks yet.")
with limits:
    thresholds_form(monitor)
with alerts:
    render_retrains(current, alias=monitor.alias)
    render_alert_settings(current)
    render_alert_list(current)
clear_notices()
