"""The Gallery's grid: training runs as cards, filtered, sorted and paged by MLflow's own store.

Filtering, sorting and paging are one ``MlflowClient.search_runs`` call (a ``filter_string``, an
``order_by`` and ``max_results``/``page_token``), so a page of 24 costs about the same with 10,000 runs
as with 30: the store never hands every run to Python. One exception: MLflow's ``order_by`` on a metric
takes seconds at 10,000 runs on SQLite (see ``_metric_sorted_page``), so on a database store a
metric-sorted page is ranked by one query on MLflow's tables and its 24 runs then read through the
client; the tests check that both ways give the same pages.

Filter values arrive from URLs, so each one is checked against what MLflow's filter grammar can hold
(no quotes, backslashes or control characters, keys from MLflow's own key alphabet) and a bad one
raises ``GalleryError`` naming the field, never an MLflow traceback.

Two figures a card shows come from beyond the client:

- ``best_metric``: the best value a run reached over its epochs (highest accuracy/F1, lowest loss or
  seconds; see ``lower_is_better``), with its epoch. Sorting uses MLflow's own ordering, the metric's
  *latest* value (the last epoch), which is what ``RunCard.metrics`` holds; with early stopping the two
  can differ, so a card shows both.
- ``run_facets``, the per-page best values and metric histories read MLflow's tables read-only
  through SQLAlchemy and MLflow's own table definitions (``mlflow.store.tracking.dbmodels``), one query
  each: the client has no "distinct values" or "many histories at once" call. When the tracking URI
  is not a database (a file store, a server), they fall back to the client (slower, same answers).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from mlflow.entities import RunStatus, ViewType
from mlflow.exceptions import MlflowException

from canvascraft.config import get_settings
from canvascraft.errors import GalleryError, RunNotFoundError
from canvascraft.tracking.runs import DEFAULT_EXPERIMENT, tracking_client
from canvascraft.training.baseline import Baseline, baseline_of
from canvascraft.training.objectives import CLASSIFICATION

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient
    from sqlalchemy.engine import Engine

CARD_ARTIFACT = "card.png"
DEFAULT_METRIC = CLASSIFICATION.primary
"""What the grid sorts and shows by default: the primary metric of the studio's classifiers."""
MAX_PAGE_SIZE = 1000
STATUSES: tuple[str, ...] = tuple(RunStatus.to_string(s) for s in RunStatus.all_status())
TAG_JOB, TAG_MODALITY, TAG_STUDY, TAG_TRIAL = (
    "canvascraft.job_id",
    "canvascraft.modality",
    "canvascraft.study",
    "canvascraft.trial",
)
_DB_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")
# MLflow's own rule for metric, param and tag keys (mlflow.utils.validation).
_KEY = re.compile(r"^[\w\-. /]{1,250}$")
_RUN_ID = re.compile(r"^[A-Za-z0-9][\w\-]{0,255}$")
_FORBIDDEN = re.compile(r"['\"`\\\x00-\x1f\x7f]")


def lower_is_better(metric: str) -> bool:
    """Losses, errors and times improve downwards; accuracy, F1 and the rest upwards."""
    name = metric.lower()
    return "loss" in name or "error" in name or name.endswith("seconds")


@dataclass(frozen=True)
class BestMetric:
    """A run's best value of ``name`` over its epochs, and the epoch (step) it came at."""

    name: str
    value: float
    step: int


