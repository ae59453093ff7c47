"""Plotly figures of drift checks, for the Drift page and the HTML report alike (no Streamlit here).

Readers are not assumed to know statistics: axes say what the numbers mean in words, every panel says
which side of its dashed line means drift, and hovering a point names the check and its verdict. The
figures carry only what they draw (binned shares, at most ``MAX_POINTS`` projected items per side), so
a report embedding several of them stays small.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from canvascraft.drift.metrics import METRICS
from canvascraft.drift.views import FeatureHistogram, Projection

REFERENCE_COLOUR = "#9e9e9e"
CURRENT_COLOUR = "#e4572e"
DRIFT_COLOUR = "#c62828"
FEATURE_COLOURS = (
    "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#7f7f7f",
    "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
)  # fmt: skip
MAX_POINTS = 1500
"""Projected items drawn per side: enough to see a shape, small enough for a report to stay light."""
P_VALUE_FLOOR = 1e-12
"""p-values are drawn on a log axis; smaller ones (all equally "certainly different") sit on this floor."""

METRIC_WORDS: dict[str, str] = {
    "psi": "Population stability (PSI)",
    "ks": "Kolmogorov–Smirnov test",
    "wasserstein": "Shift in standard deviations (Wasserstein)",
    "jensen_shannon": "Difference in shares (Jensen–Shannon)",
    "chi_square": "Category mix test (chi-square)",
    "mmd": "Embedding distance test (MMD)",
    "prediction_drift": "Change in predicted labels",
}
"""A metric's name for people; the code name stays in tables beside it."""

HEADLINE_ORDER = ("psi", "prediction_drift", "chi_square", "mmd", "wasserstein", "jensen_shannon", "ks")
"""The one metric a feature is charted by when no metric is chosen: the first it has in this order
(PSI for numbers, the label mix for predictions, chi-square for categories, MMD for embeddings)."""


def metric_label(name: str) -> str:
    return METRIC_WORDS.get(name, name.replace("_", " "))


def compares_p_value(metric: str) -> bool:
    """Whether ``metric`` is judged by its p-value (drift *below* the limit) rather than its value."""
    spec = METRICS.get(metric)
    return spec is not None and spec.compare == "p_value"


def direction_words(metric: str) -> str:
    """Which side of the limit means drift, in words."""
    if compares_p_value(metric):
        return "chance the data is unchanged: below the dashed line means drift"
    return "higher means more change: above the dashed line means drift"


# ------------------------------------------------------------------------------------------------- series


def headline_metrics(series: pd.DataFrame) -> dict[str, str]:
    """Each feature's charted metric (see :data:`HEADLINE_ORDER`)."""
    chosen: dict[str, str] = {}
    for feature, metrics in series.groupby("feature", sort=False)["metric"]:
        present = set(metrics)
        order = [m for m in HEADLINE_ORDER if m in present] + sorted(present - set(HEADLINE_ORDER))
        chosen[str(feature)] = order[0]
    return chosen


def _has_p_values(rows: pd.DataFrame, metric: str) -> bool:
    return compares_p_value(metric) and "p_value" in rows.columns and bool(rows["p_value"].notna().any())


def _panel_words(frame: pd.DataFrame, metric: str) -> str:
    """A p-value metric's limit is a p-value: without p-values only the red crosses can say drift."""
    if compares_p_value(metric) and not _has_p_values(frame[frame["metric"] == metric], metric):
        return "test statistic, higher means more change; red crosses mark drift"
    return direction_words(metric)


def _plotted(rows: pd.DataFrame, metric: str) -> pd.Series:
    """What the panel's y axis shows: the p-value for a p-value metric when the series carries it (its
    limit is a p-value), else the metric's value."""
    if _has_p_values(rows, metric):
        return rows["p_value"].astype(float).clip(lower=P_VALUE_FLOOR)
    return rows["value"].astype(float)


MIN_TIME_SPAN = pd.Timedelta(hours=1)
"""The narrowest time axis drawn: a first check (or a few a second apart) otherwise zooms plotly to
milliseconds (``20:08:29.316 / 20:08:29.3165``)."""


def _time_axis(times: pd.Series) -> dict[str, object]:
    """Date and minutes on the ticks, a few of them, over at least ``MIN_TIME_SPAN`` around the checks."""
    start, end = times.min(), times.max()
    if end - start < MIN_TIME_SPAN:
        middle = start + (end - start) / 2
        start, end = middle - MIN_TIME_SPAN / 2, middle + MIN_TIME_SPAN / 2
    return {"range": [start, end], "tickformat": "%Y-%m-%d<br>%H:%M", "hoverformat": "%Y-%m-%d %H:%M",
            "nticks": 6}  # fmt: skip


