"""One training job, live: progress with ETA, metric chart, filmstrip of pinned items, log tail, actions.

The live part is a fragment that reruns itself every ``REFRESH_S`` while the job is queued or running
(the page is never called back: it polls the job row). When the job ends, the fragment reruns the
whole page once so the timer stops and the actions match the new state.
"""

from __future__ import annotations

import base64

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from canvascraft.errors import CanvasCraftError
from canvascraft.services.gallery import QUALITY_NOTE, quality_sentence
from canvascraft.services.jobs import (
    Objective,
    TrainingJobView,
    TrainingProgress,
    cancel_job,
    fork_job,
    job_log,
    resume_job,
    training_view,
)
from canvascraft.services.recipes import list_recipes
from components.media import cached_thumbnail, cached_waveform
from components.roles import may
from components.text import plain

REFRESH_S = 2.0
LOG_LINES = 40
FLASH = "train_flash"
SWITCH_TO = "train_switch_to"
"""A job id the page selects on its next run (a widget's value cannot change after it is drawn)."""
STATE_COLOURS = {"queued": "gray", "running": "blue", "succeeded": "green", "failed": "red",
                 "cancelled": "orange", "lost": "violet"}  # fmt: skip


def job_panel(job_id: int) -> None:
    view = training_view(job_id)
    if may("artist"):
        _actions(view)
    st.fragment(run_every=REFRESH_S if view.active else None)(_live)(job_id, view.active)
    if view.checkpoints and may("artist"):
        _fork_form(view)


def _live(job_id: int, was_active: bool) -> None:
    view = training_view(job_id)
    if was_active and not view.active:
        st.rerun()  # the job just ended: redraw the page without the timer, with the new actions
    progress = view.progress
    _status(view, progress)
    if progress is not None and progress.history:
        st.plotly_chart(metric_chart(progress, view.objective), key=f"train_chart_{job_id}")
    elif view.active:
        st.caption("The chart appears when the first epoch ends.")
    if progress is not None and progress.pictures:
        _samples(view)
    if progress is not None and progress.pinned:
        _filmstrip(progress)
    failed = view.job.state in ("failed", "lost")
    with st.expander("Log", expanded=failed or view.active, icon=":material/terminal:"):
        tail = job_log(job_id, tail=LOG_LINES)
        st.code(tail or "(no output yet)", language=None, height=320 if tail else "content")
        if tail:
            st.download_button(
                "Download the whole log", job_log(job_id), file_name=f"job-{job_id}.log", mime="text/plain",
                key=f"train_log_{job_id}",
            )  # fmt: skip


def _status(view: TrainingJobView, progress: TrainingProgress | None) -> None:
    job = view.job
    head, badge = st.columns([6, 1], vertical_alignment="center")
    head.subheader(view.title)
    badge.badge(job.state, color=STATE_COLOURS.get(job.state, "gray"))
    facts = [f"created {job.created_at:%Y-%m-%d %H:%M}"] if job.created_at else []
    if progress is not None and progress.device:
        facts.append(f"on {progress.device}")
    if job.mlflow_run_id:
        facts.append(f"MLflow run `{job.mlflow_run_id}`")
    if job.spec.get("fork_from"):
        fork = job.spec["fork_from"]
        facts.append(f"forked from job #{fork['job']} ({fork['checkpoint']} checkpoint)")
    if job.resume_from:
        facts.append(f"resumes job #{job.resume_from}")
    if view.trial_note:
        facts.append(view.trial_note)
    if origin := job.spec.get("from_study"):
        facts.append(f"the best settings of study {origin['name']} (trial {origin['trial']})")
    st.caption(" · ".join(facts))
    if job.state == "queued":
        st.info(
            "Waiting for a free slot; it starts as soon as the job before it ends.",
            icon=":material/schedule:",
        )
    elif job.state == "running":
        st.progress(progress.fraction if progress else 0.0, text=progress_text(progress))
        if view.baseline_note:
            st.caption(f"To beat: {view.baseline_note}, a quick classical model on the same items.")
    elif job.state == "succeeded" and progress is not None and progress.phase == "pruned":
        st.info(
            f"Stopped early by the study's pruner after epoch {progress.epoch}: it trailed the other trials.",
            icon=":material/content_cut:",
        )
    elif job.state == "succeeded" and progress is not None and progress.history:
        best = view.best_epoch or progress.history[-1]
        why = f" Training {progress.stop_reason}." if progress.stop_reason else ""
        against = f" · {view.baseline_note}" if view.baseline_note else ""
        figures = f"{view.summary_of(best)}{against}"
        st.success(
            f"Finished: best epoch {best['epoch']} of {progress.epoch}, {figures}.{why}",
            icon=":material/check_circle:",
        )
        if view.behind_baseline:
            st.warning(view.behind_baseline, icon=":material/trending_down:")
    elif view.ending:
        show = st.warning if job.state == "cancelled" else st.error
        show(view.ending, icon=":material/info:" if job.state == "cancelled" else ":material/error:")