@dataclass(frozen=True)
class RunCard:
    """One run as the grid shows it. ``metrics`` hold each metric's latest (last epoch) value."""

    run_id: str
    name: str
    status: str
    dataset: str | None
    dataset_version: str | None
    trainer: str | None
    recipe: str | None
    recipe_version: str | None
    modality: str | None
    start_time: datetime | None
    end_time: datetime | None
    metrics: dict[str, float]
    best_metric: BestMetric | None
    job_id: int | None
    study: str | None
    trial: int | None
    parent_run_id: str | None
    thumbnail: Path | None
    tags: dict[str, str] = field(default_factory=dict)
    #: The classical model the run fitted on its own split, with its validation figures (None for
    #: generators and older runs).
    baseline: Baseline | None = None

    def baseline_value(self, metric: str) -> float | None:
        """The baseline's figure beside the run's ``metric`` (a validation metric of its trainer)."""
        if self.baseline is None:
            return None
        from canvascraft.training.trainers import objective_of

        return self.baseline.value(objective_of(self.trainer), metric)

    def model_value(self, metric: str) -> float | None:
        """The run's figure for ``metric`` to set beside its baseline: the logged model's (the
        ``best_*`` summary a finished run writes), else the best epoch's so far, else the last."""
        if f"best_{metric}" in self.metrics:
            return self.metrics[f"best_{metric}"]
        if self.best_metric is not None and self.best_metric.name == metric:
            return self.best_metric.value
        return self.metrics.get(metric)

    @property
    def baseline_line(self) -> str | None:
        """``validation accuracy: your model 97.0% · baseline 95.0% (logistic regression on 16×16
        pixels)`` for the primary figure; None without a baseline."""
        from canvascraft.training.trainers import objective_of

        key = self.primary_metric
        value, model = self.baseline_value(key), self.model_value(key)
        if value is None or self.baseline is None:
            return None
        metric = objective_of(self.trainer).metric(key)
        yours = f"your model {metric.shown(model)} · " if model is not None else ""
        return f"validation {metric.label}: {yours}baseline {metric.shown(value)} ({self.baseline.model})"

    @property
    def behind_baseline(self) -> str | None:
        """For a finished run whose logged model is not above its baseline on the primary figure: the
        warning, naming both figures and what to try; None otherwise."""
        from canvascraft.training.baseline import not_beaten
        from canvascraft.training.trainers import objective_of

        key = self.primary_metric
        value, model = self.baseline_value(key), self.metrics.get(f"best_{key}")
        if self.status != "FINISHED" or value is None or model is None:
            return None
        objective = objective_of(self.trainer)
        if objective.better(key, model, value):
            return None
        metric = objective.metric(key)
        return not_beaten(metric.label, metric.shown(model), metric.shown(value))

    @property
    def primary_metric(self) -> str:
        """The primary figure of the run's trainer (``val_accuracy`` for classifiers, the flow loss for
        generators): what its card shows when the grid's metric is one the run does not log."""
        from canvascraft.training.trainers import objective_of  # torch: only when a card asks

        return objective_of(self.trainer).primary


@dataclass(frozen=True)
class RunPage:
    """One page of cards; ``next_page_token`` is None on the last page."""

    cards: list[RunCard]
    next_page_token: str | None


@dataclass(frozen=True)
class RunFilter:
    """What the grid is narrowed to; every field is optional and they combine with AND.

    ``tag`` is ``key=value`` (runs with that tag value) or ``key`` (runs that have the tag);
    ``metric`` with ``metric_min``/``metric_max`` keeps runs whose latest value is in the range;
    ``text`` matches run names (case-insensitive; ``%`` and ``_`` act as SQL wildcards).
    """

    dataset: str | None = None
    trainer: str | None = None
    status: str | None = None
    tag: str | None = None
    metric: str | None = None
    metric_min: float | None = None
    metric_max: float | None = None
    text: str | None = None

    def filter_string(self) -> str:
        """The MLflow ``filter_string`` for this filter; raises ``GalleryError`` on a bad value."""
        clauses: list[str] = []
        if self.dataset:
            clauses.append(f"params.dataset = '{_value('dataset', self.dataset)}'")
        if self.trainer:
            clauses.append(f"params.trainer = '{_value('trainer', self.trainer)}'")
        if self.status:
            status = self.status.strip().upper()
            if status not in STATUSES:
                raise GalleryError(
                    f"status {self.status!r} is not a run status; use one of {', '.join(STATUSES)}"
                )
            clauses.append(f"attributes.status = '{status}'")
        if self.tag:
            key, has_value, value = self.tag.partition("=")
            key = _key("tag", key.strip())
            if has_value:
                clauses.append(f"tags.`{key}` = '{_value('tag value', value.strip())}'")
            else:
                clauses.append(f"tags.`{key}` IS NOT NULL")
        if self.metric_min is not None or self.metric_max is not None:
            if not self.metric:
                raise GalleryError("a metric range needs a metric name (e.g. val_accuracy)")
            low, high = _number("metric min", self.metric_min), _number("metric max", self.metric_max)
            if low is not None and high is not None and low > high:
                raise GalleryError(f"metric range is empty: min {low:g} is above max {high:g}")
            name = _key("metric", self.metric)
            if low is not None:
                clauses.append(f"metrics.`{name}` >= {low!r}")
            if high is not None:
                clauses.append(f"metrics.`{name}` <= {high!r}")
        elif self.metric:
            _key("metric", self.metric)  # checked even when it only names the range's metric
        if self.text and self.text.strip():
            clauses.append(f"attributes.run_name ILIKE '%{_value('search text', self.text.strip())}%'")
        return " AND ".join(clauses)


