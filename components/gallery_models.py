"""Registered models (versions, aliases, download, the model card) and trying a model on new files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go_figure
import streamlit as st

from canvascraft.errors import CanvasCraftError
from canvascraft.services.datasets import item_bytes, list_datasets, open_version, thumbnail_png, upload_types
from canvascraft.services.drift import capture_try
from canvascraft.services.gallery import (
    Prediction,
    Predictor,
    describe,
    download_zip,
    export_formats,
    export_problem,
    export_zip,
    list_checkpoints,
    list_models,
    model_card,
    model_versions,
    predictions_csv,
    render_markdown,
    resolve,
    set_alias,
)
from canvascraft.services.jobs import list_training_jobs
from canvascraft.share.links import GalleryState
from components.gallery_generate import generate_view
from components.media import cached_thumbnail, cached_waveform
from components.roles import may, needs
from components.text import plain
from components.view_nav import follow, go, name_in_url


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def loaded(ref: str, source: str) -> Predictor:
    """One loaded model per version across sessions: loading takes a second, a prediction milliseconds.

    ``source`` (the version's files) is part of the key, so a model deleted and registered again under
    the same name and number, or another workspace, never gets a stale model."""
    return Predictor.from_ref(ref)


def models_view(state: GalleryState, shared: bool = False) -> None:
    """A model's versions with their aliases, metrics and lineage; move an alias, download, try.
    ``shared``: that one model read only, as a share link opens it (no other models, no actions)."""
    models = list_models()
    names = [m.name for m in models]
    if state.model is not None and state.model not in names:
        if shared:
            st.error(f"There is no model {state.model!r} any more.", icon=":material/error:")
            return
        st.warning(
            f"There is no model {state.model!r} (deleted or renamed?)"
            + ("; showing the others." if names else "."),
            icon=":material/link_off:",
        )
    if not models:
        st.info(
            "No registered models yet: open a finished run and register its model.", icon=":material/info:"
        )
        return
    current = state.model if state.model in names else names[0]
    if shared:
        st.subheader(f"Model {plain(current)}", anchor=False)
    else:
        chosen = st.selectbox("model", names, index=names.index(current))
        if chosen != current:
            go(replace(state, model=chosen, version=None))
        name_in_url(replace(state, model=current))
    versions = model_versions(current)
    # The validation figures of the versions' trainers, each once, in the order their objectives list them.
    scores = {m.key("val"): m for v in versions for m in v.objective.scores}
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "version": v.version,
                    "aliases": ", ".join(v.aliases),
                    **{key: v.metrics.get(key) for key in scores},
                    "dataset": v.lineage.dataset if v.lineage else None,
                    "recipe": f"{v.lineage.recipe} v{v.lineage.recipe_version}" if v.lineage else None,
                    "trainer": v.lineage.trainer if v.lineage else None,
                    "created": v.created,
                    "run": v.run_id,
                }
                for v in versions
            ]
        ),
        hide_index=True,
        column_config={
            **{
                key: st.column_config.NumberColumn(format="percent" if m.percent else "%.2f")
                for key, m in scores.items()
            },
            "created": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        },
    )
    numbers = [v.version for v in versions]
    asked = int(state.version) if state.version and state.version.isdigit() else None
    if shared:
        card_view(current, numbers, asked, shared=True)
        return
    left, middle, right = st.columns(3, vertical_alignment="bottom")
    with left.form("gallery_alias", border=False):
        alias = st.text_input("alias", value="champion")
        version = st.selectbox("version", numbers)
        if st.form_submit_button("Set alias", icon=":material/sell:", disabled=not may("admin")):
            try:
                set_alias(current, alias.strip(), version)
            except CanvasCraftError as error:
                st.error(plain(error), icon=":material/error:")
            else:
                st.success(f"{alias} → version {version}", icon=":material/check_circle:")
    with left:
        needs("admin", "Moving an alias")
    shown = middle.selectbox("download version", numbers, key="gallery_download_version")
    middle.download_button(
        "Download as zip", data=lambda: download_zip(current, shown), file_name=f"{current}-v{shown}.zip",
        mime="application/zip", icon=":material/download:", disabled=not may("artist"),
    )  # fmt: skip
    right.button(
        "Try this model", type="primary", icon=":material/science:", on_click=follow,
        args=(GalleryState(view="try", model=current, version=str(shown)),),
    )  # fmt: skip
    _export_row(current, shown)
    card_view(current, numbers, asked)


def card_view(name: str, numbers: list[int], asked: int | None = None, shared: bool = False) -> None:
    """One version's model card: what it is for (editable, unless ``shared``), its data's licence and
    consent with the warning when they are missing, and the whole card, downloadable as card.md."""
    st.subheader("Card", divider="gray")
    index = numbers.index(asked) if asked in numbers else 0
    version = st.selectbox("card of version", numbers, index=index, key=f"gallery_card_version_{name}")
    try:
        card = model_card(name, version)
    except CanvasCraftError as error:
        st.error(plain(error), icon=":material/error:")
        return
    if card.data_warnings:
        st.warning(
            "This model learned from data without a licence or without consent:\n\n"
            + "\n".join(f"- {plain(w)}" for w in card.data_warnings)
            + "\n\nSet them in Data → Licence and consent.",
            icon=":material/warning:",
        )  # fmt: skip
    if not shared:
        with st.form(f"gallery_describe_{name}_{version}", border=False):
            text = st.text_input(
                "What it is for", value=card.description, max_chars=500,
                placeholder="e.g. sorts my ink sketches by the brush I used",
                key=f"gallery_describe_{name}_{version}_text",
            )  # fmt: skip
            if st.form_submit_button("Save description", icon=":material/edit:"):
                try:
                    describe(name, version, text)
                except CanvasCraftError as error:
                    st.error(plain(error), icon=":material/error:")
                else:
                    card = model_card(name, version)
                    st.success("Saved: the card says what the model is for.", icon=":material/check_circle:")
    markdown = render_markdown(card)
    st.download_button(
        "Download card.md", data=markdown.encode("utf-8"), file_name=f"{name}-v{version}-card.md",
        mime="text/markdown", icon=":material/download:", key=f"gallery_card_download_{name}_{version}",
    )  # fmt: skip
    with st.container(border=True):
        st.markdown(render_markdown(card, top_level=3))  # nested under the page's "Card" heading


def _export_row(name: str, version: int) -> None:
    """The version as ONNX or TorchScript with its preprocessing and a ``predict.py`` (a generator: ONNX
    with its sampling settings and a ``generate.py``) that needs no studio; refused up front, with the
    reason, where the recipe has no export."""
    try:
        problem = export_problem(name, version)
        formats = export_formats(name, version)
    except CanvasCraftError as error:
        problem, formats = str(error), ()
    if problem is not None:
        st.caption(f"Not exportable for use outside the studio: {plain(problem)}")
        return
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    fmt = left.selectbox(
        "export format", formats, key=f"gallery_export_format_{len(formats)}",
        help="onnx runs with onnxruntime and numpy alone; torchscript (classifiers) needs PyTorch.",
    )  # fmt: skip
    right.download_button(
        "Download for use outside the studio", data=lambda: export_zip(name, version, fmt),
        disabled=not may("artist"),
        file_name=f"{name}-v{version}-{fmt}.zip", mime="application/zip", icon=":material/output:",
        help="The model with what runs it outside the studio (predict.py, or generate.py for a "
        "generator) and a README; see README.md inside.",
    )  # fmt: skip


def try_view(state: GalleryState, shared: bool = False) -> None:
    """Pick a model version, alias or training checkpoint, then a sample item or files of one's own;
    see the top guesses. ``shared``: the one model and item a share link names, read only."""
    if shared:
        _shared_try(state)
        return
    sources = ["Registered model", "Training checkpoint"]
    current = sources[1] if state.checkpoint else sources[0]
    source = st.segmented_control("Try", sources, default=current, key="gallery_try_source")
    if source is not None and source != current:
        go(replace(state, checkpoint=_first_checkpoint() if source == sources[1] else None, item=None))
    predictor = _checkpoint_predictor(state) if state.checkpoint else _registered_predictor(state)
    if predictor is None:
        return
    st.caption(f"{predictor.modality} model · classes: {', '.join(map(plain, predictor.classes))}")
    sample, own, live = st.tabs(["A sample item", "Your own files", "Try live"])
    with sample:
        _sample_item(state, predictor)
    with own:
        if needs("artist", "Trying your own files"):
            _own_files(predictor)
    with live:
        if needs("artist", "Trying live"):
            _try_live(predictor)


def _shared_try(state: GalleryState) -> None:
    """A Try result as a share link opens it: the named version or checkpoint on the named item, with
    no picker (another model or item would be another view)."""
    try:
        if state.checkpoint:
            options = _checkpoints()
            if state.checkpoint not in options:
                st.error(f"There is no checkpoint {state.checkpoint} any more.", icon=":material/error:")
                return
            label, path = options[state.checkpoint]
            job, _, which = state.checkpoint.partition(":")
            predictor = loaded_checkpoint(int(job), which, path.stat().st_mtime)
        else:
            tail = state.version or ""
            version = resolve(f"{state.model}/{tail}" if tail.isdigit() else f"{state.model}@{tail}")
            if version.objective.task == "generate":
                st.info(
                    f"{plain(version.ref)} makes pictures: it has no guesses to show.", icon=":material/info:"
                )
                return
            label = f"{version.name} version {version.version}"
            predictor = loaded(version.ref, version.source)
    except CanvasCraftError as error:
        st.error(plain(error), icon=":material/error:")
        return
    st.subheader(f"Try {plain(label)}", anchor=False)
    st.caption(f"{predictor.modality} model · classes: {', '.join(map(plain, predictor.classes))}")
    _sample_item(state, predictor, shared=True)


def _registered_predictor(state: GalleryState) -> Predictor | None:
    models = list_models()
    known = {m.name for m in models}
    if not models:
        if state.model is not None:
            st.warning(
                f"There is no model {state.model!r} (deleted or renamed?).", icon=":material/link_off:"
            )
        st.info(
            "Register a model first (open a finished run in Runs), or try a training checkpoint.",
            icon=":material/info:",
        )
        return None
    refs = [f"{m.name}@{alias}" for m in models for alias in m.aliases] + [
        f"{m.name}/{v}" for m in models for v in range(m.versions, 0, -1)
    ]
    asked = f"{state.model}@{state.version}" if state.version and not state.version.isdigit() else (
        f"{state.model}/{state.version}" if state.model and state.version else None
    )  # fmt: skip
    ref = st.selectbox("model", refs, index=refs.index(asked) if asked in refs else 0)
    name, _, tail = ref.replace("@", "/").partition("/")
    if asked != ref:
        notice = None
        if state.model is not None and state.model not in known:
            notice = f"There is no model {state.model!r} (deleted or renamed?); showing {ref}."
        elif asked is not None and asked != ref and state.model in known and asked not in refs:
            notice = f"There is no model version {asked}; showing {ref}."
        go(replace(state, model=name, version=tail, item=None), notice=notice)
    try:
        version = resolve(ref)
        if version.objective.task == "generate":  # trying a generator is making pictures with it
            generate_view(version.ref, key=f"gallery_try_make_{version.name}_{version.version}")
            return None
        return loaded(version.ref, version.source)
    except CanvasCraftError as error:
        st.error(plain(error), icon=":material/error:")
        return None


@st.cache_resource(max_entries=4, show_spinner="Loading the checkpoint…")
def loaded_checkpoint(job_id: int, which: str, saved_at: float) -> Predictor:
    """``saved_at`` (the file's time) is in the key: a running job's ``last`` checkpoint changes."""
    return Predictor.from_checkpoint(job_id, which)


def _checkpoints() -> dict[str, tuple[str, Path]]:
    """``<job>:<best|last>`` → (a label, its file), for every training job that saved checkpoints,
    newest first."""
    found: dict[str, tuple[str, Path]] = {}
    for view in list_training_jobs(limit=50, trials=False):
        metric, key = view.objective.primary_metric, view.objective.primary
        for checkpoint in list_checkpoints(view.job.id):
            value = checkpoint.metrics.get(key)
            figure = "" if value is None else f", validation {metric.label} {metric.shown(value)}"
            label = f"{view.title} · {checkpoint.name} (epoch {checkpoint.epoch}{figure})"
            found[f"{view.job.id}:{checkpoint.name}"] = (label, checkpoint.path)
    return found


def _first_checkpoint() -> str | None:
    return next(iter(_checkpoints()), None)


def _checkpoint_predictor(state: GalleryState) -> Predictor | None:
    options = _checkpoints()
    if not options:
        st.info("No training job has saved a checkpoint yet.", icon=":material/info:")
        return None
    keys = list(options)
    chosen = st.selectbox(
        "checkpoint",
        keys,
        index=keys.index(state.checkpoint) if state.checkpoint in options else 0,
        format_func=lambda key: options[key][0],
        key="gallery_try_checkpoint",
    )
    if chosen != state.checkpoint:
        missing = state.checkpoint is not None and state.checkpoint not in options
        notice = (
            f"There is no checkpoint {state.checkpoint} (job deleted?); showing another." if missing else None
        )
        go(replace(state, checkpoint=chosen, item=None), notice=notice)
    job, _, which = chosen.partition(":")
    try:
        return loaded_checkpoint(int(job), which, options[chosen][1].stat().st_mtime)
    except CanvasCraftError as error:
        st.error(plain(error), icon=":material/error:")
        return None


def _sample_item(state: GalleryState, predictor: Predictor, shared: bool = False) -> None:
    datasets = [d.name for d in list_datasets() if d.modality == predictor.modality]
    if not datasets or predictor.modality == "table":
        st.caption(
            "A table model has no sample items to show here."
            if shared
            else "Upload rows under “Your own files” to try a table model."
        )
        return
    trained_on = predictor.context.params.get("dataset")
    view = open_version(trained_on if trained_on in datasets else datasets[0])
    items = {item.sha256: item for item in view.items[:60]}
    if shared and (not items or (state.item is not None and state.item not in items)):
        st.error("The linked item is not among the sample items any more.", icon=":material/error:")
        return
    picked = (state.item or next(iter(items))) if shared else st.selectbox(
        "item", list(items), index=list(items).index(state.item) if state.item in items else 0,
        format_func=lambda sha: f"{items[sha].name} ({items[sha].label})",
    )  # fmt: skip
    if picked != state.item and not shared:
        gone = state.item is not None and state.item not in items
        notice = (
            f"The linked item is not among {view.dataset}'s sample items; showing another." if gone else None
        )
        go(replace(state, item=picked), notice=notice)
    left, right = st.columns([1, 3], vertical_alignment="center")
    if predictor.modality == "image":
        left.image(cached_thumbnail(picked, 160))
    elif predictor.modality == "audio":
        left.image(cached_waveform(picked))
        left.audio(item_bytes(picked))
    try:
        result = predictor.predict_item(picked)
    except CanvasCraftError as error:
        st.error(plain(error), icon=":material/error:")
        return
    with right:
        prediction_chart(result, key="gallery_try_sample_chart", truth=items[picked].label)


def _own_files(predictor: Predictor) -> None:
    files = st.file_uploader(
        "files (several at once for a folder)",
        type=upload_types(predictor.modality),
        accept_multiple_files=True,
        key="gallery_try_files",
    )
    if not files:
        return
    capture_try(predictor.source, [(f.name, f.getvalue()) for f in files])  # for a model watched on Try
    if len(files) == 1 and predictor.modality != "table":
        try:
            prediction_chart(
                predictor.predict_file(files[0].getvalue(), files[0].name), key="gallery_try_file_chart"
            )
        except CanvasCraftError as error:
            st.error(plain(error), icon=":material/error:")
        return
    table = predictor.predict_many((f.name, f.getvalue()) for f in files)
    bad = table[table["error"] != ""]
    if len(bad):
        st.warning(
            f"{len(bad)} file(s) could not be read; their reasons are in the table.",
            icon=":material/warning:",
        )
    st.dataframe(
        table, hide_index=True, column_config={"probability": st.column_config.NumberColumn(format="percent")}
    )
    st.download_button(
        "Download predictions (CSV)", predictions_csv(table), file_name="predictions.csv", mime="text/csv",
        icon=":material/download:",
    )  # fmt: skip
    if predictor.modality in ("image", "audio"):
        _file_cards(predictor.modality, [(f.name, f.getvalue()) for f in files], table)


FILE_CARDS = 48
"""Uploaded files shown with their picture or player beside the prediction (the table lists all)."""


def _file_cards(modality: str, files: list[tuple[str, bytes]], table: pd.DataFrame) -> None:
    """Each file as one sees it (a thumbnail, or a player) with its prediction or why it was unreadable."""
    if len(files) > FILE_CARDS:
        st.caption(f"The first {FILE_CARDS} of {len(files)} files; the table above lists them all.")
    rows = table.to_dict("records")
    columns = 4 if modality == "image" else 1
    grid = st.columns(columns)
    for index, ((name, data), row) in enumerate(zip(files[:FILE_CARDS], rows, strict=False)):
        cell = grid[index % columns].container(border=True)
        verdict = (
            f":red[cannot read it: {plain(row['error'])}]"
            if row["error"]
            else f"**{plain(row['predicted'])}** ({row['probability']:.0%})"
        )
        if modality == "image":
            if not row["error"]:
                cell.image(thumbnail_png(data, 160))
            cell.markdown(f"{plain(name)} → {verdict}")
        else:
            cell.markdown(f"{plain(name)} → {verdict}")
            if not row["error"]:
                cell.audio(data)


def _try_live(predictor: Predictor) -> None:
    """A recording (``st.audio_input``: WAV) or a photo (``st.camera_input``: JPEG), predicted through
    the same path as an uploaded file."""
    if predictor.modality == "audio":
        taken = st.audio_input("Record a clip", key="gallery_try_record")
        name = "recording.wav"
    elif predictor.modality == "image":
        taken = st.camera_input("Take a photo", key="gallery_try_camera")
        name = "photo.jpg"
    else:
        st.caption("Try live works for image and audio models; upload rows under “Your own files”.")
        return
    if taken is None:
        return
    data = taken.getvalue()
    capture_try(predictor.source, [(name, data)])  # for a model watched on Try
    try:
        result = predictor.predict_file(data, name)
    except CanvasCraftError as error:
        st.error(plain(error), icon=":material/error:")
        return
    prediction_chart(result, key="gallery_try_live_chart")


def prediction_chart(result: Prediction, key: str, truth: str | None = None) -> None:
    """The top classes as horizontal bars, the winner first (``key``: one chart per place on the page)."""
    labels = [label for label, _ in result.top][::-1]
    values = [value for _, value in result.top][::-1]
    figure = go_figure.Figure(
        go_figure.Bar(
            x=values, y=labels, orientation="h", marker_color="#7c3aed", text=[f"{v:.0%}" for v in values]
        )
    )
    figure.update_layout(height=60 + 36 * len(labels), margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         xaxis={"range": [0, 1], "tickformat": ".0%"})  # fmt: skip
    verdict = (
        "" if truth is None
        else " · :green[right]" if result.label == truth
        else f" · :red[wrong: it is labelled {truth}]"
    )  # fmt: skip
    st.markdown(f"Top prediction: **{plain(result.label)}** ({result.probability:.0%}){verdict}")
    st.plotly_chart(figure, key=key)
