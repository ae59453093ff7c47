"""Train: launch a training job or tune a study, watch either live, cancel, resume, fork or train the best."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from canvascraft.errors import CanvasCraftError
from canvascraft.services.jobs import (
    DEFAULT_GROUPS,
    JOB_GROUPS,
    TrainingJobView,
    job_rows,
    list_training_jobs,
    training_view,
)
from canvascraft.services.tuning import SAMPLERS, StudyView, list_studies
from components.job_panel import FLASH, REFRESH_S, SWITCH_TO, job_panel
from components.roles import needs
from components.study_panel import study_panel
from components.text import plain
from components.train_form import launch_form
from components.tune_form import tune_form

st.title("Train")
st.markdown(
    "Train a model on one of your datasets with one of your recipes, or tune: let a study try many settings "
    "and keep the best. Each job runs in its own process: close the tab and it keeps going; everything it "
    "makes is tracked in MLflow."
)
if SWITCH_TO in st.session_state:
    st.session_state["job"] = st.session_state.pop(SWITCH_TO)
    st.session_state["study"] = None  # a job chosen last is the one shown


# The job id this page last wrote to `?job=`. The job selector is synced by hand rather than bound: a bound
# selectbox keeps its displayed label in the URL, and `?job=3` must stay a plain id.
JOB_IN_URL = "train_job_in_url"


def show_job_instead() -> None:
    """Picking a job hides the study panel: whichever was chosen last is the one shown."""
    st.session_state["study"] = None


# The tune form's search-space table needs more room than the launch form, and beside it the jobs table
# had too little (its progress column was cut off): in Tune mode the form takes the width and the tables
# sit below it. Read the mode before the layout exists (the switch itself sits in the form's box; a
# click is in session state, a link in the URL).
tuning = (st.session_state.get("mode") or st.query_params.get("mode")) == "Tune"
if tuning:
    form_column, list_column = st.container(), st.container()
else:
    form_column, list_column = st.columns([4, 7], gap="large")
with form_column, st.container(border=True):
    mode = st.segmented_control(
        "Mode", ["Launch", "Tune"], default="Launch", required=True, key="mode", bind="query-params",
        label_visibility="collapsed", width="stretch",
    )  # fmt: skip
    if mode == "Tune":
        st.subheader(
            "New study",
            help="Trains the same model many times with different settings (Optuna suggests each "
            "trial's) and keeps score, so you can train the best.",
        )
        new_study = tune_form() if needs("artist", "Starting a study") else None
        if new_study is not None:
            st.session_state["study"] = new_study
            st.session_state[FLASH] = f"Study {new_study} is queued; its first trials start in a few seconds."
    else:
        st.subheader("New training job")
        new_id = launch_form() if needs("artist", "Launching a training job") else None
        if new_id is not None:
            st.session_state["job"] = new_id
            st.session_state["study"] = None
            st.session_state[FLASH] = f"Job #{new_id} is queued; it starts within a second or two."


def study_rows(views: list[StudyView]) -> pd.DataFrame:
    rows = []
    for view in views:
        summary, base = view.summary, view.summary.attrs.get("base_spec", {})
        rows.append({
            "study": view.name, "state": view.state, "dataset": base.get("dataset"),
            "trainer": base.get("trainer"), "sampler": summary.attrs.get("sampler"),
            "trials": summary.finished / max(summary.planned, 1),
            "done": f"{summary.finished}/{summary.planned}",
            "best": summary.best_value, "metric": summary.attrs.get("metric"),
        })  # fmt: skip
    return pd.DataFrame(rows)


jobs = list_training_jobs(trials=False)
studies = list_studies()
with list_column:
    st.subheader("Jobs")

    @st.fragment(run_every=REFRESH_S if any(v.active for v in jobs) else None)
    def jobs_table() -> None:
        shown = st.pills(
            "Show", list(JOB_GROUPS), selection_mode="multi", default=list(DEFAULT_GROUPS),
            format_func=JOB_GROUPS.get, key="train_job_groups",
        )  # fmt: skip
        rows = job_rows(shown or DEFAULT_GROUPS)
        st.caption(
            "Study trials, study drivers and drift checks are jobs too and take numbers from the same "
            "sequence: pick them under **Show** to find every job id."
        )
        if not rows:
            st.info("No training jobs yet: launch one with the form.", icon=":material/model_training:")
            return
        # What a person follows first (state, progress, the figures) before what names the job; the kind
        # only once the table holds more than training runs.
        order = ["job", "state", "progress", "best", "baseline", "dataset", "trainer", "recipe"]
        st.dataframe(
            pd.DataFrame(rows),
            hide_index=True,
            height=min(38 + 35 * len(rows), 360),
            column_order=order if set(shown or DEFAULT_GROUPS) == set(DEFAULT_GROUPS) else [*order, "kind"],
            column_config={
                "job": st.column_config.NumberColumn(width=50, format="#%d"),
                "kind": st.column_config.TextColumn(width=110),
                "state": st.column_config.TextColumn(width=80),
                "dataset": st.column_config.TextColumn(width=100),
                "recipe": st.column_config.TextColumn(width=100),
                "trainer": st.column_config.TextColumn(width=80),
                "progress": st.column_config.ProgressColumn(width=100, min_value=0.0, max_value=1.0),
                "best": st.column_config.TextColumn(
                    width=70,
                    help="The best validation figure so far: the trainer's primary metric "
                    "(accuracy for classifiers; `canvascraft trainers list` names each).",
                ),
                "baseline": st.column_config.TextColumn(
                    width=70,
                    help="The same figure for a quick classical model (logistic regression) fitted on the "
                    "same training items: the model should beat it.",
                ),
            },
        )

    jobs_table()
    st.subheader("Studies", help="A study's trials are training jobs too; they are listed in its own view.")

    @st.fragment(run_every=REFRESH_S if any(v.active for v in studies) else None)
    def studies_table() -> None:
        current = list_studies()
        if not current:
            st.caption("No studies yet: switch the form on the left to **Tune** to start one.")
            return
        st.dataframe(
            study_rows(current),
            hide_index=True,
            height=min(38 + 35 * len(current), 250),
            column_config={
                "study": st.column_config.TextColumn(width=170),
                "state": st.column_config.TextColumn(width=80),
                "dataset": st.column_config.TextColumn(width=100),
                "trainer": st.column_config.TextColumn(width=80),
                "sampler": st.column_config.TextColumn(width=70, help="  \n".join(SAMPLERS.values())),
                "trials": st.column_config.ProgressColumn(width=80, min_value=0.0, max_value=1.0),
                "done": st.column_config.TextColumn(width=50, help="Trials finished of those planned."),
                "best": st.column_config.NumberColumn(width=60, format="%.3f"),
                "metric": st.column_config.TextColumn(width=90),
            },
        )

    studies_table()


def linked_trial(asked: str | None) -> TrainingJobView | None:
    """A study's trial job opened by its link (``?job=ID``): the job list leaves trials out, so the
    selector takes the asked one in."""
    if asked is None or not asked.isdigit():
        return None
    try:
        view = training_view(int(asked))
    except CanvasCraftError:
        return None
    return view if view.job.spec.get("study") else None


def job_title(view: TrainingJobView) -> str:
    return f"{view.title} · {view.trial_note}" if view.trial_note else view.title


states = {v.job.id: v for v in jobs}
names = {v.name: v for v in studies}
asked_job, asked_study = st.query_params.get("job"), st.query_params.get("study")
if (trial := linked_trial(asked_job)) is not None:
    states[trial.job.id] = trial
if asked_job is not None and (not asked_job.isdigit() or int(asked_job) not in states):
    st.warning(
        f"There is no training job {asked_job!r}; showing the newest job instead.", icon=":material/info:"
    )
    del st.query_params["job"]
    st.session_state.pop("job", None)
elif asked_job is not None and asked_job != st.session_state.get(JOB_IN_URL):
    st.session_state["job"] = int(asked_job)  # a link (or the browser's back button) chose this job
if asked_study is not None and asked_study not in names:
    st.warning(
        f"There is no study {plain(repr(asked_study))}; showing the jobs instead.", icon=":material/info:"
    )
    del st.query_params["study"]
    st.session_state.pop("study", None)

if states or names:
    st.divider()
    pickers = iter(st.columns(2))
    job_id = None
    if states:
        job_id = next(pickers).selectbox(
            "Job",
            list(states),
            key="job",
            format_func=lambda i: job_title(states[i]),
            on_change=show_job_instead,
        )
    study = None
    if names:
        study = next(pickers).selectbox(
            "Study", list(names), index=None, key="study", bind="query-params",
            placeholder="Pick a study to follow its trials",
        )  # fmt: skip
    if study is not None:
        st.query_params.pop("job", None)  # the link to a study names only the study
        st.session_state.pop(JOB_IN_URL, None)
    elif job_id is not None:
        st.query_params["job"] = st.session_state[JOB_IN_URL] = str(job_id)
    try:
        if study is not None:
            study_panel(study)
        elif job_id is not None:
            job_panel(int(job_id))
    except CanvasCraftError as error:
        st.error(plain(error), icon=":material/error:")