def _value(what: str, value: str) -> str:
    """A string MLflow's filter grammar can hold between single quotes (it has no escapes)."""
    if not isinstance(value, str) or not value:
        raise GalleryError(f"{what}: give a non-empty value")
    if len(value) > 250:
        raise GalleryError(f"{what}: {len(value)} characters is too long (250 at most)")
    bad = _FORBIDDEN.search(value)
    if bad:
        raise GalleryError(f"{what} {value!r}: {bad.group()!r} is not allowed in a filter value")
    return value


def _key(what: str, key: str) -> str:
    if not isinstance(key, str) or not _KEY.match(key):
        raise GalleryError(
            f"{what} {key!r} is not a valid name: use letters, digits, '_', '-', '.', '/' or spaces"
        )
    return key


def _number(what: str, value: float | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise GalleryError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise GalleryError(f"{what} must be a finite number, got {value!r}")
    return number


def check_run_id(run_id: str) -> str:
    """A run id as MLflow writes them; anything else is refused before it reaches the store."""
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id.strip()):
        raise RunNotFoundError(f"run {run_id!r} does not exist (not a run id)")
    return run_id.strip()


def experiment_id(client: MlflowClient) -> str | None:
    """The studio experiment's id, or None before any run was logged (nothing to show)."""
    experiment = client.get_experiment_by_name(DEFAULT_EXPERIMENT)
    return None if experiment is None else experiment.experiment_id


def search_runs(
    run_filter: RunFilter | None = None,
    sort_metric: str | None = None,
    descending: bool = True,
    page_size: int = 24,
    page_token: str | None = None,
) -> RunPage:
    """One page of the grid, newest first or by ``sort_metric`` (runs without it come last).

    The card's ``best_metric`` is for ``sort_metric`` (default ``val_accuracy``), read for the page's
    runs in one query. A page token only fits the filter and sort it came with.
    """
    run_filter = run_filter or RunFilter()
    filter_string = run_filter.filter_string()
    if not 1 <= int(page_size) <= MAX_PAGE_SIZE:
        raise GalleryError(f"page size must be 1–{MAX_PAGE_SIZE}, got {page_size}")
    if sort_metric:
        sort_metric = _key("sort metric", sort_metric)
    if page_token is not None:
        _offset(_value("page token", page_token))
    client = tracking_client()
    experiment = experiment_id(client)
    if experiment is None:
        return RunPage([], None)
    engine = mlflow_engine()
    if sort_metric and engine is not None:
        runs, token = _metric_sorted_page(
            client, engine, experiment, run_filter, sort_metric, descending, int(page_size), page_token
        )
    else:
        direction = "DESC" if descending else "ASC"
        order_by = [f"attributes.start_time {direction}"]
        if sort_metric:
            order_by = [f"metrics.`{sort_metric}` {direction}", "attributes.start_time DESC"]
        try:
            found = client.search_runs(
                [experiment],
                filter_string=filter_string,
                run_view_type=ViewType.ACTIVE_ONLY,
                max_results=int(page_size),
                order_by=order_by,
                page_token=page_token or None,
            )
        except MlflowException as error:
            what = "page token" if page_token and "token" in str(error).lower() else "filter"
            raise GalleryError(f"the {what} cannot be used: {error.message}") from None
        runs = list(found)
        token = found.token.decode("ascii") if isinstance(found.token, bytes) else found.token
    best = best_metrics([run.info.run_id for run in runs], sort_metric or DEFAULT_METRIC, client)
    return RunPage([card_of(run, best.get(run.info.run_id)) for run in runs], token or None)


