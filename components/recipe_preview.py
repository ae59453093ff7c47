"""Preview renderings for the Brushes page: image grids, audio takes, table histograms."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from plotly.subplots import make_subplots

from canvascraft.services.brushes import AudioPreview, ImagePreview, TablePreview
from canvascraft.services.datasets import waveform_png
from components.health import ACCENT

GREY = "#a1a1aa"
BEFORE_NORMALIZE = "Variants are shown before normalize, which turns pixels into the numbers the model reads."


def image_preview(rows: list[ImagePreview]) -> None:
    if any(row.before_normalize for row in rows):
        st.caption(BEFORE_NORMALIZE)
    for row in rows:
        st.caption(row.name)
        cells = st.columns(1 + len(row.variants))
        cells[0].image(row.original, caption="original", width="stretch")
        for number, (cell, variant) in enumerate(zip(cells[1:], row.variants, strict=True), start=1):
            cell.image(variant, caption=f"variant {number}", width="stretch")


def audio_preview(result: AudioPreview) -> None:
    takes = [("original", result.original)] + [(f"variant {n}", v) for n, v in enumerate(result.variants, 1)]
    for title, take in takes:
        with st.container(border=True):
            sound, picture = st.columns(2, vertical_alignment="center")
            sound.markdown(f"**{title}**")
            sound.audio(take.wav, format="audio/wav")
            sound.image(waveform_png(take.wav, width=360, height=56), caption="waveform", width="stretch")
            picture.image(take.spectrogram, caption=f"{take.feature_kind} spectrogram", width="stretch")


def table_preview(result: TablePreview) -> None:
    numeric = [c for c in result.before.select_dtypes("number").columns if c != result.label_column]
    shown = st.multiselect("Columns", numeric, default=numeric[:4], key="brushes_table_columns")
    for column in shown:
        figure = make_subplots(rows=1, cols=2, subplot_titles=("before", "after"))
        figure.add_histogram(x=result.before[column], marker_color=GREY, row=1, col=1)
        if column in result.after:
            figure.add_histogram(x=result.after[column], marker_color=ACCENT, row=1, col=2)
        figure.update_layout(
            title=str(column), showlegend=False, height=240, margin={"l": 10, "r": 10, "t": 50, "b": 10}
        )
        st.plotly_chart(figure, width="stretch")
    added = [c for c in result.after.columns if c not in result.before.columns]
    if added:
        st.caption(f"New columns: {', '.join(map(str, added[:12]))}{' …' if len(added) > 12 else ''}")
    st.markdown("**After the recipe** (first rows)")
    st.dataframe(pd.DataFrame(result.after).head(50), hide_index=True, height=260)
