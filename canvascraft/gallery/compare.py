"""Two or more runs side by side: metric curves overlaid, parameters with the differences flagged, and
what changed between their recipes (brushes added or removed, parameters that differ).

The runs come from one ``search_runs`` call and every metric history of every run from one query (see
``canvascraft.gallery.runs.metric_rows``), so ten runs of 1,000 steps compare in well under a second.
Recipes are each run's ``recipe.yaml`` artifact, read with YAML's safe loader as plain data: the job
wrote it with ``to_yaml`` from a validated recipe, so it is already canonical (every parameter
present); validating it again would import every brush (torch) and refuse a recipe whose brush has
since been removed from the studio.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import plotly.graph_objects as go
import yaml
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from canvascraft.errors import CanvasCraftError, GalleryError, RunNotFoundError
from canvascraft.gallery.detail import History, artifact_file
from canvascraft.gallery.runs import (
    DEFAULT_METRIC,
    RunCard,
    best_of,
    card_of,
    check_run_id,
    experiment_id,
    metric_rows,
)
from canvascraft.tracking.runs import tracking_client
from canvascraft.training.objectives import BASELINE

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

MAX_RUNS = 50
MAX_RECIPE_CHARS = 256_000
RECIPE_ARTIFACT = "recipe.yaml"
# The parameters people look at first, in this order; the rest follow alphabetically.
PARAM_ORDER = ("trainer", "dataset", "dataset_version", "recipe", "recipe_version", "val_fraction",
               "split_seed", "max_items", "classes")  # fmt: skip

ChangeKind = Literal["recipe", "param", "enabled", "added", "removed", "unavailable"]


SIGNIFICANT = 4
"""Digits a parameter's number is shown with: a tuned ``lr`` of 0.27244159149844 reads 0.2724."""


DECIMAL = re.compile(r"^[-+]?(\d*\.\d+|\d+\.\d*)([eE][-+]?\d+)?$|^[-+]?\d+[eE][-+]?\d+$")
"""A number written with a point or an exponent: how MLflow logs a float parameter as text."""


def shown_value(value: Any) -> str:
    """A parameter or recipe setting as a table shows it: a fractional number to ``SIGNIFICANT``
    significant digits (a float logged as text too), everything else as given, a dash when missing."""
    if value is None:
        return "—"
    if isinstance(value, float):
        number = value
    elif isinstance(value, str) and DECIMAL.match(value.strip()):
        number = float(value)
    else:
        return str(value)
    return f"{number:.{SIGNIFICANT}g}" if math.isfinite(number) else str(value)


@dataclass(frozen=True)
class ParamRow:
    """One parameter across the runs (None where a run lacks it); ``differs`` when not all equal."""

    key: str
    values: dict[str, str | None]
    differs: bool

    @property
    def shown(self) -> dict[str, str]:
        """The values as the table shows them (``shown_value``); ``differs`` compares the raw ones."""
        return {run_id: shown_value(value) for run_id, value in self.values.items()}


@dataclass(frozen=True)
class RecipeChange:
    """One difference between the runs' recipes, relative to the first run's recipe.

    ``kind``: ``recipe`` (name, modality, seed), ``param`` / ``enabled`` (a brush both have, set
    differently: ``values`` per run, None where the run lacks the step), ``removed`` (a step of the
    first run's recipe missing in the runs in ``values``), ``added`` (a step only the runs in
    ``values`` have; ``step`` is its place in their recipe), ``unavailable`` (no readable recipe.yaml).
    """

    kind: ChangeKind
    step: int | None
    brush: str | None
    param: str | None
    values: dict[str, Any]

    def describe(self, names: dict[str, str] | None = None) -> str:
        """One line for the CLI: ``step 1 gaussian_blur.sigma: a=1.0, b=2.0``."""
        names = names or {}
        shown = ", ".join(f"{names.get(run, run[:8])}={value!r}" for run, value in self.values.items())
        # Counted from 1, as the recipe editor numbers its cards.
        where = f"step {self.step + 1} {self.brush}" if self.step is not None else "recipe"
        if self.kind in ("param", "enabled"):
            return f"{where}.{self.param}: {shown}"
        if self.kind == "recipe":
            return f"recipe {self.param}: {shown}"
        if self.kind == "unavailable":
            return f"no readable recipe.yaml: {', '.join(names.get(r, r[:8]) for r in self.values)}"
        return f"{where} {self.kind} in {', '.join(names.get(r, r[:8]) for r in self.values)}"


