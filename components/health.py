"""Dataset health view: class balance, sizes or durations, duplicates and warnings."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from canvascraft.errors import Skipped
from canvascraft.services.datasets import Health
from components.text import plain

SKIPPED_TABLE_ROWS = 100  # beyond this a scrolling grid beats a long static table
ACCENT = "#7c3aed"  # the theme's primary colour (.streamlit/config.toml)


def health_view(health: Health, modality: str) -> None:
    for warning in health.warnings:
        st.warning(warning, icon=":material/warning:")
    if health.all_clear:
        st.success(health.all_clear, icon=":material/check:")
    left, right = st.columns(2)
    with left:
        st.markdown("**Items per label**")
        if health.class_counts:
            balance = pd.DataFrame(
                {"label": list(health.class_counts), "items": list(health.class_counts.values())}
            )
            figure = px.bar(
                balance, x="label", y="items", text="items", height=320, color_discrete_sequence=[ACCENT]
            )
            figure.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10})
            st.plotly_chart(figure, width="stretch")
        else:
            st.info("No labels: choose a label column when importing a table.")
    with right:
        if modality == "image":
            st.markdown("**Image sizes**")
            st.dataframe(
                pd.DataFrame({"size": list(health.image_sizes), "items": list(health.image_sizes.values())}),
                hide_index=True,
            )
        elif modality == "audio":
            st.markdown("**Clip durations (s)**")
            figure = px.histogram(
                pd.DataFrame({"duration (s)": health.durations_s}), x="duration (s)", height=320
            )
            figure.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10})
            st.plotly_chart(figure, width="stretch")
    st.markdown("**Duplicates** (identical bytes under several names)")
    if health.duplicates:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "files": ", ".join(g.names),
                        "labels": ", ".join(sorted(set(g.labels))),
                        "conflicting labels": g.conflicting_labels,
                    }
                    for g in health.duplicates
                ]
            ),
            hide_index=True,
        )
    else:
        st.caption("None.")


def skipped_list(skipped: list[Skipped]) -> None:
    """Every file an import left out, with the reason, so the user can fix and re-import it."""
    rows = pd.DataFrame([{"file": s.name, "reason": s.reason} for s in skipped])
    if len(rows) <= SKIPPED_TABLE_ROWS:
        st.table(rows.map(plain), hide_index=True)  # st.table renders Markdown in its cells
    else:
        st.dataframe(rows, hide_index=True, width="stretch")
