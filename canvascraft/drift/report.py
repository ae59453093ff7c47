"""One drift check as a single standalone HTML file: opens offline, mailable, nothing to install.

Plotly's JavaScript is embedded once (with the first figure), pictures are inline ``data:`` URIs, and
the style sheet is in the page, so the file fetches nothing. Every text that came from users or data
(model and feature names, file names, reasons, row values) is escaped.
"""

from __future__ import annotations

import base64
import math
from datetime import datetime
from html import escape

import pandas as pd
import plotly.graph_objects as go

from canvascraft.drift.charts import (
    compares_p_value,
    histogram_figure,
    metric_label,
    projection_figure,
    series_figure,
)
from canvascraft.drift.views import CheckDetail, FarItem, MonitorView

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
       max-width: 1100px; padding: 0 1rem; color: #1f2933; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #d9dee3; }
.facts { color: #52606d; margin: 0; }
.verdict { font-size: 1.6rem; font-weight: 700; padding: 0.8rem 1.2rem; border-radius: 8px;
           margin: 1.2rem 0 0.6rem; }
.drift { background: #fdecea; color: #b71c1c; } .calm { background: #e8f5e9; color: #1b5e20; }
.other { background: #eceff1; color: #37474f; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.92rem; }
th, td { border: 1px solid #d9dee3; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f5f7fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.flag td { background: #fff4f2; }
.gallery { display: flex; flex-wrap: wrap; gap: 0.8rem; }
.gallery figure { margin: 0; width: 140px; font-size: 0.85rem; }
.gallery img { width: 140px; height: 140px; object-fit: contain; background: #f5f7fa; border-radius: 4px; }
.note { color: #52606d; font-size: 0.9rem; }
.caveat { background: #fef3c7; padding: 0.5rem 0.8rem; border-radius: 6px; }
"""


def as_sentence(text: str) -> str:
    """A stored drift sentence as it is shown: capital first letter, full stop."""
    text = text.strip()
    return f"{text[:1].upper()}{text[1:]}" + ("" if text.endswith((".", "!", "?")) else ".")


def _number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.4g}"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment is not None else "–"


def _figure_html(figure: go.Figure, first: bool) -> str:
    """A figure's div; plotly.js goes inline with the first one only (never a CDN link)."""
    return figure.to_html(
        full_html=False,
        include_plotlyjs=first,
        include_mathjax=False,
        config={"displaylogo": False, "responsive": True},
    )


def _facts(detail: CheckDetail, monitor: MonitorView | None) -> str:
    summary = detail.summary
    version = f"version {summary.model_version}" if summary.model_version is not None else "version unknown"
    rows = [
        ("Model", f"{summary.model_ref} ({version})"),
        ("Training run", summary.run_id or "–"),
        ("Current data", summary.current),
        ("Checked", f"{_when(summary.created_at)} (finished {_when(summary.finished_at)})"),
        ("Started by", summary.trigger),
        ("Items compared", f"{summary.n_current or 0} current, {summary.n_reference or 0} from training"),
    ]
    if monitor is not None:
        rows.append(("Schedule", monitor.schedule_label))
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _verdict(detail: CheckDetail) -> str:
    summary = detail.summary
    if summary.state != "done":
        words, css = f"No verdict: {summary.verdict}", "other"
    elif summary.drifted:
        words, css = "Drift found", "drift"
    else:
        words, css = "No drift", "calm"
    parts = [f'<div class="verdict {css}">{escape(words)}</div>']
    if summary.caveat:
        parts.append(f'<p class="caveat">{escape(summary.caveat)}</p>')
    if summary.sentences:
        items = "".join(f"<li>{escape(as_sentence(sentence))}</li>" for sentence in summary.sentences)
        parts.append(f"<p>What changed, in plain words:</p><ul>{items}</ul>")
    elif summary.state == "done" and not summary.drifted:
        parts.append("<p>The current data looks like the data the model was trained on.</p>")
    if summary.error:
        parts.append(f'<p class="note">{escape(summary.error)}</p>')
    return "".join(parts)


def _metrics_table(detail: CheckDetail) -> str:
    order = {feature: index for index, feature in enumerate(detail.features())}
    points = sorted(detail.metrics, key=lambda p: (order.get(p.feature, len(order)), p.metric))
    rows = []
    for point in points:
        judged = "p-value below" if compares_p_value(point.metric) else "value at or above"
        rows.append(
            f'<tr class="{"flag" if point.drifted else ""}"><td>{escape(point.feature)}</td>'
            f"<td>{escape(metric_label(point.metric))} <code>{escape(point.metric)}</code></td>"
            f'<td class="num">{_number(point.value)}</td><td class="num">{_number(point.p_value)}</td>'
            f'<td class="num">{_number(point.threshold)}</td><td>{escape(judged)}</td>'
            f"<td>{'drifted' if point.drifted else 'ok'}</td></tr>"
        )
    head = (
        "<tr><th>feature</th><th>metric</th><th>value</th><th>p-value</th><th>limit</th>"
        "<th>drift when</th><th>verdict</th></tr>"
    )
    if not rows:
        return '<p class="note">No metrics were computed.</p>'
    return f"<table>{head}{''.join(rows)}</table>"


def _thumbnail(item: FarItem) -> str:
    encoded = base64.b64encode(item.thumbnail_png or b"").decode("ascii")
    picture = (
        f'<img alt="{escape(item.name)}" src="data:image/png;base64,{encoded}">' if item.thumbnail_png else ""
    )
    return (
        f"<figure>{picture}<figcaption>{escape(item.name)}<br>"
        f"distance {_number(item.score)}</figcaption></figure>"
    )


def _farthest(items: list[FarItem]) -> str:
    pictures = [item for item in items if item.kind != "row"]
    rows = [item for item in items if item.kind == "row"]
    parts = []
    if pictures:
        parts.append(f'<div class="gallery">{"".join(_thumbnail(item) for item in pictures)}</div>')
    if rows:
        columns = list(dict.fromkeys(key for item in rows for key in (item.values or {})))
        head = "".join(f"<th>{escape(str(c))}</th>" for c in ["item", "distance", *columns])
        body = "".join(
            f"<tr><td>{escape(item.name)}</td><td class='num'>{_number(item.score)}</td>"
            + "".join(f"<td>{escape(str((item.values or {}).get(c, '')))}</td>" for c in columns)
            + "</tr>"
            for item in rows
        )
        parts.append(f"<table>{head}{body}</table>")
    return "".join(parts)


def report_html(
    detail: CheckDetail, series: pd.DataFrame | None = None, monitor: MonitorView | None = None
) -> str:
    """The whole check as one HTML document (see the module docstring for what makes it standalone)."""
    summary = detail.summary
    title = f"Drift check #{summary.id}: {summary.model_name}"
    sections: list[str] = []
    drawn: list[go.Figure] = []

    def chart(heading: str, figure: go.Figure, note: str = "") -> None:
        sections.append(f"<h3>{escape(heading)}</h3>{note}{_figure_html(figure, first=not drawn)}")
        drawn.append(figure)

    sections.append(f"<h2>Verdict</h2>{_verdict(detail)}")
    sections.append(f"<h2>Metrics per feature</h2>{_metrics_table(detail)}")
    if series is not None and not series.empty:
        sections.append("<h2>Drift over time</h2>")
        chart("Drift scores of every check of this model", series_figure(series))
    drifted = {p.feature for p in detail.metrics if p.drifted}
    shown = [name for name in detail.features() if name in detail.histograms]
    shown += [name for name in detail.histograms if name not in shown]
    if shown:
        sections.append(
            "<h2>Training data against current data</h2>"
            '<p class="note">Grey: the data the model was trained on; colour: the data checked. '
            "Each side's bars add up to 100 %.</p>"
        )
        for name in shown:
            label = f"{name} (drifted)" if name in drifted else name
            chart(label, histogram_figure(detail.histograms[name]))
    if detail.projection is not None:
        sections.append("<h2>Embeddings</h2>")
        chart(
            "Where the current items sit among the training items",
            projection_figure(detail.projection),
            '<p class="note">Points away from the grey cloud are unlike anything the model was '
            "trained on.</p>",
        )
    if detail.farthest:
        sections.append(
            "<h2>Current items farthest from the training data</h2>"
            '<p class="note">Look at these first: they are the least like what the model has seen.</p>'
            + _farthest(detail.farthest)
        )
    if detail.skipped:
        rows = "".join(
            f"<tr><td>{escape(name)}</td><td>{escape(reason)}</td></tr>" for name, reason in detail.skipped
        )
        sections.append(
            "<h2>Left out of this check</h2>"
            f"<table><tr><th>file or column</th><th>reason</th></tr>{rows}</table>"
        )
    body = "".join(sections)
    generated = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f'<p class="facts">CanvasCraft ML Studio drift report, written {escape(generated)}.</p>'
        f"{_facts(detail, monitor)}{body}</body></html>\n"
    )