@dataclass(frozen=True)
class Comparison:
    """The compared runs in the order asked; ``curves[metric][run_id]`` is that run's history."""

    runs: list[RunCard]
    curves: dict[str, dict[str, History]]
    params: list[ParamRow]
    recipe_diff: list[RecipeChange]

    @property
    def differing_params(self) -> list[ParamRow]:
        return [row for row in self.params if row.differs]


def compare_runs(run_ids: list[str]) -> Comparison:
    """Compare 2–50 distinct runs of the studio's experiment; unknown ids are named in the error."""
    ids = list(dict.fromkeys(check_run_id(run_id) for run_id in run_ids))
    if len(ids) < 2:
        raise GalleryError(f"pick 2 or more different runs to compare (got {len(ids)})")
    if len(ids) > MAX_RUNS:
        raise GalleryError(f"compare at most {MAX_RUNS} runs at once (got {len(ids)})")
    client = tracking_client()
    experiment = experiment_id(client)
    found: dict[str, Run] = {}
    if experiment is not None:
        quoted = ", ".join(f"'{run_id}'" for run_id in ids)
        try:
            runs = client.search_runs(
                [experiment], filter_string=f"attributes.run_id IN ({quoted})",
                run_view_type=ViewType.ACTIVE_ONLY, max_results=len(ids),
            )  # fmt: skip
        except MlflowException as error:
            raise GalleryError(f"the runs cannot be read: {error.message}") from None
        found = {run.info.run_id: run for run in runs}
    missing = [run_id for run_id in ids if run_id not in found]
    if missing:
        raise RunNotFoundError(f"run {', '.join(missing)} does not exist (deleted?)")
    rows = metric_rows(ids, None, client)
    curves: dict[str, dict[str, History]] = {}
    for (run_id, key), history in sorted(rows.items()):
        if not key.startswith(("best_", f"{BASELINE}_")):  # one summary value per run, not a curve
            curves.setdefault(key, {})[run_id] = history
    for key in curves:
        curves[key] = {run_id: curves[key][run_id] for run_id in ids if run_id in curves[key]}
    cards = []
    for run_id in ids:
        history = rows.get((run_id, DEFAULT_METRIC), [])
        cards.append(card_of(found[run_id], best_of(DEFAULT_METRIC, history)))
    recipes = {run_id: _recipe(found[run_id], client) for run_id in ids}
    params = param_rows({run_id: dict(found[run_id].data.params) for run_id in ids})
    return Comparison(cards, curves, params, recipe_diff(recipes))


def param_rows(params: dict[str, dict[str, str]]) -> list[ParamRow]:
    """The union of the runs' parameters, known ones first, each flagged when the runs disagree."""
    keys = {key for values in params.values() for key in values}
    ordered = [k for k in PARAM_ORDER if k in keys] + sorted(keys.difference(PARAM_ORDER))
    rows = []
    for key in ordered:
        values = {run_id: run_params.get(key) for run_id, run_params in params.items()}
        rows.append(ParamRow(key, values, len(set(values.values())) > 1))
    return rows


def _recipe(run: Run, client: MlflowClient) -> dict[str, Any] | None:
    path = artifact_file(run, RECIPE_ARTIFACT, client)
    if path is None or path.stat().st_size > MAX_RECIPE_CHARS:
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("brushes") or [], list) else None


def _steps(recipe: dict[str, Any]) -> list[dict[str, Any]]:
    steps = []
    for step in recipe.get("brushes") or []:
        if isinstance(step, dict):
            steps.append({"brush": str(step.get("brush")), "enabled": step.get("enabled", True),
                          "params": dict(step.get("params") or {})})  # fmt: skip
    return steps