def _p_value_axis(values: pd.Series, limit: float) -> dict[str, object]:
    """A log axis labelled once per power of ten as plain numbers (``0.001``), from the smallest
    p-value drawn (or one decade under the limit) up to 1, at most six labels: plotly's own log
    ticks on a short range crowd the panel with ``2 5 2 5``."""
    smallest = min(float(values.min()), limit / 10)
    low = math.floor(math.log10(max(smallest, P_VALUE_FLOOR)))
    powers = list(range(low, 1))
    step = max(1, math.ceil(len(powers) / 6))
    shown = powers[::-1][::step][::-1]
    return {"type": "log", "tickvals": [10.0**p for p in shown], "ticktext": [f"{10.0**p:g}" for p in shown],
            "range": [low - 0.3, 0.3], "title_text": "p-value"}  # fmt: skip


def series_figure(series: pd.DataFrame, metric: str | None = None) -> go.Figure:
    """Drift scores per feature over time: one panel per metric, one line per feature, each panel's
    drift limit as a dashed line, drifted points marked with a red cross.

    ``series`` has the columns of ``services.drift.check_series`` (check_id, created_at, feature, metric,
    value, threshold, drifted; ``p_value`` is used when present). With ``metric`` only that metric is
    drawn; otherwise each feature is drawn by its headline metric, one panel per metric used.
    """
    figure = go.Figure()
    if series.empty:
        figure.add_annotation(text="No finished checks yet", showarrow=False, font={"size": 16})
        figure.update_xaxes(visible=False)
        figure.update_yaxes(visible=False)
        return figure.update_layout(height=220, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    frame = series.copy()
    frame["created_at"] = pd.to_datetime(frame["created_at"])
    check_drifted = frame.groupby("check_id")["drifted"].any()
    if metric is not None:
        frame = frame[frame["metric"] == metric]
        panels = [metric] if not frame.empty else []
    else:
        chosen = headline_metrics(frame)
        frame = frame[[chosen.get(f) == m for f, m in zip(frame["feature"], frame["metric"], strict=True)]]
        panels = [m for m in HEADLINE_ORDER if m in set(chosen.values())]
        panels += sorted(set(chosen.values()) - set(panels))
    if not panels:
        figure.add_annotation(text=f"No {metric_label(str(metric))} in these checks", showarrow=False)
        return figure.update_layout(height=220)
    features = list(dict.fromkeys(series["feature"]))
    colours = {name: FEATURE_COLOURS[i % len(FEATURE_COLOURS)] for i, name in enumerate(features)}
    figure = make_subplots(
        rows=len(panels),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.16 / max(len(panels), 1) + 0.04,
        subplot_titles=[f"<b>{metric_label(m)}</b>: {_panel_words(frame, m)}" for m in panels],
    )
    figure.update_annotations(font_size=13, xanchor="left", x=0)
    drift_legend = False
    for row, name in enumerate(panels, start=1):
        rows = frame[frame["metric"] == name].sort_values("created_at")
        rows = rows.assign(plotted=_plotted(rows, name))
        log_axis = _has_p_values(rows, name)
        statistic_only = compares_p_value(name) and not log_axis
        for feature, points in rows.groupby("feature", sort=False):
            verdicts = ["drift" if check_drifted.get(c, False) else "no drift" for c in points["check_id"]]
            flags = ["drifted" if d else "within the limit" for d in points["drifted"]]
            figure.add_trace(
                go.Scatter(
                    x=points["created_at"],
                    y=points["plotted"],
                    mode="lines+markers",
                    name=str(feature),
                    legendgroup=str(feature),
                    showlegend=str(feature) not in {t.name for t in figure.data},
                    line={"color": colours[str(feature)], "width": 2},
                    marker={"size": 7},
                    customdata=list(zip(points["check_id"], flags, verdicts, strict=True)),
                    hovertemplate=(
                        f"<b>{feature}</b><br>check #%{{customdata[0]}} · %{{x|%Y-%m-%d %H:%M}}<br>"
                        f"{metric_label(name)}: %{{y:.3g}} (%{{customdata[1]}})<br>"
                        "check verdict: %{customdata[2]}<extra></extra>"
                    ),
                ),
                row=row,
                col=1,
            )
        flagged = rows[rows["drifted"].astype(bool)]
        if not flagged.empty:
            figure.add_trace(
                go.Scatter(
                    x=flagged["created_at"],
                    y=flagged["plotted"],
                    mode="markers",
                    name="drifted",
                    legendgroup="drifted",
                    showlegend=not drift_legend,
                    marker={"symbol": "x", "size": 12, "color": DRIFT_COLOUR, "line": {"width": 1}},
                    hoverinfo="skip",
                ),
                row=row,
                col=1,
            )
            drift_legend = True
        if statistic_only:
            figure.update_yaxes(title_text="statistic", rangemode="tozero", row=row, col=1)
            continue
        limit = float(rows["threshold"].iloc[-1])
        figure.add_hline(
            y=limit,
            line={"dash": "dash", "color": DRIFT_COLOUR, "width": 1.5},
            annotation_text=f"drift limit {limit:g}",
            annotation_position="top right",  # the panel's title holds the top left
            annotation_font={"color": DRIFT_COLOUR, "size": 11},
            row=row,
            col=1,
        )
        if log_axis:
            figure.update_yaxes(**_p_value_axis(rows["plotted"], limit), row=row, col=1)
        else:
            figure.update_yaxes(title_text="score", rangemode="tozero", row=row, col=1)
    figure.update_xaxes(**_time_axis(frame["created_at"]))
    figure.update_xaxes(title_text="check time", row=len(panels), col=1)
    return figure.update_layout(
        height=120 + 260 * len(panels),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"title": {"text": "feature"}, "orientation": "v"},
        hovermode="closest",
    )


