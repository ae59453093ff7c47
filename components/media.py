"""Dataset browsing widgets: thumbnail grid, audio players with waveforms, table preview."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from canvascraft.services.datasets import ItemView, column_stats, item_bytes, thumbnail_png, waveform_png
from components.text import plain


@st.cache_data(max_entries=2000, show_spinner=False)
def cached_thumbnail(sha256: str, size: int) -> bytes:
    return thumbnail_png(item_bytes(sha256), size)


@st.cache_data(max_entries=500, show_spinner=False)
def cached_waveform(sha256: str) -> bytes:
    return waveform_png(item_bytes(sha256))


def image_grid(items: list[ItemView], columns: int = 8, size: int = 128) -> None:
    for start in range(0, len(items), columns):
        row = st.columns(columns)
        for column, item in zip(row, items[start : start + columns], strict=False):
            with column:
                st.image(
                    cached_thumbnail(item.sha256, size),
                    caption=plain(item.label) if item.label else "(no label)",
                    width="stretch",
                )
                st.caption(f"{plain(item.name.rsplit('/', 1)[-1])} · {item.width}×{item.height}")


def audio_list(items: list[ItemView]) -> None:
    for item in items:
        with st.container(border=True):
            info, player, wave = st.columns([2, 3, 3], vertical_alignment="center")
            info.markdown(f"**{plain(item.label) if item.label else '(no label)'}**  \n{plain(item.name)}")
            info.caption(
                f"{item.duration_s:.2f} s · {item.sample_rate} Hz · {item.channels} ch · {item.format}"
            )
            player.audio(item_bytes(item.sha256), format=f"audio/{item.format.lower()}")
            wave.image(cached_waveform(item.sha256), width="stretch")


def table_preview(frame: pd.DataFrame, label_column: str | None, rows: int = 200) -> None:
    st.markdown(
        f"**{len(frame):,} rows × {frame.shape[1]} columns**"
        + (f" · label column **{plain(label_column)}**" if label_column else " · no label column")
    )
    st.dataframe(frame.head(rows), hide_index=True, height=320)
    st.markdown("**Column statistics**")
    st.dataframe(
        column_stats(frame),
        hide_index=True,
        column_config={
            "mean": st.column_config.NumberColumn(format="%.3f"),
            "std": st.column_config.NumberColumn(format="%.3f"),
            "min": st.column_config.NumberColumn(format="%.3f"),
            "max": st.column_config.NumberColumn(format="%.3f"),
        },
    )


def card_preview(modality: str, items: list[ItemView]) -> None:
    """A glimpse of a dataset for its card: thumbnails, a waveform, or the table's columns."""
    if modality == "image" and items:
        st.image([cached_thumbnail(i.sha256, 64) for i in items], width=52)
    elif modality == "audio" and items:
        st.image(cached_waveform(items[0].sha256), width="stretch")
    elif modality == "table" and items and items[0].columns:
        names = [c["name"] for c in items[0].columns]
        st.caption("Columns: " + ", ".join(map(plain, names[:8])) + (" …" if len(names) > 8 else ""))


def clip_players(clips: list[tuple[str, bytes]], per_row: int = 3) -> None:
    """Players for clips that are not stored yet (a watched folder's new files), a few to a row."""
    for start in range(0, len(clips), per_row):
        for column, (name, data) in zip(st.columns(per_row), clips[start : start + per_row], strict=False):
            column.caption(plain(name))
            column.audio(data)
