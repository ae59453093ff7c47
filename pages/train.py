"""Train: launch a training job, watch it live, cancel, resume or fork it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from canvascraft.errors import JobError
from canvascraft.services.jobs import TrainingJobView, list_training_jobs
from components.job_panel import FLASH, REFRESH_S, SWITCH_TO, job_panel
from components.train_form import launch_form

st.title("Train")
st.markdown(
    "Train a model on one of your datasets with one of your recipes. Each job runs in its own process: "
    "close the tab and it keeps going; everything it makes is tracked in MLflow."
)
if SWITCH_TO in st.session_state:
    st.session_state["job"] = st.session_state.pop(SWITCH_TO)

form_column, list_column = st.columns([4, 7], gap="large")
with form_column, st.container(border=True):
    st.subheader("New training job")
    new_id = launch_form()
    if new_id is not None:
        st.session_state["job"] = new_id
        st.session_state[FLASH] = f"Job #{new_id} is queued; it starts within a second or two."


def job_rows(jobs: list[TrainingJobView]) -> pd.DataFrame:
    rows = []
    for view in jobs:
        spec, progress = view.job.spec, view.progress
        best = max((r["val_accuracy"] for r in progress.history), default=None) if progress else None
        rows.append({
            "job": view.job.id, "state": view.job.state, "dataset": spec.get("dataset"),
            "recipe": spec.get("recipe"), "trainer": spec.get("trainer"),
            "progress": progress.fraction if progress else 0.0, "best acc.": best,
        })  # fmt: skip
    return pd.DataFrame(rows)


jobs = list_training_jobs()
with list_column:
    st.subheader("Jobs")

    @st.fragment(run_every=REFRESH_S if any(v.active for v in jobs) else None)
    def jobs_table() -> None:
        current = list_training_jobs()
        if not current:
            st.info("No training jobs yet: launch one on the left.", icon=":material/model_training:")
            return
        st.dataframe(
            job_rows(current),
            hide_index=True,
            height=min(38 + 35 * len(current), 360),
            column_config={
                "job": st.column_config.NumberColumn(width=40, format="#%d"),
                "state": st.column_config.TextColumn(width=80),
                "dataset": st.column_config.TextColumn(width=100),
                "recipe": st.column_config.TextColumn(width=100),
                "trainer": st.column_config.TextColumn(width=80),
                "progress": st.column_config.ProgressColumn(width=80, min_value=0.0, max_value=1.0),
                "best acc.": st.column_config.NumberColumn(width=70, format="percent"),
            },
        )

    jobs_table()

if jobs:
    st.divider()
    states = {v.job.id: v for v in jobs}
    asked = st.query_params.get("job")
    if asked is not None and (not asked.isdigit() or int(asked) not in states):
        st.warning(
            f"There is no training job {asked!r}; showing the newest job instead.", icon=":material/info:"
        )
        del st.query_params["job"]
        st.session_state.pop("job", None)
    job_id = st.selectbox(
        "Job",
        list(states),
        key="job",
        bind="query-params",
        format_func=lambda i: states[i].title,
    )
    try:
        job_panel(int(job_id))
    except JobError as error:
        st.error(str(error), icon=":material/error:")
