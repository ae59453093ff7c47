"""Label and add: a drift check's new files, most drifted first, labelled and added to the training data.

One compact table: each file's picture (a waveform for clips), how far it is from the training data,
the model's guess and confidence, an editable label (the guess by default: keep it, pick one of the
model's labels in bulk or type a new one) and an *Add* tick (untick to skip). Bulk buttons accept every
guess above a confidence or give the picked rows one label. *Add* makes a new dataset version (a share
held back to test on); *Retrain on it* then starts a retrain on exactly that version.

Everything is done by ``canvascraft.services.retrain``; this module only reads widgets and renders.
Widget keys start with ``label-`` and carry the check's id.
"""

from __future__ import annotations

import base64

import pandas as pd
import streamlit as st

from canvascraft.errors import CanvasCraftError
from canvascraft.services import retrain as retrains
from components.media import clip_players
from components.text import plain

OPEN_KEY = "label-and-add-check"
"""Session key: the id of the check whose label-and-add view is open (absent: closed)."""
SHOWN = 200
"""Rows in the table at most (the most drifted ones): enough for a batch, light enough to edit."""


def open_view(check_id: int) -> None:
    st.session_state[OPEN_KEY] = check_id


def opened() -> int | None:
    value = st.session_state.get(OPEN_KEY)
    return int(value) if value is not None else None


def close_view() -> None:
    st.session_state.pop(OPEN_KEY, None)


@st.cache_data(ttl=600, max_entries=8, show_spinner="Reading the check's files and the model's guesses…")
def _items(check_id: int, labelled: str) -> retrains.CheckItems:
    """Cached per check (and per labelling, so a new version reads fresh): editing a label reruns the
    page, and loading the model and predicting every file again each time would be slow."""
    return retrains.check_items(check_id)


def _data_url(png: bytes | None) -> str | None:
    return f"data:image/png;base64,{base64.b64encode(png).decode('ascii')}" if png else None


def _rows(found: retrains.CheckItems) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "pick": False,
                "picture": _data_url(item.picture),
                "file": item.name,
                "drift": item.score,
                "guess": item.guess,
                "sure": round(item.confidence * 100),
                "label": item.guess,
                "add": True,
            }
            for item in found.items[:SHOWN]
        ],
        columns=["pick", "picture", "file", "drift", "guess", "sure", "label", "add"],
    )


def render_label_and_add(check_id: int, model_name: str, alias: str = "champion") -> None:
    """The whole view for one check, in a bordered box with a Close button."""
    try:
        labelled_marker = str(st.session_state.get(f"label-done-{check_id}", ""))
        found = _items(check_id, labelled_marker)
    except CanvasCraftError as error:
        st.error(f"Cannot label check #{check_id}'s items: {plain(error)}", icon=":material/error:")
        if st.button("Close", key=f"label-close-error-{check_id}"):
            close_view()
            st.rerun()
        return
    if found.model_name != model_name:  # the view was opened for another model's check
        close_view()
        return
    with st.container(border=True):
        head, close = st.columns([6, 1], vertical_alignment="center")
        head.subheader(f"Label and add · check #{check_id}", anchor=False)
        if close.button("Close", key=f"label-close-{check_id}", icon=":material/close:", width="stretch"):
            close_view()
            st.rerun()
        done = st.session_state.get(f"label-report-{check_id}")
        if isinstance(done, retrains.LabelReport):
            _after_adding(done, model_name, alias)
            return
        _explain(found)
        if not found.items:
            st.info("None of the check's files can be labelled (see below).", icon=":material/inbox:")
            _left_out(found)
            return
        table = _editor(found)
        if found.ranked.modality == "audio":
            with st.expander("Listen to the clips", icon=":material/headphones:"):
                clip_players([(item.name, item.audio) for item in found.items[:SHOWN] if item.audio])
        _add(found, table)
        _left_out(found)