def recipe_diff(recipes: dict[str, dict[str, Any] | None]) -> list[RecipeChange]:
    """What differs between the recipes, each run's steps aligned to the first readable recipe's by
    brush name (so one inserted brush shows as one addition, not as every later step changed)."""
    changes: list[RecipeChange] = []
    unreadable = {run_id: None for run_id, recipe in recipes.items() if recipe is None}
    if unreadable:
        changes.append(RecipeChange("unavailable", None, None, None, unreadable))
    readable = {run_id: recipe for run_id, recipe in recipes.items() if recipe is not None}
    if len(readable) < 2:
        return changes
    for field in ("name", "modality", "seed"):
        values = {run_id: recipe.get(field) for run_id, recipe in readable.items()}
        if len({repr(v) for v in values.values()}) > 1:
            changes.append(RecipeChange("recipe", None, None, field, values))
    steps = {run_id: _steps(recipe) for run_id, recipe in readable.items()}
    first, *others = steps
    reference = steps[first]
    # matched[run][i]: the run's step aligned with the reference's step i, or None.
    matched: dict[str, list[dict[str, Any] | None]] = {first: list(reference)}
    added: list[RecipeChange] = []
    for run_id in others:
        theirs = steps[run_id]
        aligned: list[dict[str, Any] | None] = [None] * len(reference)
        used: set[int] = set()
        matcher = difflib.SequenceMatcher(
            None, [s["brush"] for s in reference], [s["brush"] for s in theirs], autojunk=False
        )
        for block in matcher.get_matching_blocks():
            for offset in range(block.size):
                aligned[block.a + offset] = theirs[block.b + offset]
                used.add(block.b + offset)
        matched[run_id] = aligned
        for index, step in enumerate(theirs):
            if index not in used:
                added.append(RecipeChange("added", index, step["brush"], None, {run_id: step["params"]}))
    for index, step in enumerate(reference):
        present = {run_id: rows[index] for run_id, rows in matched.items()}
        gone = {run_id: None for run_id, other in present.items() if other is None}
        if gone:
            changes.append(RecipeChange("removed", index, step["brush"], None, gone))
        have = {run_id: other for run_id, other in present.items() if other is not None}
        if len(have) < 2:
            continue
        if len({bool(other["enabled"]) for other in have.values()}) > 1:
            values = {run_id: (other["enabled"] if other else None) for run_id, other in present.items()}
            changes.append(RecipeChange("enabled", index, step["brush"], "enabled", values))
        names = sorted({key for other in have.values() for key in other["params"]})
        for name in names:
            seen = {repr(other["params"].get(name)) for other in have.values()}
            if len(seen) > 1:
                values = {run: other["params"].get(name) if other else None for run, other in present.items()}
                changes.append(RecipeChange("param", index, step["brush"], name, values))
    return changes + added


def curves_figure(comparison: Comparison, metric: str) -> go.Figure:
    """One metric of every compared run, overlaid per epoch (one line per run)."""
    if metric not in comparison.curves:
        logged = ", ".join(sorted(comparison.curves))
        raise GalleryError(f"no compared run logged {metric!r}; logged: {logged}")
    names = {card.run_id: card.name for card in comparison.runs}
    figures = _chart_format(comparison, metric)
    figure = go.Figure()
    for run_id, history in comparison.curves[metric].items():
        figure.add_trace(
            go.Scatter(x=[s for s, _ in history], y=[v for _, v in history], mode="lines+markers",
                       name=names.get(run_id, run_id), customdata=[run_id] * len(history),
                       hovertemplate=f"%{{fullData.name}}<br>epoch %{{x}}: %{{y:{figures}}}<extra></extra>")
        )  # fmt: skip
    figure.update_layout(
        xaxis={"title": "epoch", "dtick": 1}, yaxis={"title": metric, "tickformat": figures},
        legend={"orientation": "h"}, margin={"l": 40, "r": 20, "t": 30, "b": 40},
    )  # fmt: skip
    return figure


def _chart_format(comparison: Comparison, metric: str) -> str:
    """The logged metric's format as its trainer's objective declares it (accuracy as a percentage),
    from the first compared run whose trainer knows it; else four significant digits."""
    from canvascraft.training.trainers import objective_of

    for card in comparison.runs:
        try:
            return objective_of(card.trainer).metric(metric).chart_format
        except (CanvasCraftError, KeyError):
            continue
    return f".{SIGNIFICANT}~g"
