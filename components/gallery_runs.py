"""Gallery views of runs: the filtered grid of cards, and one run in detail.

Every view is drawn from a ``GalleryState`` (what the URL says) and changes it only through ``go``, so
what the user sees is always what a shared link reopens.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from canvascraft.errors import CanvasCraftError
from canvascraft.services.gallery import (
    DEFAULT_METRIC,
    RunCard,
    RunDetail,
    RunFilter,
    ValidationItem,
    confusion_figure,
    embedding_figure,
    items_in_cell,
    lower_is_better,
    metric_curves_figure,
    quality_curves_figure,
    register,
    run_detail,
    run_facets,
    search_runs,
    token_for_page,
    training_data_warnings,
)
from canvascraft.services.jobs import named_version, trial_note
from canvascraft.share.links import MAX_COMPARED, GalleryState
from components.gallery_generate import generate_view, quality_table, samples_by_epoch
from components.media import cached_thumbnail, cached_waveform
from components.roles import may, needs
from components.text import plain
from components.view_nav import follow, go

PAGE_SIZE = 12
COLUMNS = 4
ANY = "(any)"
STATUS_COLOURS = {"FINISHED": "green", "RUNNING": "blue", "FAILED": "red", "KILLED": "orange"}
PICKED = "gallery_picked"
SUMMARY_METRICS = {"epoch_seconds"}
"""Metrics that are not per-epoch learning curves (``best_*`` summaries are left out too)."""


def runs_grid(state: GalleryState) -> None:
    """Filters, a page of run cards, paging, and picking runs to compare."""
    facets = run_facets()
    with st.form("gallery_filters", border=False):
        columns = st.columns([2, 2, 2, 2, 1.4, 1.4, 2], vertical_alignment="bottom")
        dataset = columns[0].selectbox(
            "dataset", [ANY, *facets.datasets], index=_index(facets.datasets, state.dataset)
        )
        trainer = columns[1].selectbox(
            "trainer", [ANY, *facets.trainers], index=_index(facets.trainers, state.trainer)
        )
        status = columns[2].selectbox(
            "status", [ANY, *facets.statuses], index=_index(facets.statuses, state.status)
        )
        metrics = facets.metrics or [DEFAULT_METRIC]
        shown = state.metric or DEFAULT_METRIC
        metric = columns[3].selectbox(
            "metric", metrics, index=metrics.index(shown) if shown in metrics else 0,
            help="The metric of the range filter, the sort and the cards.",
        )  # fmt: skip
        low = columns[4].number_input("from", value=state.low, format="%g", placeholder="any")
        high = columns[5].number_input("to", value=state.high, format="%g", placeholder="any")
        tag = columns[6].text_input("tag", value=state.tag or "", placeholder="key or key=value")
        sort = st.toggle("sort by the metric (best first)", value=state.sort is not None)
        if st.form_submit_button("Apply filters", icon=":material/filter_alt:"):
            go(
                replace(
                    state,
                    view="runs",
                    dataset=_chosen(dataset),
                    trainer=_chosen(trainer),
                    status=_chosen(status),
                    metric=metric,
                    low=low,
                    high=high,
                    tag=tag.strip() or None,
                    sort=metric if sort else None,
                    page=1,
                )
            )
    run_filter = RunFilter(
        dataset=state.dataset, trainer=state.trainer, status=state.status, tag=state.tag,
        metric=state.metric, metric_min=state.low, metric_max=state.high,
    )  # fmt: skip
    try:
        page = search_runs(
            run_filter,
            sort_metric=state.sort,
            descending=not lower_is_better(state.sort or ""),
            page_size=PAGE_SIZE,
            page_token=token_for_page(state.page, PAGE_SIZE),
        )
    except CanvasCraftError as error:
        # The filters cannot run as given (a link typed by hand): say why, and show every run instead.
        st.error(f"{plain(error)}. Showing all runs; change the filters above.", icon=":material/error:")
        state = GalleryState()
        page = search_runs(page_size=PAGE_SIZE)
    if not page.cards:
        if state.page > 1:
            st.info("No runs on this page.", icon=":material/info:")
            st.button("First page", on_click=follow, args=(replace(state, page=1),))
        elif state.dataset or state.trainer or state.status or state.tag or state.low is not None:
            st.info("No run matches these filters.", icon=":material/filter_alt_off:")
        else:
            st.info("No runs yet: train a model on the Train page.", icon=":material/model_training:")
        return
    picked: list[str] = st.session_state.setdefault(PICKED, [])
    for start in range(0, len(page.cards), COLUMNS):
        row = st.columns(COLUMNS)
        for column, card in zip(row, page.cards[start : start + COLUMNS], strict=False):
            with column, st.container(border=True):
                _card(card, state, picked)
    left, middle, right = st.columns([1, 2, 1], vertical_alignment="center")
    if state.page > 1:
        left.button("← Previous", on_click=follow, args=(replace(state, page=state.page - 1),))
    middle.caption(f"Page {state.page}")
    if page.next_page_token:
        right.button("Next →", on_click=follow, args=(replace(state, page=state.page + 1),))
    _compare_bar(state, picked)


def _index(options: list[str], value: str | None) -> int:
    return options.index(value) + 1 if value in options else 0


def _chosen(value: str) -> str | None:
    return None if value == ANY else value


def _card(card: RunCard, state: GalleryState, picked: list[str]) -> None:
    if card.thumbnail is not None and card.thumbnail.exists():
        st.image(str(card.thumbnail), width="stretch")
    st.markdown(f"**{card.name}**")
    st.badge(card.status.lower(), color=STATUS_COLOURS.get(card.status, "gray"))
    recipe = f"recipe {named_version(card.recipe, card.recipe_version)}" if card.recipe else None
    st.caption(" · ".join(f for f in (card.dataset, card.trainer, recipe) if f))
    metric = state.metric or DEFAULT_METRIC
    logs_it = metric in card.metrics or (card.best_metric is not None and card.best_metric.name == metric)
    st.markdown(_card_metric(card, metric if logs_it else card.primary_metric))
    notes = []
    if card.study:
        notes.append(trial_note({"name": card.study, "number": card.trial}) or "")
    if card.start_time is not None:
        notes.append(f"started {card.start_time:%Y-%m-%d %H:%M} UTC")
    if notes:
        st.caption(" · ".join(notes))
    open_column, pick_column = st.columns(2, vertical_alignment="center")
    open_column.button(
        "Open", key=f"gallery_open_{card.run_id}", on_click=follow,
        args=(GalleryState(view="run", run=card.run_id),), icon=":material/open_in_full:",
    )  # fmt: skip
    chosen = pick_column.checkbox("compare", value=card.run_id in picked, key=f"gallery_pick_{card.run_id}")
    if chosen and card.run_id not in picked:
        picked.append(card.run_id)
    elif not chosen and card.run_id in picked:
        picked.remove(card.run_id)


def _card_metric(card: RunCard, metric: str) -> str:
    """The chosen metric: its best epoch when the store gave one, else its last value (what sorting uses)."""
    best = card.best_metric
    if best is not None and best.name == metric:
        last = card.metrics.get(metric)
        tail = f" · last {last:.3f}" if last is not None and abs(last - best.value) > 5e-4 else ""
        return f"{metric} **{best.value:.3f}** (best, epoch {best.step}){tail}{_baseline(card, metric)}"
    if metric in card.metrics:
        return f"{metric} **{card.metrics[metric]:.3f}** (last epoch){_baseline(card, metric)}"
    return f"{metric}: not logged"


def _baseline(card: RunCard, metric: str) -> str:
    """`` · baseline 0.875`` beside a card's figure, in the same format, when the run fitted one."""
    value = card.baseline_value(metric)
    return "" if value is None else f" · baseline {value:.3f}"