def _explain(found: retrains.CheckItems) -> None:
    measure = (
        "how far each item sits from the training items as the model sees them (1× is usual)"
        if found.ranked.measure == "embedding"
        else "how many training standard deviations its brightness, colour or loudness is from usual"
    )
    st.markdown(
        f"The check's **{len(found.items)} new items**, most drifted first (*drift* is {measure}). "
        "The model's guess is filled in as the label: keep it, type the right one, or untick **add** to "
        f"skip the item. Added items join **{plain(found.dataset)}** as version "
        f"**{found.latest_version + 1}**, and a share is held back to test the retrained model on."
    )
    if found.labelled:
        st.info(
            f"These items were added to {plain(found.labelled['dataset'])} v{found.labelled['version']} "
            "already; adding them again makes no version unless a label changed.",
            icon=":material/task_alt:",
        )


def _editor(found: retrains.CheckItems) -> pd.DataFrame:
    """The table, and the bulk buttons that rewrite it (its base is kept in the session, so a bulk change
    survives the editor being drawn afresh)."""
    check_id = found.check_id
    base_key, round_key = f"label-rows-{check_id}", f"label-round-{check_id}"
    if base_key not in st.session_state:
        st.session_state[base_key] = _rows(found)
    editor_key = f"label-editor-{check_id}-{st.session_state.get(round_key, 0)}"
    classes = found.ranked.classes
    table = st.data_editor(
        st.session_state[base_key],
        key=editor_key,
        hide_index=True,
        width="stretch",
        height=min(42 + 58 * len(st.session_state[base_key]), 560),
        row_height=56,
        disabled=["picture", "file", "drift", "guess", "sure"],
        column_config={
            "pick": st.column_config.CheckboxColumn("pick", width=48, help="Pick rows to label at once."),
            "picture": st.column_config.ImageColumn("item", width=64),
            "file": st.column_config.TextColumn("file", width="medium"),
            "drift": st.column_config.NumberColumn("drift", format="%.1f×", width=70,
                                                   help="Larger: less like the training data."),
            "guess": st.column_config.TextColumn("guess", width="small", help="The model's guess."),
            "sure": st.column_config.ProgressColumn("sure", format="%d%%", min_value=0, max_value=100,
                                                    width=90, help="How sure the model is of its guess."),
            "label": st.column_config.TextColumn(
                "label", width="medium", required=False,
                help="The label to add it with: the model's labels are " + ", ".join(classes[:20]),
            ),
            "add": st.column_config.CheckboxColumn("add", width=48, help="Untick to skip this item."),
        },
    )  # fmt: skip
    with st.container(border=True):
        sure, accept, _, label, give = st.columns([2.2, 1.6, 0.2, 2.2, 1.6], vertical_alignment="bottom")
        threshold = sure.slider("Accept guesses at least this sure", 0, 100, 80, step=5, format="%d%%",
                                key=f"label-sure-{check_id}")  # fmt: skip
        if accept.button("Accept those guesses", key=f"label-accept-{check_id}", width="stretch"):
            chosen = retrains.guesses_above(found.items, threshold / 100)
            mask = table["file"].isin(chosen)
            table.loc[mask, "label"] = table.loc[mask, "guess"]
            table.loc[mask, "add"] = True
            _rewrite(check_id, table, f"accepted {int(mask.sum())} guesses at least {threshold}% sure")
        known = [*classes, "a new label…"]
        picked = label.selectbox("Label for the picked rows", known, key=f"label-bulk-{check_id}")
        typed = ""
        if picked == known[-1]:
            typed = label.text_input("New label", key=f"label-new-{check_id}", placeholder="type it")
        if give.button("Label picked rows", key=f"label-give-{check_id}", width="stretch"):
            value = typed if picked == known[-1] else picked
            rows = table["pick"].astype(bool)
            if not rows.any():
                st.warning("Pick some rows first (the **pick** column).", icon=":material/touch_app:")
            else:
                try:
                    value = retrains.clean_label(value)
                except CanvasCraftError as error:
                    st.error(plain(error))
                else:
                    table.loc[rows, "label"] = value
                    table.loc[rows, "add"] = True
                    table.loc[rows, "pick"] = False
                    _rewrite(check_id, table, f"labelled {int(rows.sum())} picked rows {value!r}")
    return table


