"""One model's checks: the verdict in words, drift over time, the history, and one check in detail.

Everything is drawn from stored checks (``services.drift``): a check reopens exactly as it was, from a
share link too, after its files have moved on.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from canvascraft.errors import CanvasCraftError
from canvascraft.services.drift import (
    CheckDetail,
    CheckSummary,
    FarItem,
    MonitorView,
    as_sentence,
    check_series,
    get_check,
    get_monitor,
    histogram_figure,
    metric_label,
    projection_figure,
    report_html,
    series_figure,
)
from canvascraft.share.links import DriftState
from components.drift_monitors import when
from components.roles import needs
from components.text import plain
from components.view_nav import go

THUMBS_PER_ROW = 6
FEATURE_WORDS = {"embedding": "the model's view of each item (embedding)", "prediction": "predicted labels"}


def verdict_block(detail: CheckDetail, latest: bool) -> None:
    """Big and plain: drift or not, one sentence per drifted signal, and what was checked against what."""
    summary = detail.summary
    st.subheader(f"Check #{summary.id}" + (" · the latest" if latest else ""), anchor=False)
    if summary.state == "failed":
        st.error(f"Check #{summary.id} failed: {plain(summary.error)}", icon=":material/error:")
    elif summary.state == "no_data":
        st.info(
            f"Check #{summary.id} found no new data ({summary.current}). Drop files into the watched "
            "folder and press Run now.",
            icon=":material/inbox:",
        )
    elif summary.drifted:
        st.error("### Drift found", icon=":material/warning:")
    else:
        st.success("### No drift", icon=":material/check_circle:")
    if summary.caveat:
        st.warning(summary.caveat, icon=":material/data_alert:")
    if summary.state == "done":
        if summary.sentences:
            st.markdown("\n".join(f"- {as_sentence(sentence)}" for sentence in summary.sentences))
        elif not summary.drifted:
            st.markdown("The current data looks like the data the model was trained on.")
    version = f"version {summary.model_version}" if summary.model_version is not None else "its version"
    st.caption(
        f"Check #{summary.id} · {when(summary.created_at)} · {summary.trigger} · {summary.model_ref} "
        f"({version}) · {summary.current}"
        + (
            f" · {summary.n_current} items against {summary.n_reference} from training"
            if summary.n_current
            else ""
        )
    )


def label_and_add_button(detail: CheckDetail, monitor: MonitorView) -> None:
    """Open the label-and-add view of a finished check of new files (a dataset's items have labels)."""
    from components.label_and_add import open_view

    summary = detail.summary
    if summary.state != "done" or monitor.source_kind == "dataset" or not summary.n_current:
        return
    if needs("artist", "Labelling and adding items") and st.button(
        "Label and add these items",
        key=f"drift_label_{summary.id}",
        icon=":material/new_label:",
        type="primary" if summary.drifted else "secondary",
        help="Label the check's new files (the model's guesses filled in) and add them to the training "
        "data as a new version, so a retrain learns them.",
    ):
        open_view(summary.id)
        st.rerun()


def series_section(model_name: str) -> pd.DataFrame:
    series = check_series(model_name)
    if series.empty:
        st.caption("The chart appears after the first finished check.")
        return series
    st.plotly_chart(series_figure(series), key=f"drift_series_{model_name}", width="stretch")
    return series


def history_section(checks: list[CheckSummary], state: DriftState, opened: int | None) -> None:
    """Every check of the model, newest first; choosing one opens it (and puts it in the URL)."""
    rows = pd.DataFrame(
        [
            {
                "open": "▶" if check.id == opened else "",
                "check": check.id,
                "time": when(check.created_at),
                "trigger": check.trigger,
                "verdict": check.verdict,
                "data": check.current or "–",
                "items": check.n_current,
                "version": check.model_version,
            }
            for check in checks
        ]
    )
    event = st.dataframe(
        rows,
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=f"drift_history_{state.model}_{opened}",  # a fresh table per opened check: no stale selection
        height=min(38 + 35 * len(rows), 320),
        column_config={
            "open": st.column_config.TextColumn("", width=24),
            "check": st.column_config.NumberColumn(format="#%d", width=60),
            "items": st.column_config.NumberColumn(width=60),
            "version": st.column_config.NumberColumn(width=60),
        },
    )
    picked = event.selection.rows if event is not None else []
    if picked:
        go(replace(state, check=int(rows.iloc[picked[0]]["check"]), feature=None))
    finished = [c.id for c in checks if c.state in ("done", "no_data", "failed")]
    if finished:
        chosen = st.selectbox(
            "Open check",
            finished,
            index=finished.index(opened) if opened in finished else 0,
            format_func=lambda i: _check_label(next(c for c in checks if c.id == i)),
        )
        if chosen != opened:
            go(replace(state, check=chosen, feature=None))


def _check_label(check: CheckSummary) -> str:
    return f"#{check.id} · {when(check.created_at)} · {check.verdict}"


def check_view(detail: CheckDetail, state: DriftState, shared: bool = False) -> None:
    """Metrics per feature, a feature's two sides, the farthest items, what was skipped, the report.
    ``shared`` (a share link's view): picking a feature redraws it here, without a move to another URL."""
    if detail.summary.state != "done":
        _skipped(detail)
        return
    st.markdown("**Metrics per feature** (drifted first)")
    st.dataframe(_metric_rows(detail), hide_index=True, height=min(38 + 35 * len(detail.metrics), 400),
                 column_config={
                     "value": st.column_config.NumberColumn(format="%.3g"),
                     "p-value": st.column_config.NumberColumn(
                         format="%.2g", help="For tests: the chance of a difference this large by luck alone."
                     ),
                     "limit": st.column_config.NumberColumn(format="%g"),
                     "drifted": st.column_config.CheckboxColumn(width=60),
                 })  # fmt: skip
    features = detail.features()
    drifted = {p.feature for p in detail.metrics if p.drifted}
    drawable = [f for f in features if f in detail.histograms or (f == "embedding" and detail.projection)]
    if drawable:
        if state.feature is not None and state.feature not in drawable:
            st.warning(
                f"Check #{detail.summary.id} has no feature {state.feature!r}; showing {drawable[0]}.",
                icon=":material/link_off:",
            )
        current = state.feature if state.feature in drawable else drawable[0]
        chosen = st.selectbox(
            "Feature",
            drawable,
            index=drawable.index(current),
            format_func=lambda f: FEATURE_WORDS.get(f, f) + (" · drifted" if f in drifted else ""),
            help="Compare the training data (grey) with the data checked (colour).",
        )
        if chosen != current and not shared:
            go(replace(state, check=detail.summary.id, feature=chosen))
        current = chosen
        if current == "embedding" and detail.projection is not None:
            st.caption("Points away from the grey cloud are unlike anything the model was trained on.")
            st.plotly_chart(projection_figure(detail.projection), key="drift_projection", width="stretch")
        else:
            st.caption("Each side's bars add up to 100 %, so batches of any size compare.")
            st.plotly_chart(
                histogram_figure(detail.histograms[current]), key=f"drift_hist_{current}", width="stretch"
            )
    if detail.farthest:
        st.markdown("**Current items farthest from the training data**")
        st.caption("Look at these first: they are the least like what the model has seen (1× is usual).")
        _farthest(detail.farthest)
    _skipped(detail)


def _metric_rows(detail: CheckDetail) -> pd.DataFrame:
    order = {feature: index for index, feature in enumerate(detail.features())}
    points = sorted(detail.metrics, key=lambda p: (order.get(p.feature, len(order)), not p.drifted, p.metric))
    return pd.DataFrame(
        [
            {
                "feature": point.feature,
                "metric": metric_label(point.metric),
                "value": point.value,
                "p-value": point.p_value,
                "limit": point.threshold,
                "drifted": point.drifted,
            }
            for point in points
        ]
    )


def _farthest(items: list[FarItem]) -> None:
    pictures = [item for item in items if item.kind != "row"]
    rows = [item for item in items if item.kind == "row"]
    for start in range(0, len(pictures), THUMBS_PER_ROW):
        for column, item in zip(st.columns(THUMBS_PER_ROW), pictures[start : start + THUMBS_PER_ROW],
                                strict=False):  # fmt: skip
            caption = f"{item.name} · {item.score:.1f}×"
            if item.thumbnail_png:
                column.image(item.thumbnail_png, caption=caption, width="stretch")
            else:
                column.caption(caption)
    if rows:
        st.dataframe(
            pd.DataFrame([{"item": i.name, "distance": i.score, **(i.values or {})} for i in rows]),
            hide_index=True,
            column_config={"distance": st.column_config.NumberColumn(format="%.2f×")},
        )


def _skipped(detail: CheckDetail) -> None:
    if detail.skipped:
        with st.expander(f"Left out of this check ({len(detail.skipped)})", icon=":material/block:"):
            st.dataframe(pd.DataFrame(detail.skipped, columns=["file or column", "reason"]), hide_index=True)


def report_for(check_id: int) -> str:
    """The check's standalone HTML report, with the model's drift chart and schedule when it is watched."""
    detail = get_check(check_id)
    try:
        monitor: MonitorView | None = get_monitor(detail.summary.model_name)
    except CanvasCraftError:
        monitor = None
    return report_html(detail, check_series(detail.summary.model_name), monitor)


def download_report(check_id: int) -> None:
    st.download_button(
        "Download report", data=lambda: report_for(check_id), file_name=f"drift-check-{check_id}.html",
        mime="text/html", icon=":material/download:", key=f"drift_report_{check_id}",
        help="One HTML file with every chart inside: it opens offline and can be mailed.",
    )  # fmt: skip


def opened_check(state: DriftState, checks: list[CheckSummary]) -> CheckDetail | None:
    """The check the URL names (or the latest finished one); a dead link says so and falls back."""
    finished = [c for c in checks if c.state in ("done", "no_data", "failed")]
    if state.check is not None:
        try:
            return get_check(state.check)
        except CanvasCraftError as error:
            fallback = "; showing the latest check instead." if finished else "."
            st.warning(
                f"This link's check cannot be shown: {plain(error)}{fallback}", icon=":material/link_off:"
            )
    done = [c for c in finished if c.state == "done"] or finished
    return get_check(done[0].id) if done else None