def _compare_bar(state: GalleryState, picked: list[str]) -> None:
    if not picked:
        st.caption("Tick **compare** on two or more cards to compare their runs.")
        return
    runs = tuple(picked[:MAX_COMPARED])
    text = f"{len(runs)} run(s) picked" + (" (compare needs two)" if len(runs) < 2 else "")
    left, right = st.columns([3, 1], vertical_alignment="center")
    left.markdown(text)
    right.button(
        "Compare", type="primary", disabled=len(runs) < 2, icon=":material/compare_arrows:",
        on_click=follow, args=(GalleryState(view="compare", runs=runs),),
    )  # fmt: skip


def run_view(state: GalleryState, shared: bool = False) -> None:
    """One run: lineage, parameters, curves, per-class metrics, confusion matrix, embedding map,
    checkpoints, artifacts, and registering its model. ``shared``: read only, as a share link opens it
    (no way to the other runs, no registering or generating)."""
    assert state.run is not None
    try:
        detail = run_detail(state.run)
    except CanvasCraftError as error:
        if shared:
            st.error(f"This run cannot be shown: {plain(error)}.", icon=":material/error:")
            return
        st.error(f"This run cannot be shown: {plain(error)}. Here are all runs.", icon=":material/error:")
        runs_grid(GalleryState())
        return
    card = detail.card
    if not shared:
        st.button("← All runs", on_click=follow, args=(GalleryState(),), type="tertiary")
    head, badge = st.columns([6, 1], vertical_alignment="center")
    head.subheader(card.name)
    badge.badge(card.status.lower(), color=STATUS_COLOURS.get(card.status, "gray"))
    _lineage(detail)
    if card.baseline_line:
        st.markdown(card.baseline_line)
    if card.behind_baseline:
        st.warning(card.behind_baseline, icon=":material/trending_down:")
    st.plotly_chart(metric_curves_figure(detail), key="gallery_curves")
    if detail.objective.task == "generate":
        left, right = st.columns([1, 1], gap="large")
        with left:
            samples_by_epoch(card.run_id)
        with right:
            quality_table(card.metrics)
            figure = quality_curves_figure(detail)
            if figure is not None:
                st.markdown("**Quality while it trained** · measured on fewer, quicker samples")
                st.plotly_chart(figure, key="gallery_quality_curves")
        if card.status == "FINISHED" and detail.model_uris and not shared:
            with st.expander("Generate", icon=":material/auto_awesome:", expanded=True):
                generate_view(card.run_id, key=f"gallery_make_{card.run_id}")
    elif detail.has_validation:
        _validation(detail, state)
    else:
        st.info("This run saved no validation predictions (it ended before its model was logged).")
    with st.expander("Parameters", icon=":material/tune:"):
        st.dataframe(
            pd.DataFrame(sorted(detail.params.items()), columns=["parameter", "value"]), hide_index=True
        )
    with st.expander("Checkpoints and artifacts", icon=":material/inventory_2:"):
        if detail.checkpoints:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "checkpoint": c.name,
                            "epoch": c.epoch,
                            **{k: c.metrics.get(k) for k in detail.objective.metric_keys("val")},
                        }
                        for c in detail.checkpoints
                    ]
                ),
                hide_index=True,
            )
        st.dataframe(
            pd.DataFrame([{"artifact": a.path, "bytes": a.size} for a in detail.artifacts]), hide_index=True
        )
    if (
        card.status == "FINISHED"
        and detail.model_uris
        and not shared
        and needs("artist", "Registering this model")
    ):
        _register_form(detail)


