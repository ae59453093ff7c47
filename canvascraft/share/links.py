"""View state ⇄ URL query parameters, so any gallery or drift view can be shared as a link.

A link carries ids and filter values only, never paths. Everything read back from a URL is checked
here: a tampered or malformed value is dropped and reported in plain words, so the page can say what
was wrong and show the gallery instead of failing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

VIEWS = ("runs", "run", "compare", "models", "try")
RUN_ID = re.compile(r"^[0-9a-f]{32}$")
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$")
ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
METRIC = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
TEXT = re.compile(r"^[^\x00-\x1f\"'\\]{0,120}$")
"""Free filter text: printable, no quotes or backslashes (they would end an MLflow filter string)."""
CHECKPOINT = re.compile(r"^[1-9]\d{0,9}:(best|last)$")
NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
CHECK_ID = re.compile(r"^[1-9]\d{0,9}$")
FEATURE = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")
"""A column or signal name as a check stored it; only ever compared with the check's own features."""
MAX_COMPARED = 10


@dataclass(frozen=True)
class GalleryState:
    """Everything a gallery view needs to be reopened exactly."""

    view: str = "runs"
    run: str | None = None
    runs: tuple[str, ...] = ()
    model: str | None = None
    version: str | None = None
    dataset: str | None = None
    trainer: str | None = None
    status: str | None = None
    tag: str | None = None
    metric: str | None = None
    low: float | None = None
    high: float | None = None
    sort: str | None = None
    page: int = 1
    #: A stored item (sha256) tried on a model: a Try result on a sample item can be shared.
    item: str | None = None
    #: A training job's checkpoint tried instead of a registered model: ``<job id>:best`` or ``:last``.
    checkpoint: str | None = None
    problems: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class DriftState:
    """A Drift page view: a model, one of its checks, and the feature drilled into."""

    model: str | None = None
    check: int | None = None
    feature: str | None = None
    problems: tuple[str, ...] = field(default=(), compare=False)


Reader = Callable[[str, re.Pattern[str], str], str | None]
PAGES: dict[type, str] = {GalleryState: "gallery", DriftState: "drift"}
"""Each state's page path in the studio."""


def _reader(params: Mapping[str, str | list[str]], problems: list[str]) -> Reader:
    """``one(key, pattern, what)``: the last value of ``key`` when it matches, else None and a problem."""

    def one(key: str, pattern: re.Pattern[str], what: str) -> str | None:
        raw = params.get(key)
        value = raw[-1] if isinstance(raw, list) else raw
        if value is None or value == "":
            return None
        if not pattern.match(value):
            problems.append(f"the link's {key} is not a valid {what}; it was ignored")
            return None
        return value

    return one


def parse(params: Mapping[str, str | list[str]]) -> GalleryState:
    """The state a URL asks for; each bad value is left out and explained in ``problems``."""
    problems: list[str] = []
    one = _reader(params, problems)

    view = one("view", re.compile(rf"^({'|'.join(VIEWS)})$"), "gallery view") or "runs"
    run = one("run", RUN_ID, "run id")
    compared = one("runs", re.compile(r"^[0-9a-f,]{0,400}$"), "list of run ids")
    runs = tuple(dict.fromkeys(r for r in (compared or "").split(",") if r))
    if any(not RUN_ID.match(r) for r in runs):
        problems.append("the link's runs hold something that is not a run id; they were ignored")
        runs = ()
    if len(runs) > MAX_COMPARED:
        problems.append(f"a comparison holds at most {MAX_COMPARED} runs; the first {MAX_COMPARED} are shown")
        runs = runs[:MAX_COMPARED]
    page_text = one("page", re.compile(r"^[1-9]\d{0,4}$"), "page number")
    low, high = one("low", NUMBER, "number"), one("high", NUMBER, "number")
    state = GalleryState(
        view=view,
        run=run,
        runs=runs,
        model=one("model", MODEL_NAME, "model name"),
        version=one("version", re.compile(rf"^(\d{{1,6}}|{ALIAS.pattern[1:-1]})$"), "version or alias"),
        dataset=one("dataset", TEXT, "dataset name"),
        trainer=one("trainer", TEXT, "trainer name"),
        status=one("status", re.compile(r"^(RUNNING|FINISHED|FAILED|KILLED|SCHEDULED)$"), "run status"),
        tag=one("tag", TEXT, "tag"),
        metric=one("metric", METRIC, "metric name"),
        low=float(low) if low is not None else None,
        high=float(high) if high is not None else None,
        sort=one("sort", METRIC, "metric name"),
        page=int(page_text) if page_text else 1,
        item=one("item", re.compile(r"^[0-9a-f]{64}$"), "item id"),
        checkpoint=one(
            "checkpoint", re.compile(r"^[1-9]\d{0,9}:(best|last)$"), "checkpoint (JOB:best or JOB:last)"
        ),
    )
    if state.view == "run" and state.run is None:
        problems.append("the link opens a run but names none; showing all runs")
        state = replace(state, view="runs")
    if state.view == "compare" and len(state.runs) < 2:
        problems.append("a comparison needs at least two runs; showing all runs")
        state = replace(state, view="runs")
    return replace(state, problems=tuple(problems))


def parse_drift(params: Mapping[str, str | list[str]]) -> DriftState:
    """The Drift view a URL asks for; each bad value is left out and explained in ``problems``.

    Whether the model is watched and the check exists is the page's to say: here only the form is checked.
    """
    problems: list[str] = []
    one = _reader(params, problems)
    check = one("check", CHECK_ID, "check id")
    return DriftState(
        model=one("model", MODEL_NAME, "model name"),
        check=int(check) if check is not None else None,
        feature=one("feature", FEATURE, "feature name"),
        problems=tuple(problems),
    )


def to_params(state: GalleryState | DriftState) -> dict[str, str]:
    """The query parameters of ``state``, leaving out defaults so links stay short."""
    if isinstance(state, DriftState):
        found = {"model": state.model, "check": state.check, "feature": state.feature}
        return {key: str(value) for key, value in found.items() if value is not None}
    values: dict[str, object] = {
        "view": state.view if state.view != "runs" else None,
        "run": state.run,
        "runs": ",".join(state.runs) or None,
        "model": state.model,
        "version": state.version,
        "dataset": state.dataset,
        "trainer": state.trainer,
        "status": state.status,
        "tag": state.tag,
        "metric": state.metric,
        "low": state.low,
        "high": state.high,
        "sort": state.sort,
        "page": state.page if state.page != 1 else None,
        "item": state.item,
        "checkpoint": state.checkpoint,
    }
    return {
        key: f"{value:g}" if isinstance(value, float) else str(value)
        for key, value in values.items()
        if value is not None
    }


def link(base_url: str, state: GalleryState | DriftState, page: str | None = None) -> str:
    """The share link of ``state`` on the studio at ``base_url`` (on its own page unless ``page``)."""
    page = page or PAGES[type(state)]
    query = urlencode(to_params(state))
    return f"{base_url.rstrip('/')}/{page}" + (f"?{query}" if query else "")