def progress_text(progress: TrainingProgress | None) -> str:
    """``Epoch 3 of 10 · step 5 of 12 · about 2 min left`` (or what phase the job is in)."""
    if progress is None or progress.phase == "preparing":
        return "Preparing the data…"
    if progress.phase == "saving":
        return "Saving the model to MLflow…"
    running = min(progress.epoch + 1, progress.epochs)
    parts = [f"Epoch {running} of {progress.epochs}"]
    if progress.steps:
        parts.append(f"step {progress.step} of {progress.steps}")
    eta = progress.eta_s
    if eta is not None:
        parts.append(f"about {_duration(eta)} left")
    return " · ".join(parts)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def metric_chart(progress: TrainingProgress, objective: Objective) -> go.Figure:
    """The loss and the trainer's primary figure per epoch, training dashed and validation solid."""
    history = pd.DataFrame(progress.history)
    shown = tuple(dict.fromkeys((objective.loss_metric, objective.primary_metric)))  # one when the same
    titles = tuple(m.label.capitalize() for m in shown)
    figure = make_subplots(rows=1, cols=len(shown), subplot_titles=titles, horizontal_spacing=0.08)
    for column, metric in enumerate(shown, start=1):
        for split, dash, colour in (("train", "dash", "#a78bfa"), ("val", "solid", "#7c3aed")):
            if metric.key(split) not in history:
                continue
            figure.add_trace(
                go.Scatter(
                    x=history["epoch"], y=history[metric.key(split)], mode="lines+markers",
                    name=f"{'training' if split == 'train' else 'validation'} {metric.label}",
                    line={"dash": dash, "color": colour if column == 1 else _teal(split)},
                ),
                row=1, col=column,
            )  # fmt: skip
    # One tick per epoch while they fit; beyond that plotly's own spacing keeps the labels readable.
    figure.update_xaxes(title_text="epoch", dtick=1 if len(history) <= 20 else None, title_standoff=4)
    figure.update_yaxes(rangemode="tozero")
    figure.update_layout(
        height=340,
        margin={"t": 40, "b": 10, "l": 10, "r": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0},
    )
    return figure


def _teal(split: str) -> str:
    return "#5eead4" if split == "train" else "#0d9488"


def _thumbnail(sha256: str | None, audio: bool) -> str | None:
    if sha256 is None:
        return None
    png = cached_waveform(sha256) if audio else cached_thumbnail(sha256, 64)
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _filmstrip(progress: TrainingProgress) -> None:
    """Pinned items × epochs: each cell the predicted class and its probability, green when right."""
    st.markdown("**Filmstrip** · pinned validation items, one column per epoch")
    audio = any(item.name.lower().endswith((".wav", ".flac", ".ogg", ".mp3")) for item in progress.pinned)
    rows = []
    for position, item in enumerate(progress.pinned):
        row: dict[str, object] = {
            "item": _thumbnail(item.sha256, audio),
            "name": item.name.rsplit("/", 1)[-1],
            "label": item.label,
        }
        for number, predictions in enumerate(progress.filmstrip, start=1):
            guess = predictions[position]
            mark = "✓" if guess.predicted == item.label else "✗"
            row[f"epoch {number}"] = f"{mark} {guess.predicted} {guess.confidence:.0%}"
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame["item"].isna().all():
        frame = frame.drop(columns="item")
    epochs = [c for c in frame.columns if c.startswith("epoch ")]
    styled = frame.style.map(
        lambda text: (
            "background-color: #dcfce7" if str(text).startswith("✓") else "background-color: #fee2e2"
        ),
        subset=epochs,
    )
    st.dataframe(
        styled,
        hide_index=True,
        column_config={"item": st.column_config.ImageColumn("item", width="small")},
        row_height=48 if "item" in frame else None,
        height=38 + (48 if "item" in frame else 35) * len(frame),
    )
    if not epochs:
        st.caption("Predictions appear here after each epoch.")


