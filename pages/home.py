"""Home: what the workspace holds, each part linking to its page."""

from __future__ import annotations

import streamlit as st

from canvascraft.services.jobs import list_training_jobs
from canvascraft.services.workspace import overview
from components.media import card_preview

MODALITY_ICONS = {"image": ":material/image:", "audio": ":material/graphic_eq:", "table": ":material/table:"}

st.title("CanvasCraft ML Studio")
st.markdown(
    "Train your own models on your own images, sounds and tables. Look at your data, stack brushes "
    "into a recipe and watch what they do to it, train and tune models, then compare and try them."
)

summary = overview()
first, second, third = st.columns(3)
first.metric("Datasets", len(summary.datasets))
second.metric(
    "Items", f"{summary.item_count:,}", help="Images, clips and table files in the latest versions."
)
third.metric("Versions", sum(d.version_count for d in summary.datasets))

st.subheader("Datasets")
if not summary.datasets:
    st.info("The workspace has no dataset yet. Import one on the Data page.")
    st.page_link("pages/data.py", label="Go to Data", icon=":material/photo_library:")
for row_start in range(0, len(summary.datasets), 3):
    for column, dataset in zip(st.columns(3), summary.datasets[row_start : row_start + 3], strict=False):
        with column, st.container(border=True, height="stretch"):
            st.markdown(f"#### {dataset.name}")
            size = (
                f"{dataset.row_count:,} rows"
                if dataset.row_count is not None
                else f"{dataset.item_count:,} items"
            )
            st.caption(
                f"{dataset.modality} · version {dataset.latest_version} of {dataset.version_count} · "
                f"{size} · {dataset.label_count} labels"
            )
            card_preview(dataset.modality, summary.previews[dataset.name])
            st.page_link(
                "pages/data.py",
                label=f"Open {dataset.name}",
                icon=MODALITY_ICONS.get(dataset.modality),
                query_params={"dataset": dataset.name},
            )
            st.page_link(
                "pages/brushes.py",
                label="Try brushes on it",
                icon=":material/brush:",
                query_params={"dataset": dataset.name},
            )
st.subheader("Training")
recent = list_training_jobs(limit=3, trials=False)
if not recent:
    st.info("No training job yet.", icon=":material/model_training:")
for view in recent:
    progress = view.progress
    best, primary = view.best_primary, view.objective.metric(view.objective.primary)
    line = f"{view.title} · **{view.job.state}**" + (
        f" · best validation {primary.label} {primary.shown(best)}" if best else ""
    )
    if best and view.baseline_figure:
        line += f" · baseline {view.baseline_figure}"
    st.page_link(
        "pages/train.py", label=line, icon=":material/model_training:", query_params={"job": view.job.id}
    )
links = st.columns(2)
links[0].page_link("pages/train.py", label="Train or tune a model", icon=":material/rocket_launch:")
links[1].page_link(
    "pages/gallery.py", label="Browse runs and models in the Gallery", icon=":material/collections:"
)
st.caption(f"Workspace folder: `{summary.workspace}`")