def _rewrite(check_id: int, table: pd.DataFrame, what: str) -> None:
    st.session_state[f"label-rows-{check_id}"] = table.copy()
    st.session_state[f"label-round-{check_id}"] = st.session_state.get(f"label-round-{check_id}", 0) + 1
    st.session_state[f"label-note-{check_id}"] = what
    st.rerun()


def _add(found: retrains.CheckItems, table: pd.DataFrame) -> None:
    check_id = found.check_id
    note = st.session_state.pop(f"label-note-{check_id}", None)
    if note:
        st.caption(f"Done: {note}.")
    labels = {
        str(row.file): (str(row.label).strip() if row.add and isinstance(row.label, str) and row.label.strip()
                        else None)
        for row in table.itertuples()
    }  # fmt: skip
    count = sum(label is not None for label in labels.values())
    share, button = st.columns([2, 3], vertical_alignment="bottom")
    held = share.slider("Hold back to test on", 10, 50, int(retrains.HOLD_BACK * 100), step=5, format="%d%%",
                        key=f"label-share-{check_id}",
                        help="Kept out of training, so the retrained model is measured on new items it "
                             "never learned (at least one of each label with two or more).")  # fmt: skip
    if button.button(
        f"Add {count} labelled item{'s' if count != 1 else ''} as a new version",
        key=f"label-apply-{check_id}",
        type="primary",
        disabled=count == 0,
        width="stretch",
    ):
        try:
            report = retrains.apply_labels(check_id, labels, share=held / 100)
        except CanvasCraftError as error:
            st.error(plain(error), icon=":material/error:")
            return
        st.session_state[f"label-report-{check_id}"] = report
        st.session_state[f"label-done-{check_id}"] = report.version
        st.rerun()


def _after_adding(report: retrains.LabelReport, model_name: str, alias: str) -> None:
    st.success(plain(report.summary[0].upper() + report.summary[1:]) + ".", icon=":material/task_alt:")
    if report.skipped:
        st.dataframe(pd.DataFrame(report.skipped, columns=["file", "why it was not added"]), hide_index=True)
    if report.unchanged:
        return
    st.markdown(
        f"Retrain **{plain(model_name)}@{plain(alias)}** on **{plain(report.dataset)} v{report.version}**: "
        f"both versions are then compared on the old validation items and on the {len(report.held_back)} "
        "held-back new ones, each shown apart."
    )
    if st.button(
        f"Retrain on v{report.version}", key=f"label-retrain-{report.check_id}", type="primary",
        icon=":material/model_training:",
    ):  # fmt: skip
        try:
            started = retrains.request_retrain(
                f"{model_name}@{alias}",
                f"new items of check #{report.check_id} labelled into {report.dataset} v{report.version}",
                check_id=report.check_id,
                dataset_version=report.version,
            )
        except CanvasCraftError as error:
            st.error(plain(error), icon=":material/error:")
            return
        for key in ("report", "rows", "round"):
            st.session_state.pop(f"label-{key}-{report.check_id}", None)
        close_view()
        st.session_state["label-started"] = (
            f"Retrain {started} started on {report.dataset} v{report.version}: follow it under "
            "**Alerts and retraining**."
        )
        st.rerun()


def _left_out(found: retrains.CheckItems) -> None:
    left = [(name, reason) for name, reason in found.ranked.skipped]
    left += [(name, "gone from the watched folder, or changed since the check") for name in found.missing]
    if len(found.items) > SHOWN:
        st.caption(
            f"The {SHOWN} most drifted of {len(found.items)} items are shown; label the rest next time."
        )
    if left:
        with st.expander(f"Files that cannot be labelled ({len(left)})", icon=":material/block:"):
            st.dataframe(pd.DataFrame(left, columns=["file", "reason"]), hide_index=True)


def started_notice() -> None:
    """The confirmation a retrain started from the view leaves for the page's next run."""
    text = st.session_state.pop("label-started", None)
    if text:
        st.success(text, icon=":material/model_training:")