def _lineage(detail: RunDetail) -> None:
    lineage = detail.lineage
    facts = [
        named_version(f"dataset **{lineage.dataset}**", lineage.dataset_version),
        named_version(f"recipe **{lineage.recipe}**", lineage.recipe_version),
        f"trainer **{detail.card.trainer}**",
    ]
    if lineage.study:
        facts.append(trial_note({"name": f"**{lineage.study}**", "number": lineage.trial}) or "")
    if lineage.forked_from_job:
        facts.append(
            f"forked from job #{lineage.forked_from_job}'s {lineage.forked_from_checkpoint} checkpoint"
        )
    if detail.card.job_id:
        facts.append(f"job #{detail.card.job_id}")
    st.markdown(" · ".join(facts))


def _validation(detail: RunDetail, state: GalleryState) -> None:
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**Confusion matrix** · click a cell to see its items")
        chosen = st.plotly_chart(
            confusion_figure(detail), key="gallery_confusion", on_select="rerun", selection_mode="points"
        )
        st.dataframe(
            pd.DataFrame([vars(m) for m in detail.per_class]).rename(columns={"label": "class"}),
            hide_index=True,
            column_config={
                k: st.column_config.NumberColumn(format="%.2f") for k in ("precision", "recall", "f1")
            },
        )
    with right:
        st.markdown("**Embedding map** · validation items, coloured by label (✕ wrong); click one to see it")
        picked = st.plotly_chart(
            embedding_figure(detail), key="gallery_embedding", on_select="rerun", selection_mode="points"
        )
        point = _selected_point(picked)
        if point is not None and point.get("customdata") is not None:
            custom = point["customdata"]
            index = int(custom[0] if isinstance(custom, list) else custom)
            _items([i for i in detail.items if i.index == index], detail.card.modality)
    _cell_items(detail, _selected_point(chosen))


