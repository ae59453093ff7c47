"""Drift charts and the standalone HTML report, on hand-built check records (no model, no database)."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from canvascraft.drift.charts import histogram_figure, projection_figure, series_figure
from canvascraft.drift.report import report_html
from canvascraft.drift.views import (
    FEW_ITEMS,
    CheckDetail,
    CheckSummary,
    FarItem,
    FeatureHistogram,
    MetricPoint,
    MonitorView,
    Projection,
)

START = datetime(2026, 11, 20, 9, 0)
SENTENCE = "new photos are darker than the training photos"


def png(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (shade, shade, shade)).save(buffer, format="PNG")
    return buffer.getvalue()


def summary(check_id: int = 7, drifted: bool = True, **changes: object) -> CheckSummary:
    fields: dict[str, object] = {
        "id": check_id, "model_name": "paints <b>", "model_ref": "paints <b>@champion", "model_version": 3,
        "run_id": "a" * 32, "current": "new files in /ws/watch/paints", "trigger": "schedule",
        "state": "done", "created_at": START, "finished_at": START + timedelta(seconds=4),
        "drifted": drifted, "n_reference": 120, "n_current": 12,
        "sentences": [SENTENCE, "column <script>x</script> has higher values than in training"] if drifted
        else [], "error": None, "job_id": None,
    }  # fmt: skip
    fields.update(changes)
    return CheckSummary(**fields)  # type: ignore[arg-type]


def detail(drifted: bool = True) -> CheckDetail:
    metrics = [
        MetricPoint("brightness", "psi", 1.8, 0.2, None, drifted),
        MetricPoint("brightness", "ks", 0.9, 0.05, 1e-9, drifted),
        MetricPoint("contrast", "psi", 0.03, 0.2, None, False),
        MetricPoint("medium", "chi_square", 3.1, 0.05, 0.4, False),
        MetricPoint("embedding", "mmd", 0.3, 0.05, 0.001, drifted),
        MetricPoint("prediction", "prediction_drift", 0.05, 0.1, 0.5, False),
    ]
    histograms = {
        "brightness": FeatureHistogram(
            "brightness", "numeric", [0.1, 0.4, 0.5], [0.9, 0.1, 0.0], edges=[float("-inf"), 0.3, 0.6, 1.0]
        ),
        "medium": FeatureHistogram(
            "medium", "categorical", [0.5, 0.5], [0.7, 0.3], labels=["oil", "acrylic"]
        ),
    }
    projection = Projection([(0.0, 0.1), (0.2, -0.1)], [(3.0, 2.0)], ["dark-00.png"])
    farthest = [
        FarItem("dark-00.png", 4.2, "image", thumbnail_png=png(20)),
        FarItem("row 3", 2.5, "row", values={"hue": 200.5, "medium": "<oil>"}),
    ]
    skipped = [("broken.png", "not an image: <cannot identify>")]
    return CheckDetail(summary(drifted=drifted), metrics, skipped, histograms, projection, farthest)


def series(checks: int = 3) -> pd.DataFrame:
    rows = []
    for index in range(checks):
        at, late = START + timedelta(minutes=index), index == checks - 1
        rows += [
            (index + 1, at, "brightness", "psi", 0.05 + index * 0.9, 0.2, late),
            (index + 1, at, "brightness", "ks", 0.1, 0.05, False),
            (index + 1, at, "contrast", "psi", 0.02, 0.2, False),
            (index + 1, at, "prediction", "prediction_drift", 0.01, 0.1, False),
        ]
    return pd.DataFrame(rows, columns=["check_id", "created_at", "feature", "metric", "value", "threshold",
                                       "drifted"])  # fmt: skip


def monitor() -> MonitorView:
    return MonitorView(
        id=1, model_name="paints <b>", alias="champion", source_kind="folder", source="",
        folder=Path("/ws/watch/paints"), every_s=60, cron=None, paused=False, thresholds={"psi": 0.2},
        custom_thresholds={}, next_run=None,
    )  # fmt: skip


# -------------------------------------------------------------------------------------------------- charts


def test_series_draws_one_line_per_feature_by_its_headline_metric() -> None:
    figure = series_figure(series())
    lines = [t for t in figure.data if t.mode == "lines+markers"]
    assert sorted(t.name for t in lines) == ["brightness", "contrast", "prediction"]
    psi = next(t for t in lines if t.name == "brightness")
    assert list(psi.y) == pytest.approx([0.05, 0.95, 1.85])  # PSI, not the KS statistic beside it
    assert [c[0] for c in psi.customdata] == [1, 2, 3] and psi.customdata[-1][2] == "drift"
    crosses = [t for t in figure.data if t.name == "drifted"]
    assert len(crosses) == 1 and list(crosses[0].y) == pytest.approx([1.85])
    limits = [s for s in figure.layout.shapes if s.line.dash == "dash"]
    assert sorted(s.y0 for s in limits) == [0.1, 0.2]  # one limit per panel: PSI and the label mix
    titles = " ".join(a.text for a in figure.layout.annotations)
    assert "Population stability" in titles and "above the dashed line means drift" in titles
    assert "drift limit 0.2" in titles


def test_series_of_one_metric_and_empty_series() -> None:
    figure = series_figure(series(), metric="ks")
    assert [t.name for t in figure.data if t.mode == "lines+markers"] == ["brightness"]
    # Without p-values a test's statistic cannot be held against its p-value limit: crosses only.
    assert "red crosses mark drift" in figure.layout.annotations[0].text and not figure.layout.shapes
    empty = series_figure(series().iloc[0:0])
    assert empty.layout.annotations[0].text == "No finished checks yet"


def test_p_value_metrics_are_drawn_as_p_values_when_the_series_has_them() -> None:
    frame = series()[lambda f: f["metric"] == "ks"].assign(p_value=[0.5, 1e-30, 0.01])
    figure = series_figure(frame)
    assert list(figure.data[0].y) == [0.5, 1e-12, 0.01] and figure.layout.yaxis.type == "log"
    assert "below the dashed line means drift" in figure.layout.annotations[0].text
    assert [s.y0 for s in figure.layout.shapes] == [0.05]


def test_a_first_check_gets_a_readable_time_axis_and_mmd_panel() -> None:
    """One check zoomed the time axis to milliseconds (``20:08:29.316 / 20:08:29.3165``); the MMD
    panel's log ticks and its limit's label crowded each other."""
    frame = pd.DataFrame(
        [(1, START, "embedding", "mmd", 0.3, 0.05, True, 0.001)],
        columns=["check_id", "created_at", "feature", "metric", "value", "threshold", "drifted", "p_value"],
    )
    figure = series_figure(frame)
    axis = figure.layout.xaxis
    assert axis.tickformat == "%Y-%m-%d<br>%H:%M" and axis.nticks == 6
    low, high = (pd.Timestamp(v) for v in axis.range)
    assert high - low >= pd.Timedelta(hours=1) and low <= pd.Timestamp(START) <= high
    p_axis = figure.layout.yaxis
    assert p_axis.type == "log" and list(p_axis.ticktext) == ["0.001", "0.01", "0.1", "1"]
    assert len(p_axis.tickvals) <= 6
    limit = next(a for a in figure.layout.annotations if a.text.startswith("drift limit"))
    title = next(a for a in figure.layout.annotations if "MMD" in a.text)
    assert title.xanchor == "left" and limit.xanchor != "left"  # not on top of each other
    # Many decades (a p-value on the floor) still give at most six labels.
    tiny = series_figure(frame.assign(p_value=1e-30))
    assert len(tiny.layout.yaxis.tickvals) <= 6 and tiny.layout.yaxis.ticktext[-1] == "1"


def test_histograms_overlay_numbers_and_group_categories() -> None:
    histograms = detail().histograms
    numeric = histogram_figure(histograms["brightness"])
    assert numeric.layout.barmode == "overlay"
    assert [t.name for t in numeric.data] == ["training data", "current data"]
    assert list(numeric.data[1].y) == [0.9, 0.1, 0.0] and len(numeric.data[0].x) == 3
    assert all(width > 0 for width in numeric.data[0].width)  # the open first bin got a finite width
    categorical = histogram_figure(histograms["medium"])
    assert categorical.layout.barmode == "group" and list(categorical.data[0].x) == ["oil", "acrylic"]


def test_projection_keeps_names_and_stays_light() -> None:
    many = Projection([(float(i), 0.0) for i in range(10_000)], [(1.0, 1.0)] * 5000,
                      [f"item-{i}" for i in range(5000)])  # fmt: skip
    figure = projection_figure(many)
    assert len(figure.data[0].x) <= 1500 and len(figure.data[1].x) <= 1500
    assert figure.data[1].text[0] == "item-0" and figure.data[0].marker.color == "#9e9e9e"


# -------------------------------------------------------------------------------------------------- report


class Structure(HTMLParser):
    """Open/close tags in order; void elements never close."""

    VOID = frozenset({"meta", "br", "img", "link", "input", "hr", "col", "wbr", "source"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.sources: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("script", "link", "iframe") and (found.get("src") or found.get("href")):
            self.sources.append(found.get("src") or found.get("href") or "")
        if tag == "img":
            self.images.append(found.get("src") or "")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()


def test_report_is_one_well_formed_offline_file() -> None:
    html = report_html(detail(), series(), monitor())
    parser = Structure()
    parser.feed(html)
    parser.close()
    assert parser.errors == [] and parser.stack == []
    assert parser.sources == []  # no script or style sheet fetched from anywhere: it opens offline
    assert not re.search(r"<(script|link)\b[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//", html)
    # plotly.js itself, inline, exactly once; then the series, two histograms and the projection.
    assert html.count("plotly.js v") == 1 and html.count("Plotly.newPlot(") == 4


def test_report_tells_the_story_and_escapes_every_user_text() -> None:
    html = report_html(detail(), series(), monitor())
    assert "Drift check #7: paints &lt;b&gt;" in html and "<b>@champion" not in html
    assert "Drift found" in html and "New photos are darker than the training photos." in html
    assert "Column &lt;script&gt;x&lt;/script&gt; has higher values" in html and "<script>x" not in html
    for feature in ("brightness", "contrast", "medium", "embedding", "prediction"):
        assert f"<td>{feature}</td>" in html
    assert "broken.png" in html and "not an image: &lt;cannot identify&gt;" in html
    assert "&lt;oil&gt;" in html and "dark-00.png" in html and "every 1 min" in html
    assert html.index("<td>brightness</td>") < html.index("<td>contrast</td>")  # drifted first
    parser = Structure()
    parser.feed(html)
    assert parser.images and parser.images[0].startswith("data:image/png;base64,")


def test_a_check_on_few_items_carries_a_caveat_beside_its_verdict() -> None:
    """A check on a handful of items reported drift as firmly as one on hundreds."""
    few = detail()  # 12 current items
    assert few.summary.caveat is not None and "Only 12 item(s)" in few.summary.caveat
    html = report_html(few)
    assert '<p class="caveat">Only 12 item(s) were checked' in html
    assert html.index("Drift found") < html.index('class="caveat"') < html.index("What changed")
    enough = replace(few, summary=replace(few.summary, n_current=FEW_ITEMS))
    assert enough.summary.caveat is None and 'class="caveat"' not in report_html(enough)
    failed = replace(few, summary=replace(few.summary, state="failed", error="boom"))
    assert failed.summary.caveat is None  # no verdict, nothing to hedge


def test_a_calm_check_without_series_is_still_a_report() -> None:
    html = report_html(detail(drifted=False))
    assert "No drift" in html and "looks like the data the model was trained on" in html
    assert "Drift over time" not in html and html.count("Plotly.newPlot") == 3
