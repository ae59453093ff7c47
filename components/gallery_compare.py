"""The comparison view: curves overlaid, parameters with the differences marked, and the recipe diff."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from canvascraft.errors import CanvasCraftError
from canvascraft.services.gallery import (
    DEFAULT_METRIC,
    Comparison,
    RecipeChange,
    compare_runs,
    curves_figure,
    epoch_samples,
    shown_value,
)
from canvascraft.services.jobs import named_version
from canvascraft.share.links import GalleryState
from components.gallery_runs import SUMMARY_METRICS, runs_grid
from components.text import plain
from components.view_nav import follow

DIFFERS = "background-color: #fef3c7"
ROW_PX = 35


def compare_view(state: GalleryState, shared: bool = False) -> None:
    """The runs a link names side by side; a run that is gone is named and the grid shown instead
    (``shared``: read only, as a share link opens it, with no way to the other runs)."""
    try:
        comparison = compare_runs(list(state.runs))
    except CanvasCraftError as error:
        if shared:
            st.error(f"This comparison cannot be shown: {plain(error)}.", icon=":material/error:")
            return
        st.error(
            f"This comparison cannot be shown: {plain(error)}. Here are all runs.", icon=":material/error:"
        )
        runs_grid(GalleryState())
        return
    if not shared:
        st.button("← All runs", on_click=follow, args=(GalleryState(),), type="tertiary")
    names = {card.run_id: card.name for card in comparison.runs}
    st.subheader(f"Comparing {len(comparison.runs)} runs")
    st.markdown(
        "  \n".join(
            f"**{card.name}** · {card.dataset} · {card.trainer} · "
            f"recipe {named_version(card.recipe, card.recipe_version)}"
            + (f" · {card.baseline_line}" if card.baseline_line else "")
            for card in comparison.runs
        )
    )
    _curves(comparison)
    _samples(comparison)
    left, right = st.columns(2, gap="large")
    with left:
        _params(comparison, names)
    with right:
        _recipe_differences(comparison, names)


def _curves(comparison: Comparison) -> None:
    metrics = sorted(m for m in comparison.curves if m not in SUMMARY_METRICS and not m.startswith("best_"))
    if not metrics:
        st.caption("The runs logged no per-epoch metrics.")
        return
    default = DEFAULT_METRIC if DEFAULT_METRIC in metrics else metrics[0]
    metric = st.segmented_control(
        "metric", metrics, default=default, key="gallery_compare_metric", label_visibility="collapsed"
    )
    figure = curves_figure(comparison, metric or default)
    figure.update_traces(mode="lines+markers")  # a one-epoch run is a single point: a line alone hides it
    st.plotly_chart(figure, key="gallery_compare_curves")


def _samples(comparison: Comparison) -> None:
    """Generative runs' last samples side by side: every run draws them from the same seeds."""
    shown = [(card, epoch_samples(card.run_id)) for card in comparison.runs]
    shown = [(card, samples[-1]) for card, samples in shown if samples]
    if not shown:
        return
    st.markdown("**Samples** · each run's last epoch, from the same seeds (one row per label)")
    for column, (card, (epoch, picture)) in zip(st.columns(len(shown)), shown, strict=True):
        column.image(picture, caption=f"{plain(card.name)} · epoch {epoch}", width="stretch")


def _params(comparison: Comparison, names: dict[str, str]) -> None:
    st.markdown(f"**Parameters** · {len(comparison.differing_params)} differ (highlighted)")
    only = st.toggle("only the ones that differ", key="gallery_compare_only")
    rows = comparison.differing_params if only else comparison.params
    if not rows:
        st.caption("Every parameter is the same.")
        return
    frame = pd.DataFrame(
        [{"parameter": row.key, **{names[r]: row.shown.get(r, "—") for r in names}} for row in rows]
    )
    differing = {row.key for row in comparison.differing_params}
    styled = frame.style.apply(
        lambda line: [DIFFERS if line["parameter"] in differing else "" for _ in line], axis=1
    )
    # Tall enough for every row: the differences are the point, they must not hide behind a scrollbar.
    st.dataframe(styled, hide_index=True, height=min(ROW_PX * (len(frame) + 1) + 3, 1200))


def _recipe_differences(comparison: Comparison, names: dict[str, str]) -> None:
    """Settings that differ as one table; whole steps only some recipes have as one line per run group,
    so two unrelated recipes read as two short lists rather than a line per step."""
    st.markdown("**Recipe differences**")
    changes = comparison.recipe_diff
    if not changes:
        st.caption("The runs used the same recipe settings.")
        return
    settings = [c for c in changes if c.kind in ("recipe", "param", "enabled")]
    if settings:
        st.dataframe(
            pd.DataFrame(
                [{"setting": _setting(c), **{name: _shown(c.values.get(r)) for r, name in names.items()}}
                 for c in settings]
            ),
            hide_index=True,
        )  # fmt: skip
    first = comparison.runs[0].name
    missing: dict[tuple[str, ...], list[str]] = {}
    only: dict[str, list[str]] = {}
    for change in changes:
        if change.kind == "removed":
            lacking = tuple(names.get(r, r[:8]) for r in change.values)
            missing.setdefault(lacking, []).append(_step(change))
        elif change.kind == "added":
            for run in change.values:
                only.setdefault(names.get(run, run[:8]), []).append(_step(change))
        elif change.kind == "unavailable":
            runs = ", ".join(names.get(r, r[:8]) for r in change.values)
            st.warning(f"No readable recipe was saved with {runs}.", icon=":material/warning:")
    for lacking, steps in missing.items():
        st.markdown(f"Only in **{first}** (not in {', '.join(lacking)}): {', '.join(steps)}")
    for run, steps in only.items():
        st.markdown(f"Only in **{run}**: {', '.join(steps)}")


def _setting(change: RecipeChange) -> str:
    if change.kind == "recipe":
        return f"recipe {change.param}"
    return f"{_step(change)} · {change.param}"


def _step(change: RecipeChange) -> str:
    """Steps counted from 1, as the recipe editor numbers them."""
    return f"{(change.step or 0) + 1}. {change.brush}"


def _shown(value: Any) -> str:
    return shown_value(value)