def _cell_items(detail: RunDetail, clicked: dict | None) -> None:
    """The items behind one confusion cell. The two pickers follow a click on the matrix and also work
    alone (keyboard, or where the chart's selection cannot be used)."""
    run = detail.card.run_id
    true_key, guess_key, seen_key = (f"gallery_cell_{part}_{run}" for part in ("true", "guess", "seen"))
    classes = detail.classes
    if clicked is not None:
        cell = (str(clicked.get("y")), str(clicked.get("x")))
        if cell != st.session_state.get(seen_key) and all(c in classes for c in cell):
            st.session_state[seen_key] = cell
            st.session_state[true_key], st.session_state[guess_key] = cell
    if true_key not in st.session_state:
        st.session_state[true_key], st.session_state[guess_key] = _most_confused(detail)
    st.markdown("**Items in a cell**")
    left, right, _ = st.columns([1, 1, 2])
    true_label = left.selectbox("label", classes, key=true_key)
    predicted = right.selectbox("predicted as", classes, key=guess_key)
    items = items_in_cell(detail, true_label, predicted)
    what = "correct" if true_label == predicted else "wrong"
    st.caption(f"{len(items)} item(s) labelled {plain(true_label)}, predicted {plain(predicted)} ({what})")
    _items(items, detail.card.modality)


def _most_confused(detail: RunDetail) -> tuple[str, str]:
    """The cell worth opening first: the largest mistake, or the first class's correct items."""
    classes, matrix = detail.classes, detail.confusion
    mistakes = [(matrix[i][j], i, j) for i in range(len(classes)) for j in range(len(classes)) if i != j]
    count, i, j = max(mistakes, default=(0, 0, 0))
    return (classes[i], classes[j]) if count else (classes[0], classes[0])


def _selected_point(event: object) -> dict | None:
    selection = getattr(event, "selection", None) or (
        event.get("selection") if isinstance(event, dict) else None
    )
    points = (selection or {}).get("points") or []
    return points[0] if points else None


def _items(items: list[ValidationItem], modality: str | None) -> None:
    if not items:
        st.caption("No items here.")
        return
    row = st.columns(6)
    for position, item in enumerate(items[:24]):
        with row[position % 6]:
            mark = "✓" if item.correct else "✗"
            caption = f"{mark} {plain(item.label)} → {plain(item.predicted)} ({item.confidence:.0%})"
            if item.sha256 and modality == "image":
                st.image(cached_thumbnail(item.sha256, 128), caption=caption)
            elif item.sha256 and modality == "audio":
                st.image(cached_waveform(item.sha256), caption=caption)
            else:
                st.caption(f"{plain(item.name) if item.name else f'row {item.index + 1}'}: {caption}")


def _register_form(detail: RunDetail) -> None:
    done_key = f"gallery_registered_{detail.card.run_id}"
    with st.expander(
        "Register this model", icon=":material/bookmark_add:", expanded=done_key in st.session_state
    ):
        with st.form("gallery_register", border=False):
            left, right = st.columns(2)
            name = left.text_input("model name", value=f"{detail.card.dataset}-{detail.card.trainer}")
            alias = right.text_input(
                "alias (optional)", placeholder="champion", disabled=not may("admin"),
                help=None if may("admin") else "An alias given here moves it: that needs the admin role.",
            )  # fmt: skip
            submitted = st.form_submit_button("Register", icon=":material/bookmark_add:")
        if submitted:
            try:
                info = register(detail.card.run_id, name.strip(), alias.strip() or None)
            except CanvasCraftError as error:
                st.error(plain(error), icon=":material/error:")
            else:
                warnings = training_data_warnings(detail.card.run_id)
                st.session_state[done_key] = (info.name, info.version, alias.strip(), warnings)
        if done_key in st.session_state:
            model, version, given, warnings = st.session_state[done_key]
            aliased = f" with alias {given}" if given else ""
            st.success(
                f"Registered as {plain(model)} version {version}{aliased}.", icon=":material/check_circle:"
            )
            if warnings:
                st.warning(
                    "Trained on data without a licence or without consent (its card says so):\n\n"
                    + "\n".join(f"- {plain(w)}" for w in warnings),
                    icon=":material/warning:",
                )  # fmt: skip
            st.button(
                "Open the model", on_click=follow, icon=":material/arrow_forward:",
                args=(GalleryState(view="models", model=model, version=str(version)),),
            )  # fmt: skip
