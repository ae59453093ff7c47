"""One tuning study, live: trials finished out of planned, the trials table, the best trial's settings,
Optuna's own plots; stop it, or train its best settings as a normal job.

Like the job panel, the live part is a fragment that reruns itself every ``REFRESH_S`` while the study's
driver is queued or running; when the driver ends, or the first trial completes (so there is a best to
train), it reruns the whole page once so the actions match.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from canvascraft.errors import CanvasCraftError
from canvascraft.services.jobs import MISSING, get_job, job_log, named_version
from canvascraft.services.tuning import (
    SAMPLERS,
    StudyView,
    stop_study,
    study_figures,
    study_view,
    train_best,
)
from components.job_panel import FLASH, LOG_LINES, REFRESH_S, STATE_COLOURS, SWITCH_TO
from components.roles import may
from components.text import plain

ERROR = "train_study_error"
"""An action's failure, kept across the rerun its callback causes so the panel can show it."""
FINISHED = ("COMPLETE", "PRUNED", "FAIL")
TRIAL_COLOURS = {"COMPLETE": "green", "PRUNED": "orange", "FAIL": "red", "RUNNING": "blue", "WAITING": "gray"}


def study_panel(name: str) -> None:
    view = study_view(name)
    st.fragment(run_every=REFRESH_S if view.active else None)(_live)(
        name, view.active, view.summary.best_trial is not None
    )
    if view.summary.best_params is not None and may("artist"):
        _train_best_form(view)
    if view.driver is not None:
        st.fragment(run_every=REFRESH_S if view.active else None)(_driver_log)(view.driver.id)


def _header(view: StudyView) -> None:
    message = st.session_state.pop(FLASH, None)
    if message:
        st.toast(message)
    summary, attrs = view.summary, view.summary.attrs
    base = attrs.get("base_spec", {})
    head, badge = st.columns([6, 1], vertical_alignment="center")
    head.subheader(f"Study {view.name}")
    badge.badge(view.state, color=STATE_COLOURS.get(view.state, "gray"))
    facts = [
        f"{base.get('trainer') or MISSING} on {base.get('dataset') or MISSING}",
        named_version(base.get("recipe"), base.get("recipe_version")),
        SAMPLERS.get(attrs.get("sampler", ""), "?").split(":")[0],
        f"{attrs.get('metric')} ({summary.direction})",
        f"{summary.planned} trials, {attrs.get('parallel')} at a time, {attrs.get('epochs')} epochs each",
    ]
    if base.get("max_items"):
        facts.append(f"{base['max_items']} items")
    if view.driver is not None:
        facts.append(f"driver job #{view.driver.id}")
    st.caption(" · ".join(facts))
    error = st.session_state.pop(ERROR, None)
    if error:
        st.error(error, icon=":material/error:")
    if view.active and may("artist"):
        st.button(
            "Stop study",
            key=f"train_study_stop_{view.name}",
            icon=":material/stop_circle:",
            on_click=_stop,
            args=(view.name,),
            help="Cancels the trials in flight (recorded as failed); the finished ones and their plots stay.",
        )


def _stop(name: str) -> None:
    try:
        stop_study(name)
        st.session_state[FLASH] = f"Stopping study {name}: its trials in flight are cancelled."
    except CanvasCraftError as error:
        st.session_state[ERROR] = plain(error)


def _live(name: str, was_active: bool, had_best: bool) -> None:
    view = study_view(name)
    if (was_active and not view.active) or (not had_best and view.summary.best_trial is not None):
        st.rerun()  # the study ended or has a best to train: redraw the page with the matching actions
    _header(view)
    _status(view)
    if view.trials:
        trials_table(view)
    best, plots = st.columns([2, 5], gap="medium")
    with best:
        _best(view)
    with plots:
        _plots(name)


def _driver_log(job_id: int) -> None:
    """What the driver printed: each trial's job and settings as asked, and how each ended."""
    driver = get_job(job_id)
    with st.expander("Driver log", expanded=driver.state in ("failed", "lost"), icon=":material/terminal:"):
        tail = job_log(job_id, tail=LOG_LINES)
        st.code(tail or "(no output yet)", language=None, height=240 if tail else "content")


def _status(view: StudyView) -> None:
    summary = view.summary
    counts = summary.counts
    planned = max(summary.planned, 1)
    words = [f"{summary.finished} of {summary.planned} trials finished"]
    words += [
        f"{counts[state]} {label}"
        for state, label in (("RUNNING", "running"), ("COMPLETE", "complete"), ("PRUNED", "pruned"),
                             ("FAIL", "failed"))
        if counts.get(state)
    ]  # fmt: skip
    text = " · ".join(words)
    if view.state == "queued":
        st.info("Waiting for the study's driver to start; it asks for trials within a second or two.",
                icon=":material/schedule:")  # fmt: skip
    elif view.active:
        st.progress(min(summary.finished / planned, 1.0), text=text)
    elif view.state == "succeeded":
        st.success(f"Finished: {text}.", icon=":material/check_circle:")
    elif view.state == "cancelled":
        st.warning(
            f"Stopped on request: {text}. The trials that were running are recorded as failed.",
            icon=":material/info:",
        )
    else:
        st.error(
            f"The study's driver ended {view.state}: {text}. Its log below says why.", icon=":material/error:"
        )