# --------------------------------------------------------------------------------------------- histogram


def _finite_edges(edges: Sequence[float]) -> list[float]:
    """Edges with an open end (±inf) replaced by one typical bin width past its neighbour."""
    values = [float(e) for e in edges]
    finite = [v for v in values if math.isfinite(v)]
    if len(finite) < 2:
        return [float(i) for i in range(len(values))]
    width = (finite[-1] - finite[0]) / max(len(finite) - 1, 1) or 1.0
    if not math.isfinite(values[0]):
        values[0] = finite[0] - width
    if not math.isfinite(values[-1]):
        values[-1] = finite[-1] + width
    return values


def histogram_figure(histogram: FeatureHistogram) -> go.Figure:
    """The reference (training data, grey) against the current data (colour) for one feature, as shares
    of each side so batches of any size compare: overlaid bars over the bins for numbers, grouped bars
    per category otherwise."""
    figure = go.Figure()
    sides = (("training data", histogram.reference, REFERENCE_COLOUR), ("current data", histogram.current,
             CURRENT_COLOUR))  # fmt: skip
    if histogram.kind == "numeric" and len(histogram.edges) == len(histogram.reference) + 1:
        edges = _finite_edges(histogram.edges)
        centres = [(a + b) / 2 for a, b in pairwise(edges)]
        widths = [b - a for a, b in pairwise(edges)]
        ranges = [f"{a:.3g} to {b:.3g}" for a, b in pairwise(edges)]
        for name, shares, colour in sides:
            figure.add_trace(
                go.Bar(
                    x=centres, y=shares, width=widths, name=name, marker_color=colour, opacity=0.6,
                    customdata=ranges,
                    hovertemplate=f"{name}<br>%{{customdata}}: %{{y:.1%}}<extra></extra>",
                )
            )  # fmt: skip
        figure.update_layout(barmode="overlay")
    else:
        labels = histogram.labels or [str(i) for i in range(len(histogram.reference))]
        for name, shares, colour in sides:
            figure.add_trace(
                go.Bar(
                    x=labels, y=shares, name=name, marker_color=colour,
                    hovertemplate=f"{name}<br>%{{x}}: %{{y:.1%}}<extra></extra>",
                )
            )  # fmt: skip
        figure.update_layout(barmode="group")
    figure.update_xaxes(title_text=histogram.feature.replace("_", " "))
    figure.update_yaxes(title_text="share of items", tickformat=".0%", rangemode="tozero")
    return figure.update_layout(
        height=320,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": 1.12, "x": 0},
        bargap=0.05,
    )


# -------------------------------------------------------------------------------------------- projection


def _thin(count: int, cap: int) -> list[int]:
    step = max(1, math.ceil(count / cap))
    return list(range(0, count, step))


def projection_figure(projection: Projection) -> go.Figure:
    """Embeddings of the training data (grey) and the current items (colour, hover names) in the same two
    axes: current points away from the grey cloud are unlike anything the model was trained on."""
    figure = go.Figure()
    reference = [projection.reference[i] for i in _thin(len(projection.reference), MAX_POINTS)]
    chosen = _thin(len(projection.current), MAX_POINTS)
    current = [projection.current[i] for i in chosen]
    names = [projection.current_names[i] if i < len(projection.current_names) else "" for i in chosen]
    figure.add_trace(
        go.Scatter(
            x=[round(p[0], 4) for p in reference], y=[round(p[1], 4) for p in reference], mode="markers",
            name="training data", marker={"color": REFERENCE_COLOUR, "size": 6, "opacity": 0.5},
            hoverinfo="skip",
        )
    )  # fmt: skip
    figure.add_trace(
        go.Scatter(
            x=[round(p[0], 4) for p in current], y=[round(p[1], 4) for p in current], mode="markers",
            name="current data", text=names, marker={"color": CURRENT_COLOUR, "size": 7, "opacity": 0.85},
            hovertemplate="%{text}<extra></extra>",
        )
    )  # fmt: skip
    figure.update_xaxes(title_text="first direction of variation in the training data", zeroline=False)
    figure.update_yaxes(title_text="second direction", zeroline=False)
    return figure.update_layout(
        height=420,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": 1.08, "x": 0},
    )
