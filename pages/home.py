"""Home: what the workspace holds, each part linking to its page."""

from __future__ import annotations

import streamlit as st

from canvascraft.services.workspace import overview
from components.media import card_preview

MODALITY_ICONS = {"image": ":material/image:", "audio": ":material/graphic_eq:", "table": ":material/table:"}

st.title("CanvasCraft ML Studio")
st.markdown(
    "Train your own models on your own images, sounds and tables. Look at your data, then stack "
    "brushes into a recipe and watch what they do to it."
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
st.caption(f"Workspace folder: `{summary.workspace}`")