def _offset(page_token: str | None) -> int:
    """The offset in MLflow's own page token (so a token works whichever way its page was ranked);
    a token that is not one raises ``GalleryError`` rather than MLflow's error or a crash."""
    from mlflow.utils.search_utils import SearchUtils

    try:
        offset = int(SearchUtils.parse_start_offset_from_page_token(page_token))
    except MlflowException as error:
        raise GalleryError(f"the page token cannot be used: {error.message}") from None
    except (AttributeError, TypeError, ValueError):
        raise GalleryError(
            "the page token cannot be used: it is not a page token; start from page 1"
        ) from None
    if offset < 0:
        raise GalleryError("the page token cannot be used: it points before the first page")
    return offset


def _metric_sorted_page(
    client: MlflowClient,
    engine: Engine,
    experiment: str,
    run_filter: RunFilter,
    metric: str,
    descending: bool,
    page_size: int,
    page_token: str | None,
) -> tuple[list[Run], str | None]:
    """A metric-sorted page: the order and the page's run ids from one query on MLflow's tables, then
    those runs through the client.

    MLflow's own metric ``order_by`` joins a materialised subquery that SQLite scans once per run
    (seconds at 10,000 runs); joining ``latest_metrics`` on its primary key (key, run id) sorts the
    same rows in milliseconds. The order is MLflow's: real values, then NaN, then runs without the
    metric, then newest first, then run id.
    """
    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlParam, SqlRun, SqlTag
    from mlflow.utils.search_utils import SearchUtils
    from sqlalchemy import and_, case, exists, select

    offset = _offset(page_token)
    runs_t, latest, params, tags = (
        SqlRun.__table__, SqlLatestMetric.__table__, SqlParam.__table__, SqlTag.__table__,
    )  # fmt: skip
    joined = runs_t.outerjoin(latest, and_(latest.c.run_uuid == runs_t.c.run_uuid, latest.c.key == metric))
    where = [runs_t.c.experiment_id == int(experiment), runs_t.c.lifecycle_stage == "active"]

    def has(table: Any, key: str, value: str | None = None) -> Any:
        match = [table.c.run_uuid == runs_t.c.run_uuid, table.c.key == key]
        return exists().where(*match, *([table.c.value == value] if value is not None else []))

    f = run_filter
    if f.dataset:
        where.append(has(params, "dataset", f.dataset))
    if f.trainer:
        where.append(has(params, "trainer", f.trainer))
    if f.status:
        where.append(runs_t.c.status == f.status.strip().upper())
    if f.tag:
        key, has_value, value = f.tag.partition("=")
        where.append(has(tags, key.strip(), value.strip() if has_value else None))
    if f.metric and (f.metric_min is not None or f.metric_max is not None):
        other = latest.alias("ranged")  # not the sort's join, which may name another metric
        bounds = [other.c.run_uuid == runs_t.c.run_uuid, other.c.key == f.metric, ~other.c.is_nan]
        if f.metric_min is not None:
            bounds.append(other.c.value >= float(f.metric_min))
        if f.metric_max is not None:
            bounds.append(other.c.value <= float(f.metric_max))
        where.append(exists().where(*bounds))
    if f.text and f.text.strip():
        where.append(runs_t.c.name.ilike(f"%{f.text.strip()}%"))
    rank = case((latest.c.is_nan.is_(True), 1), (latest.c.value.is_(None), 2), else_=0)
    value = latest.c.value.desc() if descending else latest.c.value.asc()
    query = (
        select(runs_t.c.run_uuid)
        .select_from(joined)
        .where(*where)
        .order_by(rank, value, runs_t.c.start_time.desc(), runs_t.c.run_uuid)
        .limit(page_size + 1)
        .offset(offset)
    )
    with engine.connect() as connection:
        ids = list(connection.execute(query).scalars())
    more, ids = len(ids) > page_size, ids[:page_size]
    if not ids:
        return [], None
    quoted = ", ".join(f"'{check_run_id(run_id)}'" for run_id in ids)
    found = client.search_runs(
        [experiment], f"attributes.run_id IN ({quoted})", ViewType.ACTIVE_ONLY, max_results=len(ids)
    )
    by_id = {run.info.run_id: run for run in found}
    token = SearchUtils.create_page_token(offset + page_size) if more else None
    token = token.decode("ascii") if isinstance(token, bytes) else token
    return [by_id[run_id] for run_id in ids if run_id in by_id], token


