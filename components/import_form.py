"""Import by upload, with a progress bar and the skipped-files list afterwards.

Where the files go is an explicit choice (the selected dataset or a new one, named in an empty field),
the form only submits from its Import button (Enter in a field does nothing), and after an import the
page opens the dataset and version it made (``open_imported``, which the page calls before its
dataset and version pickers, so the URL names them)."""

from __future__ import annotations

import streamlit as st

from canvascraft.errors import CanvasCraftError, NothingImportedError
from canvascraft.services.workspace import upload_limit_mb
from components.health import skipped_list
from components.licence_form import import_licence_fields
from components.text import plain

RESULT_KEY = "data_last_import"
OPEN_KEY = "data_open_imported"
TARGET_KEY = "data_import_target"


def open_imported() -> None:
    """Select the dataset and version the last import made; called before the pickers are drawn."""
    opened = st.session_state.pop(OPEN_KEY, None)
    if opened is not None:
        # Set through session state, so the browser's pickers show it too (a value only the server
        # knows would leave the old name on screen), and in the link, which names what is shown.
        dataset, version = opened
        st.session_state["dataset"], st.session_state["version"] = dataset, version
        st.query_params.update(dataset=dataset, version=str(version))


def import_target(selected: str | None) -> str | None:
    """The selected dataset when the person chose to add to it, None for a new dataset."""
    if selected is None:
        return None
    choice = st.radio(
        "Import into",
        ["selected", "new"],
        format_func=lambda c: (
            f"add to the selected dataset {plain(selected)}" if c == "selected" else "a new dataset named …"
        ),
        key=TARGET_KEY,
        horizontal=True,
    )
    return selected if choice == "selected" else None


def import_form(selected: str | None) -> None:
    from canvascraft.services.datasets import import_uploads, upload_types

    into = import_target(selected)
    with st.form("data_import", clear_on_submit=True, border=True, enter_to_submit=False):
        files = st.file_uploader(
            "Files or a .zip archive",
            type=upload_types(),
            accept_multiple_files=True,
            key="data_import_files",
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
        if into is None:
            name = name_col.text_input(
                "New dataset name",
                placeholder="cats-and-dogs",
                help="Letters, digits, spaces, '-', '_' or '.'; an existing name gets a new version.",
                key="data_import_name",
            )
        else:
            name = into
            name_col.markdown(f"Adding to **{plain(into)}** as its next version.")
        label = label_col.text_input(
            "Label for all these files",
            key="data_import_label",
            help="Given to every file that comes without a sub-folder of its own; files in a .zip's or a "
            "folder's sub-folders keep the sub-folder's name.",
        )
        label_column = table_col.text_input(
            "Label column (tables)", help="Leave empty for an unlabelled table."
        )
        licence, source, consent = import_licence_fields(adding_to=into)
        replace = st.checkbox(
            "New version holds only these files (otherwise they are added to the last version)"
        )
        submitted = st.form_submit_button(
            "Import", type="primary", icon=":material/upload:", key="data_import_submit"
        )
    if submitted:
        if not files and not folder:
            st.warning("Choose at least one file or a folder to import.")
        elif not name.strip():
            st.warning("Name the new dataset, or choose to add the files to the selected one.")
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
                    licence=licence,
                    source=source,
                    consent=consent,
                    folder_files=[(f.name, f.getvalue()) for f in folder or []],
                )
                st.session_state[RESULT_KEY] = ("ok", report)
                st.session_state[OPEN_KEY] = (report.dataset, report.version)
            except NothingImportedError as error:
                st.session_state[RESULT_KEY] = ("nothing", error)
            except CanvasCraftError as error:
                st.session_state[RESULT_KEY] = ("error", error)
            progress.empty()
            if OPEN_KEY in st.session_state:
                st.rerun()  # the page opens what was imported (open_imported) and the URL names it
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