def trial_rows(view: StudyView) -> pd.DataFrame:
    """One row per trial: state, value (the metric's best epoch), pruned, each searched value, its job."""
    names = [p["name"] for p in view.summary.attrs.get("space", [])]
    rows = []
    for trial in view.trials:
        row: dict[str, Any] = {
            "trial": trial.number,
            "state": trial.state,
            "value": trial.value,
            "pruned": ("yes" if trial.pruned else "no") if trial.state in FINISHED else None,
            "epochs": len(trial.intermediate),
        }
        row.update({short_name(n): trial.params.get(n) for n in names})
        row["seconds"] = trial.seconds
        row["job"] = trial.job_id
        rows.append(row)
    return pd.DataFrame(rows)


def short_name(name: str) -> str:
    """``hyper.learning_rate`` → ``learning_rate``; brush parameters keep their step and brush."""
    return name.removeprefix("hyper.")


def trials_table(view: StudyView) -> None:
    frame = trial_rows(view)
    metric = str(view.summary.attrs.get("metric", "value"))
    config: dict[str, Any] = {
        "trial": st.column_config.NumberColumn(width=50, format="#%d", pinned=True),
        "state": st.column_config.TextColumn(width=90),
        "value": st.column_config.NumberColumn(metric, width=90, format="%.4f", help="Its best epoch."),
        "pruned": st.column_config.TextColumn(width=60, help="Stopped early by the pruner (Hyperband)."),
        "epochs": st.column_config.NumberColumn(width=60, help="Epochs it reported so far."),
        "seconds": st.column_config.NumberColumn(width=70, format="%.0f"),
        "job": st.column_config.NumberColumn(width=60, format="#%d", help="Open it with /train?job=ID."),
    }
    for column in frame.columns:
        if column not in config and pd.api.types.is_float_dtype(frame[column]):
            config[column] = st.column_config.NumberColumn(format="%.4g")
    styled = frame.style.map(
        lambda state: f"color: {TRIAL_COLOURS.get(state, 'gray')}; font-weight: 600", subset=["state"]
    )
    st.dataframe(
        styled,
        hide_index=True,
        column_config=config,
        height=min(38 + 35 * len(frame), 38 + 35 * 10),
        placeholder="–",
    )


def _best(view: StudyView) -> None:
    summary = view.summary
    st.markdown("**Best trial**")
    if summary.best_params is None:
        st.caption("None yet: the best appears when a trial completes.")
        return
    metric = summary.attrs.get("metric", "value")
    st.metric(
        f"{metric} · trial #{summary.best_trial}",
        f"{summary.best_value:.4f}",
        help=f"The study {'maximizes' if summary.direction == 'maximize' else 'minimizes'} {metric}.",
    )
    params = pd.DataFrame(
        [{"parameter": short_name(k), "value": _shown(v)} for k, v in summary.best_params.items()]
    )
    st.dataframe(params, hide_index=True, height=38 + 35 * len(params))


def _shown(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _plots(name: str) -> None:
    figures = study_figures(name)
    if not figures:
        st.caption("Optuna's plots appear here when the first trial completes.")
        return
    tabs = st.tabs(list(figures))
    for number, (tab, figure) in enumerate(zip(tabs, figures.values(), strict=True)):
        figure.update_layout(height=380, margin={"t": 40, "b": 10, "l": 10, "r": 10})
        tab.plotly_chart(figure, key=f"train_study_plot_{name}_{number}")


def _train_best_form(view: StudyView) -> None:
    summary = view.summary
    with st.container(border=True):
        st.markdown(
            f"**Train the best** · a normal training job with trial #{summary.best_trial}'s hyperparameters "
            "and brush settings, on the same data and split; watched, forked and resumed like any job."
        )
        epochs_column, button_column = st.columns([1, 2], vertical_alignment="bottom")
        epochs = epochs_column.number_input(
            "epochs", 1, 1000, int(summary.attrs.get("epochs", 10)),
            key=f"train_study_best_epochs_{view.name}",
            help="Often more than each trial had: the study only needed enough epochs to compare settings.",
        )  # fmt: skip
        if not button_column.button(
            "Train the best", key=f"train_study_best_{view.name}_go", icon=":material/rocket_launch:",
            type="primary",
        ):  # fmt: skip
            return
        try:
            job_id = train_best(view.name, epochs=int(epochs))
        except CanvasCraftError as error:
            st.error(plain(error), icon=":material/error:")
            return
    st.session_state[FLASH] = f"Job #{job_id} trains study {view.name}'s best trial #{summary.best_trial}."
    st.session_state[SWITCH_TO] = job_id
    st.rerun()