def _samples(view: TrainingJobView) -> None:
    """A generative run's filmstrip: the latest epoch's samples large, earlier epochs beside them."""
    shown = view.epoch_pictures()
    if not shown:
        return
    assert view.progress is not None
    st.markdown("**Samples** · what the model makes, epoch by epoch")
    st.caption(view.progress.picture_caption)
    *earlier, (epoch, latest) = shown
    left, right = st.columns([2, 3])
    left.image(latest, caption=f"epoch {epoch} (latest)", width="stretch")
    if earlier:
        right.image([png for _, png in earlier], caption=[f"epoch {e}" for e, _ in earlier], width=120)
    measured = [row for row in view.progress.history if quality_sentence(row)]
    if measured:
        row = measured[-1]
        right.markdown(f"**Quality at epoch {row['epoch']}** · {quality_sentence(row)}")
        right.caption(f"Measured {QUALITY_NOTE}; the floor is the best a generator can reach here.")


def _actions(view: TrainingJobView) -> None:
    job_id = view.job.id
    message = st.session_state.pop(FLASH, None)
    if message:
        st.toast(message)
    buttons = st.columns([1, 1, 4])
    if view.active:
        buttons[0].button(
            "Cancel",
            key=f"train_cancel_{job_id}",
            icon=":material/stop_circle:",
            on_click=_cancel,
            args=(job_id,),
        )
    if view.resumable:
        buttons[0].button(
            "Resume",
            key=f"train_resume_{job_id}",
            icon=":material/play_circle:",
            type="primary",
            on_click=_resume,
            args=(job_id,),
            help="A new job that continues from the last checkpoint, in the same MLflow run.",
        )


def _cancel(job_id: int) -> None:
    try:
        cancel_job(job_id)
        st.session_state[FLASH] = f"Cancelling job #{job_id}…"
    except CanvasCraftError as error:
        st.session_state[FLASH] = plain(error)


def _resume(job_id: int) -> None:
    try:
        new_id = resume_job(job_id)
    except CanvasCraftError as error:
        st.session_state[FLASH] = plain(error)
        return
    st.session_state["job"] = new_id
    st.session_state[FLASH] = f"Job #{new_id} resumes job #{job_id}."


def _fork_form(view: TrainingJobView) -> None:
    job = view.job
    with st.expander("Fork from a checkpoint", icon=":material/fork_right:"):
        st.caption(
            "Start a new run from this job's weights with another recipe or other settings; the new run "
            "records which checkpoint it came from. The dataset, split and pins stay the same."
        )
        names = {c.name: c for c in view.checkpoints}
        left, middle, right = st.columns(3)
        checkpoint = left.selectbox(
            "checkpoint",
            list(names),
            key=f"train_fork_ckpt_{job.id}",
            format_func=lambda n: f"{n} (epoch {names[n].epoch}, {view.summary_of(names[n].metrics)})",
        )
        saved = list_recipes()
        modality = next((r.modality for r in saved if r.name == job.spec["recipe"]), None)
        recipes = [r.name for r in saved if r.modality == modality]
        recipe = middle.selectbox(
            "recipe", recipes, index=recipes.index(job.spec["recipe"]), key=f"train_fork_recipe_{job.id}"
        )
        epochs = right.number_input(
            "epochs", 1, 1000, int(job.spec["hyper"]["epochs"]), key=f"train_fork_epochs_{job.id}"
        )
        rate = left.number_input(
            "learning rate", 0.0, 1.0, float(job.spec["hyper"]["learning_rate"]), format="%g",
            step=float(job.spec["hyper"]["learning_rate"]) / 10 or 1e-4, key=f"train_fork_lr_{job.id}",
        )  # fmt: skip
        if st.button("Fork", key=f"train_fork_{job.id}", icon=":material/fork_right:"):
            try:
                new_id = fork_job(
                    job.id,
                    checkpoint=checkpoint,
                    recipe=recipe,
                    epochs=int(epochs),
                    hyper={"learning_rate": rate},
                )
            except CanvasCraftError as error:
                st.error(plain(error), icon=":material/error:")
                return
            st.session_state[FLASH] = f"Job #{new_id} starts from job #{job.id}'s {checkpoint} checkpoint."
            st.session_state[SWITCH_TO] = new_id
            st.rerun()
