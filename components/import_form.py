"""Import by upload, with a progress bar and the skipped-files list afterwards."""

from __future__ import annotations

import streamlit as st

from canvascraft.errors import CanvasCraftError, NothingImportedError
from canvascraft.services.workspace import upload_limit_mb
from components.health import skipped_list
from components.text import plain

RESULT_KEY = "data_last_import"


def import_form(default_name: str) -> None:
    from canvascraft.services.datasets import import_uploads, upload_types

    with st.form("data_import", clear_on_submit=True, border=True):
        files = st.file_uploader(
            "Files or a .zip archive",
            type=upload_types(),
            accept_multiple_files=True,
            help="In a .zip, sub-folder names become labels (cats/a.png is labelled 'cats').",
        )
        folder = st.file_uploader(
            "Or a whole folder",
            type=upload_types(),
            accept_multiple_files="directory",
            key="data_import_folder",
            help="One sub-folder per label (pets/cats/a.png is labelled 'cats'), as a folder import does.",
        )
        name_col, label_col, table_col = st.columns(3)
        name = name_col.text_input(
            "Dataset name",
            value=default_name,
            help="An existing name gets a new version.",
            key="data_import_name",
        )
        label = label_col.text_input(
            "Label for all these files",
            key="data_import_label",
            help="Given to every file that comes without a sub-folder of its own; files in a .zip's or a "
            "folder's sub-folders keep the sub-folder's name.",
        )
        label_column = table_col.text_input(
            "Label column (tables)", help="Leave empty for an unlabelled table."
        )
        replace = st.checkbox(
            "New version holds only these files (otherwise they are added to the last version)"
        )
        submitted = st.form_submit_button(
            "Import", type="primary", icon=":material/upload:", key="data_import_submit"
        )
    if submitted:
        if not files and not folder:
            st.warning("Choose at least one file or a folder to import.")
        else:
            progress = st.progress(0.0, text="Checking files…")

            def report_progress(done: int, total: int) -> None:
                progress.progress(done / max(total, 1), text=f"Checked {done} of {total} files")

            try:
                report = import_uploads(
                    [(f.name, f.getvalue()) for f in files or []],
                    name,
                    label=label.strip() or None,
                    label_column=label_column.strip() or None,
                    replace=replace,
                    on_progress=report_progress,
                    folder_files=[(f.name, f.getvalue()) for f in folder or []],
                )
                st.session_state[RESULT_KEY] = ("ok", report)
            except NothingImportedError as error:
                st.session_state[RESULT_KEY] = ("nothing", error)
            except CanvasCraftError as error:
                st.session_state[RESULT_KEY] = ("error", error)
            progress.empty()
    show_last_result()
    st.caption(f"Largest file accepted: {upload_limit_mb()} MB.")


def show_last_result() -> None:
    result = st.session_state.get(RESULT_KEY)
    if result is None:
        return
    kind, value = result
    if kind == "ok":
        sentence = plain(value.summary[:1].upper() + value.summary[1:] + ".")
        if value.unchanged:
            st.info(sentence, icon=":material/info:")
        else:
            st.success(sentence)
        if value.skipped:
            st.warning(f"{len(value.skipped)} file(s) skipped; fix them and import again:")
            skipped_list(value.skipped)
    elif kind == "nothing":
        st.error(str(value))
        skipped_list(value.skipped)
    else:
        st.error(str(value))