def _millis(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, tz=UTC)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None  # type: ignore[arg-type]
    except ValueError:
        return None


def artifact_dir(artifact_uri: str) -> Path | None:
    """The run's artifact folder when it is on this machine's file system (the workspace's store)."""
    parsed = urlparse(artifact_uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" and artifact_uri:
        return Path(artifact_uri)
    return None


def card_of(run: Run, best: BestMetric | None = None) -> RunCard:
    """A card from an MLflow run (tags, params and latest metrics come with it; no extra call)."""
    params, tags = run.data.params, run.data.tags
    folder = artifact_dir(run.info.artifact_uri)
    thumbnail = folder / CARD_ARTIFACT if folder is not None else None
    return RunCard(
        run_id=run.info.run_id,
        name=run.info.run_name or run.info.run_id,
        status=run.info.status,
        dataset=params.get("dataset"),
        dataset_version=params.get("dataset_version"),
        trainer=params.get("trainer"),
        recipe=params.get("recipe"),
        recipe_version=params.get("recipe_version"),
        modality=tags.get(TAG_MODALITY),
        start_time=_millis(run.info.start_time),
        end_time=_millis(run.info.end_time),
        metrics=dict(run.data.metrics),
        best_metric=best,
        job_id=_int(tags.get(TAG_JOB)),
        study=tags.get(TAG_STUDY),
        trial=_int(tags.get(TAG_TRIAL)),
        parent_run_id=tags.get("mlflow.parentRunId"),
        thumbnail=thumbnail if thumbnail is not None and thumbnail.is_file() else None,
        tags={k: v for k, v in tags.items() if not k.startswith("mlflow.")},
        baseline=baseline_of(params, run.data.metrics),
    )


@functools.lru_cache(maxsize=8)
def _engine_for(uri: str) -> Engine:
    from sqlalchemy import create_engine

    return create_engine(uri)


def mlflow_engine() -> Engine | None:
    """A read-only way into MLflow's own database, or None when the store is not one."""
    uri = get_settings().tracking_uri
    scheme = urlparse(uri).scheme.split("+")[0]
    return _engine_for(uri) if scheme in _DB_SCHEMES else None


def metric_rows(
    run_ids: Sequence[str], keys: Iterable[str] | None, client: MlflowClient | None = None
) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """Every logged ``(step, value)`` of ``keys`` (all metrics when None) of ``run_ids``, by
    ``(run_id, key)``, sorted by step; a step logged twice (a resumed epoch) keeps its latest value.

    One query on a database store (read in MLflow's (run, key, step) index order); elsewhere one
    ``get_metric_history`` per run and key.
    """
    keys = None if keys is None else list(keys)
    found: dict[tuple[str, str], dict[int, float]] = {}
    if not run_ids or keys == []:
        return {}
    engine = mlflow_engine()
    if engine is not None:
        from mlflow.store.tracking.dbmodels.models import SqlMetric
        from sqlalchemy import select

        table = SqlMetric.__table__
        query = (
            select(table.c.run_uuid, table.c.key, table.c.step, table.c.value, table.c.is_nan)
            .where(table.c.run_uuid.in_(list(run_ids)))
            .order_by(table.c.run_uuid, table.c.key, table.c.step, table.c.timestamp)
        )
        if keys is not None:
            query = query.where(table.c.key.in_(keys))
        with engine.connect() as connection:
            # The driver's own tuples: SQLAlchemy's Row objects cost more than the query at 70,000 rows.
            rows: Iterable[Any] = connection.execute(query).cursor.fetchall()  # type: ignore[union-attr]
        where, steps = None, {}
        for run_id, key, step, value, is_nan in rows:
            if (run_id, key) != where:
                where = (run_id, key)
                steps = found.setdefault(where, {})
            steps[step] = math.nan if is_nan else value  # rows come in time order: the last one stays
    else:
        client = client or tracking_client()
        for run_id in run_ids:
            names = keys if keys is not None else list(client.get_run(run_id).data.metrics)
            for key in names:
                history = sorted(client.get_metric_history(run_id, key), key=lambda m: (m.step, m.timestamp))
                if history:
                    found[(run_id, key)] = {metric.step: metric.value for metric in history}
    return {where: sorted(steps.items()) for where, steps in found.items()}


def best_of(name: str, history: Sequence[tuple[int, float]]) -> BestMetric | None:
    """The best finite value of a history (first epoch reaching it on ties)."""
    finite = [(step, value) for step, value in history if math.isfinite(value)]
    if not finite:
        return None
    if lower_is_better(name):
        step, value = min(finite, key=lambda sv: (sv[1], sv[0]))
    else:
        step, value = max(finite, key=lambda sv: (sv[1], -sv[0]))
    return BestMetric(name, value, step)


def best_metrics(
    run_ids: Sequence[str], metric: str, client: MlflowClient | None = None
) -> dict[str, BestMetric]:
    """Each run's best value of ``metric`` over its history, for one page of runs at once."""
    rows = metric_rows(run_ids, [metric], client)
    found = {run_id: best_of(metric, rows.get((run_id, metric), [])) for run_id in run_ids}
    return {run_id: best for run_id, best in found.items() if best is not None}


@dataclass(frozen=True)
class Facets:
    """The values the filter pickers offer, from the runs that exist."""

    datasets: list[str]
    trainers: list[str]
    statuses: list[str]
    metrics: list[str]
    tags: list[str]


FACET_SCAN_RUNS = 1000
"""Without a database store, facets come from this many newest runs (a scan, not a query)."""


def run_facets() -> Facets:
    """Distinct datasets, trainers, statuses, metric names and tag keys of the studio's active runs."""
    client = tracking_client()
    experiment = experiment_id(client)
    if experiment is None:
        return Facets([], [], [], [], [])
    engine = mlflow_engine()
    if engine is None:
        runs = client.search_runs([experiment], max_results=FACET_SCAN_RUNS)
        return Facets(
            sorted({r.data.params["dataset"] for r in runs if "dataset" in r.data.params}),
            sorted({r.data.params["trainer"] for r in runs if "trainer" in r.data.params}),
            sorted({r.info.status for r in runs}),
            sorted({k for r in runs for k in r.data.metrics}),
            sorted({k for r in runs for k in r.data.tags if not k.startswith("mlflow.")}),
        )
    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlParam, SqlRun, SqlTag
    from sqlalchemy import select

    runs_t = SqlRun.__table__
    active = (
        select(runs_t.c.run_uuid)
        .where(runs_t.c.experiment_id == int(experiment), runs_t.c.lifecycle_stage == "active")
        .scalar_subquery()
    )
    params_t, metrics_t, tags_t = SqlParam.__table__, SqlLatestMetric.__table__, SqlTag.__table__

    def param_values(key: str) -> Any:
        return (
            select(params_t.c.value).where(params_t.c.key == key, params_t.c.run_uuid.in_(active)).distinct()
        )

    with engine.connect() as connection:
        datasets = connection.execute(param_values("dataset")).scalars().all()
        trainers = connection.execute(param_values("trainer")).scalars().all()
        statuses = connection.execute(
            select(runs_t.c.status).where(runs_t.c.run_uuid.in_(active)).distinct()
        ).scalars().all()  # fmt: skip
        metrics = connection.execute(
            select(metrics_t.c.key).where(metrics_t.c.run_uuid.in_(active)).distinct()
        ).scalars().all()  # fmt: skip
        own = ~tags_t.c.key.startswith("mlflow.")
        own_tags = select(tags_t.c.key).where(tags_t.c.run_uuid.in_(active), own)
        tags = connection.execute(own_tags.distinct()).scalars().all()
    return Facets(sorted(datasets), sorted(trainers), sorted(statuses), sorted(metrics), sorted(tags))
