"""Watching a model: the watch/edit form, the schedule with its actions, limits, and checks in flight.

A check is never run on the page's thread: **Run now** queues one (``request_check``) and a fragment
polls it every ``REFRESH_S`` while it waits or runs; when it ends the whole page redraws once so the
verdict, chart and history show it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from canvascraft.errors import CanvasCraftError
from canvascraft.services.datasets import list_datasets
from canvascraft.services.drift import (
    METRICS,
    CheckSummary,
    MonitorView,
    add_to_watched_folder,
    list_checks,
    metric_label,
    remove_monitor,
    request_check,
    save_monitor,
    set_paused,
)
from canvascraft.share.links import DriftState
from components.roles import may, needs
from components.text import plain
from components.view_nav import flash, go

REFRESH_S = 2.0
SOURCES = {
    "folder": "New files dropped into its watched folder",
    "sent": "Files sent to it on the Gallery's Try page",
    "dataset": "The latest version of a dataset",
}
SCHEDULES = {"none": "Only when I press Run now", "every": "Every…", "cron": "Cron line"}
UNITS = {"minutes": 60, "hours": 3600, "days": 86400, "seconds": 1}
ACTIVE = ("queued", "running")


def when(moment: datetime | None) -> str:
    """A stored time (UTC) for people: ``2026-11-25 10:42 UTC``."""
    if moment is None:
        return "–"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _in(moment: datetime) -> str:
    seconds = int((moment - datetime.now(UTC)).total_seconds())
    if seconds <= 0:
        return "due now"
    if seconds < 120:
        return f"in {seconds} s"
    if seconds < 7200:
        return f"in {seconds // 60} min"
    return f"in {seconds // 3600} h"


def _split_every(seconds: int | None) -> tuple[int, str]:
    if not seconds:
        return 1, "hours"
    for unit in ("days", "hours", "minutes"):
        if seconds % UNITS[unit] == 0:
            return seconds // UNITS[unit], unit
    return seconds, "seconds"


def watch_form(models: list[str], monitor: MonitorView | None = None, asked: str | None = None) -> None:
    """Create (``monitor`` None) or edit a watched model. A fragment: choosing a source or a schedule
    kind redraws only the form; saving moves the whole page to the model."""
    if needs("admin", "Watching a model or changing its watch"):
        st.fragment(_watch_form)(models, monitor, asked)


def _watch_form(models: list[str], monitor: MonitorView | None, asked: str | None) -> None:
    prefix = f"drift_edit_{monitor.id}" if monitor else "drift_new"
    if monitor is not None:
        name = monitor.model_name
        st.markdown(f"Model **{plain(name)}**")
    else:
        if not models:
            st.info(
                "No registered models yet: train and register a model in the Gallery first.",
                icon=":material/info:",
            )
            return
        name = st.selectbox(
            "Model", models, index=models.index(asked) if asked in models else 0, key=f"{prefix}_model",
            help="A model registered in the Gallery.",
        )  # fmt: skip
    alias = st.text_input(
        "Alias or version", value=monitor.alias if monitor else "champion", key=f"{prefix}_alias",
        help="Checks follow the version this alias points at (champion, by default), or a fixed version "
        "number such as 3.",
    )  # fmt: skip
    kinds = list(SOURCES)
    source_kind = st.radio(
        "Current data to check", kinds, index=kinds.index(monitor.source_kind) if monitor else 0,
        format_func=SOURCES.__getitem__, key=f"{prefix}_source_kind",
        help="The watched folder is shown once the model is watched: drop new files there (images, "
        "clips, or CSV/Parquet rows for table models). Each check reads only the files that are new.",
    )  # fmt: skip
    source = ""
    if source_kind == "dataset":
        names = [d.name for d in list_datasets()]
        current = monitor.source if monitor and monitor.source in names else None
        source = (
            st.selectbox(
                "Dataset", names, index=names.index(current) if current else 0, key=f"{prefix}_dataset"
            )
            or ""
        )
    kinds = list(SCHEDULES)
    if monitor is None:
        default_kind = "every"
    else:
        default_kind = "every" if monitor.every_s else "cron" if monitor.cron else "none"
    schedule = st.radio(
        "Check automatically", kinds, index=kinds.index(default_kind), format_func=SCHEDULES.__getitem__,
        horizontal=True, key=f"{prefix}_schedule",
    )  # fmt: skip
    every: str | None = None
    cron: str | None = None
    if schedule == "every":
        count, unit = _split_every(monitor.every_s if monitor else None)
        left, right = st.columns([1, 1])
        number = left.number_input("Every", min_value=1, value=count, step=1, key=f"{prefix}_every")
        unit = right.selectbox("Unit", list(UNITS), index=list(UNITS).index(unit), key=f"{prefix}_unit")
        every = f"{int(number) * UNITS[unit]}s"
    elif schedule == "cron":
        cron = st.text_input(
            "Cron line", value=(monitor.cron if monitor and monitor.cron else "0 * * * *"),
            key=f"{prefix}_cron",
            help="Five fields in UTC: minute hour day-of-month month day-of-week. `*/15 * * * *` is every "
            "15 minutes, `0 6 * * 1-5` is 06:00 on weekdays.",
        )  # fmt: skip
    label = "Save changes" if monitor else "Watch this model"
    if st.button(label, type="primary", icon=":material/visibility:", key=f"{prefix}_save"):
        try:
            saved = save_monitor(
                name, alias=alias, source_kind=source_kind, source=source, every=every, cron=cron,
                thresholds=monitor.custom_thresholds if monitor else None,
            )  # fmt: skip
        except CanvasCraftError as error:
            st.error(plain(error), icon=":material/error:")
            return
        if monitor is None and saved.source_kind == "folder":
            flash(f"Watching {saved.model_name}: drop new files into {saved.folder} and press Run now.")
        else:
            flash(f"Saved: {saved.model_name} is checked {saved.schedule_label}.")
        go(DriftState(model=saved.model_name))


def _folder_upload(monitor: MonitorView) -> None:
    """Fill the watched folder from the browser (it lies on the studio's disk, not the user's)."""
    with st.expander("Or upload files into it", icon=":material/upload:"):
        files = st.file_uploader(
            "Files for the next check", accept_multiple_files=True, key=f"drift_upload_{monitor.model_name}"
        )
        if st.button(
            "Add to the watched folder", disabled=not files or not may("artist"),
            key=f"drift_add_{monitor.model_name}",
        ):  # fmt: skip
            try:
                result = add_to_watched_folder(
                    monitor.model_name, [(f.name, f.getvalue()) for f in files or []]
                )
            except CanvasCraftError as error:
                st.error(plain(error), icon=":material/error:")
                return
            (st.success if result.added else st.warning)(f"{result.summary}.")
            for name, reason in result.refused:
                st.markdown(f"- {plain(name)}: {plain(reason)}")
            if result.added:
                st.caption("The next check reads them; press **Run now** to check at once.")


def monitor_panel(monitor: MonitorView, models: list[str]) -> None:
    """Where its data comes from, its schedule and next run, and Run now / Pause / Edit / Remove."""
    with st.container(border=True):
        facts, actions = st.columns([3, 2], vertical_alignment="top")
        with facts:
            data = {"folder": "new files in its watched folder", "sent": "files sent to it on Try"}.get(
                monitor.source_kind, f"the latest version of dataset {monitor.source}"
            )
            st.markdown(f"**{plain(monitor.ref)}** · checks {data}")
            if monitor.source_kind != "dataset":
                st.caption(
                    "Drop new files here; each check reads the files no earlier check has read:"
                    if monitor.source_kind == "folder"
                    else "Files sent to this model on the Try page are kept here for the next check:"
                )
                st.code(str(monitor.folder), language=None)
                if monitor.source_kind == "folder":
                    _folder_upload(monitor)
            schedule = f"Schedule: **{monitor.schedule_label}**"
            if monitor.next_run is not None:
                schedule += f" · next check {when(monitor.next_run)} ({_in(monitor.next_run)})"
            elif monitor.paused:
                schedule += " · no checks run until you resume"
            st.markdown(schedule)
        with actions:
            run = st.button(
                "Run now", type="primary", icon=":material/play_arrow:", width="stretch",
                help="Queue a check; it runs in the background, so the page never waits.",
                disabled=not may("artist"),
            )  # fmt: skip
            if run:
                try:
                    check_id = request_check(monitor.model_name)
                except CanvasCraftError as error:
                    st.error(plain(error), icon=":material/error:")
                else:
                    flash(f"Check #{check_id} is queued; it starts within a few seconds.")
                    st.rerun()
            if not needs("admin", "Changing the watch"):
                return
            if monitor.scheduled:
                if monitor.paused:
                    if st.button("Resume schedule", icon=":material/play_circle:", width="stretch"):
                        set_paused(monitor.model_name, False)
                        flash(f"Resumed: scheduled checks of {monitor.model_name} run again.")
                        st.rerun()
                elif st.button("Pause schedule", icon=":material/pause_circle:", width="stretch"):
                    set_paused(monitor.model_name, True)
                    flash(f"Paused: no scheduled checks of {monitor.model_name} until you resume.")
                    st.rerun()
            with st.popover("Edit", icon=":material/edit:", width="stretch"):
                watch_form(models, monitor)
            with st.popover("Stop watching", icon=":material/visibility_off:", width="stretch"):
                st.markdown(
                    f"Stop watching **{monitor.model_name}**? Its schedule goes; its past checks stay "
                    "and the watched folder is left as it is."
                )
                if st.button("Yes, stop watching", type="primary", key="drift_remove_confirm"):
                    remove_monitor(monitor.model_name)
                    flash(f"{monitor.model_name} is no longer watched.")
                    go(DriftState())


def live_checks(model_name: str) -> None:
    """Checks of the model that are queued or running, polled while there are any."""
    active = [c for c in list_checks(model_name, limit=20) if c.state in ACTIVE]
    st.fragment(run_every=REFRESH_S if active else None)(_live)(model_name, [c.id for c in active])


def _live(model_name: str, waiting: list[int]) -> None:
    active = [c for c in list_checks(model_name, limit=20) if c.state in ACTIVE]
    if waiting and {c.id for c in active} != set(waiting):
        st.rerun()  # a check ended (or another was queued): redraw the page with it, and re-arm the timer
    for check in active:
        _in_flight(check)


def _in_flight(check: CheckSummary) -> None:
    words = "waits for a free slot" if check.state == "queued" else "is running"
    st.info(
        f"Check #{check.id} ({check.trigger}) {words}; started {when(check.created_at)}. This page updates "
        "itself when it ends.",
        icon=":material/hourglass_top:",
    )


def thresholds_form(monitor: MonitorView) -> None:
    """Each metric's limit, defaults shown; only the ones changed from their default are saved."""
    st.caption(
        "A feature drifts when any of its metrics crosses its limit. Raise a limit to be warned less "
        "often, lower it to catch smaller changes."
    )
    if not needs("admin", "Changing the limits"):
        return
    with st.form(f"drift_limits_{monitor.id}", border=False):
        values: dict[str, float] = {}
        columns = st.columns(2)
        for index, (name, spec) in enumerate(METRICS.items()):
            p_value = spec.compare == "p_value"
            values[name] = columns[index % 2].number_input(
                f"{metric_label(name)} ({spec.kind})",
                min_value=0.0001 if p_value else 0.0,
                max_value=0.9999 if p_value else None,
                value=float(monitor.thresholds.get(name, spec.threshold)),
                step=0.01,
                format="%.4g",
                key=f"drift_limit_{monitor.id}_{name}",
                help=f"Default {spec.threshold:g}. Drift when the "
                + ("p-value is below it" if p_value else "value reaches it")
                + f": {spec.why}.",
            )
        save, reset = st.columns(2)
        saved = save.form_submit_button("Save limits", icon=":material/save:")
        defaults = reset.form_submit_button("Back to the defaults", icon=":material/restart_alt:")
    if saved or defaults:
        custom = {} if defaults else {n: v for n, v in values.items() if v != METRICS[n].threshold}
        try:
            save_monitor(
                monitor.model_name, alias=monitor.alias, source_kind=monitor.source_kind,
                source=monitor.source, every=monitor.every_s, cron=monitor.cron, thresholds=custom,
            )  # fmt: skip
        except CanvasCraftError as error:
            st.error(plain(error), icon=":material/error:")
            return
        for name in METRICS:
            st.session_state.pop(f"drift_limit_{monitor.id}_{name}", None)
        changed = ", ".join(f"{n} {v:g}" for n, v in custom.items()) or "all defaults"
        flash(f"Limits saved ({changed}); they apply from the next check.")
        st.rerun()
