"""Data: datasets and versions, browsing, health, skipped files, versions (with export), licence and
consent, and import by upload."""

from __future__ import annotations

import streamlit as st

from canvascraft.errors import CanvasCraftError
from canvascraft.services.datasets import (
    export_dataset,
    list_datasets,
    list_versions,
    open_version,
    table_rows,
    version_health,
)
from components.diffusion_brush import diffusion_brush_form
from components.health import health_view, skipped_list
from components.import_form import import_form, open_imported
from components.licence_form import licence_section
from components.media import audio_list, image_grid, table_preview
from components.roles import needs
from components.text import plain
from components.view_nav import index_from_link

PAGE_SIZES = {"image": 48, "audio": 8}

st.title("Data")
datasets = list_datasets()
if not datasets:
    st.info(
        "No datasets yet: upload images, audio or a table below (a .zip with one folder per label works)."
    )
    if needs("artist", "Importing files"):
        import_form(selected=None)
    st.stop()


def _dataset_changed() -> None:
    """Another dataset's version number means nothing here: show the new one's latest version."""
    st.query_params.pop("version", None)
    st.session_state.pop("version", None)


open_imported()
names = [d.name for d in datasets]
pick_dataset, pick_version = st.columns([3, 1])
name = pick_dataset.selectbox(
    "Dataset", names, index=index_from_link("dataset", names), key="dataset", on_change=_dataset_changed
)
versions = list_versions(name)
numbers = [v.number for v in reversed(versions)]
number = pick_version.selectbox(
    "Version", numbers, index=index_from_link("version", numbers, int), key="version",
    format_func=lambda n: f"v{n}",
)  # fmt: skip
# What is on screen is always in the address bar, so a reload or a bookmark reopens it.
if st.query_params.get("dataset") != name or st.query_params.get("version") != str(number):
    st.query_params.update(dataset=name, version=str(number))
try:
    view = open_version(name, number)
except CanvasCraftError as error:
    st.error(plain(error))
    st.stop()

summary = view.version
labels = sorted({i.label for i in view.items if i.label})
cols = st.columns(4)
cols[0].metric("Modality", view.modality)
if view.modality == "table":
    cols[1].metric(
        "Rows", f"{sum(i.n_rows or 0 for i in view.items):,}", help=f"{summary.item_count} table file(s)"
    )
    cols[2].metric("Label column", summary.label_column or "none", help=f"{summary.label_count} labels")
else:
    cols[1].metric(
        "Items", f"{summary.item_count:,}", delta=f"+{summary.added_count} in this version", delta_color="off"
    )
    cols[2].metric("Labels", summary.label_count)
cols[3].metric("Skipped at import", summary.skipped_count)
st.caption(f"Version {summary.number} · {summary.source} · {summary.created_at:%Y-%m-%d %H:%M} UTC")

browse, health, skipped, history, terms, upload = st.tabs(
    ["Browse", "Health", f"Skipped ({summary.skipped_count})", "Versions", "Licence and consent", "Import"],
    key="tab",
    bind="query-params",
)
with browse:
    if view.modality == "table":
        table_preview(table_rows(view), summary.label_column)
    else:
        filter_column, page_column = st.columns([4, 1], vertical_alignment="bottom")
        label_filter = filter_column.pills(
            "Label", labels, selection_mode="multi", format_func=plain, key="data_labels"
        )
        shown = [i for i in view.items if not label_filter or i.label in label_filter]
        if generated := sum(i.is_generated for i in view.items):
            origin = filter_column.segmented_control(
                "Made by", ["everyone", "imported", "generated"], default="everyone", key="data_origin",
                format_func=lambda o: {"everyone": "All", "imported": "Imported",
                                       "generated": f"Generated ({generated})"}[o],
            )  # fmt: skip
            if origin in ("imported", "generated"):
                shown = [i for i in shown if i.is_generated == (origin == "generated")]
        page_size = PAGE_SIZES[view.modality]
        pages = max(1, -(-len(shown) // page_size))
        page = page_column.number_input(f"Page (of {pages})", 1, pages, 1, key="data_page")
        chunk = shown[(page - 1) * page_size : page * page_size]
        st.caption(f"Showing {len(chunk)} of {len(shown)} items")
        if view.modality == "image":
            image_grid(chunk)
        else:
            audio_list(chunk)
with health:
    health_view(version_health(view), view.modality)
with skipped:
    if view.skipped:
        st.markdown("These files were left out of this version. Fix them and import again.")
        skipped_list(view.skipped)
    else:
        st.success("Every file offered to this import was usable.")
with history:
    st.dataframe(
        [
            {
                "version": f"v{v.number}",
                "created (UTC)": f"{v.created_at:%Y-%m-%d %H:%M}",
                "source": v.source,
                "items": v.item_count,
                "added": v.added_count,
                "skipped": v.skipped_count,
            }
            for v in reversed(versions)
        ],
        hide_index=True,
    )
    if needs("artist", "Exporting a version"):
        st.download_button(
            f"Download v{summary.number} as zip",
            data=lambda: export_dataset(name, summary.number).data or b"",
            file_name=f"{name}-v{summary.number}.zip", mime="application/zip", icon=":material/download:",
            help="Label folders (or one CSV for a table) with manifest.json and LICENCE.md; it imports back "
            "as the same items and labels.", key="data_export",
        )  # fmt: skip
with terms:
    licence_section(name)
with upload:
    if needs("artist", "Importing files"):
        import_form(selected=name)
        if view.modality == "image":
            diffusion_brush_form(name)
