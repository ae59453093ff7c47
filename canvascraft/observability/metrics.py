"""Prometheus metrics: the studio's rows read at scrape time, and the API's requests as they are served.

Job processes never export anything themselves: whatever they do ends up in their job row (state,
times) or in rows they write (drift checks, alert deliveries, Optuna trials), and ``StudioCollector``
reads those rows when Prometheus scrapes. So metrics from every process reach one ``/metrics`` without
prometheus_client's multiprocess mode, and a restarted server loses nothing.

A scrape never fails because of the database: a family whose query fails (the database is locked, a
table is missing in an older workspace) is left out of that scrape and counted in
``canvascraft_scrape_errors_total{family=...}``. Reads go through a read-only engine of their own that
waits at most ``SCRAPE_BUSY_TIMEOUT_MS`` for a lock, so a scrape ends well within Prometheus's scrape
timeout and never writes.

``RequestMetrics`` is pure ASGI middleware (no Starlette or Streamlit needed) that counts requests by
route template and status; ``metrics_app()`` is the ASGI app serving ``/metrics`` from the registry
holding both.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, make_asgi_app
from prometheus_client import Counter as RequestCounter
from prometheus_client import Histogram as RequestHistogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from sqlalchemy import Connection, Engine, create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from canvascraft.config import get_settings
from canvascraft.jobs.states import JobState
from canvascraft.store.models import AlertDelivery, DriftCheck, DriftMetric, Job, Retrain, as_utc

log = logging.getLogger(__name__)

PREFIX = "canvascraft_"
SCRAPE_BUSY_TIMEOUT_MS = 250
"""How long one scrape query waits for a locked SQLite database before its family is skipped."""
QUEUE_WAIT_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
RUN_TIME_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 4 * 3600.0)
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "unmatched"
"""The route label of a request no route template matched (a typo'd URL, a Streamlit asset): one
label for all of them, so stray paths never grow the number of series."""

Family = Callable[[Connection], Iterable[Metric]]


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    begin, finish = as_utc(start), as_utc(end)
    if begin is None or finish is None:
        return None
    return max(0.0, (finish - begin).total_seconds())


def _histogram(
    name: str, documentation: str, labels: list[str], values: dict[tuple[str, ...], list[float]],
    buckets: tuple[float, ...],
) -> HistogramMetricFamily:  # fmt: skip
    """A cumulative histogram rebuilt from every row's duration: the rows only grow, so its counts do."""
    family = HistogramMetricFamily(name, documentation, labels=labels)
    for key, durations in sorted(values.items()):
        cumulative = [(str(bound), float(sum(1 for d in durations if d <= bound))) for bound in buckets]
        cumulative.append(("+Inf", float(len(durations))))
        family.add_metric(list(key), cumulative, sum_value=float(sum(durations)))
    return family


def jobs_families(connection: Connection) -> Iterator[Metric]:
    """Jobs by kind and state, and how long finished ones waited in the queue and ran."""
    counts = connection.execute(select(Job.kind, Job.state, func.count()).group_by(Job.kind, Job.state)).all()
    jobs = GaugeMetricFamily(
        f"{PREFIX}jobs", "Jobs in the studio database by kind and state.", labels=["kind", "state"]
    )
    seen = {(kind, state): number for kind, state, number in counts}
    for kind in sorted({kind for kind, _ in seen}):
        for state in JobState:  # every state of a known kind, zeros included, so a panel never goes blank
            jobs.add_metric([kind, state.value], float(seen.get((kind, state.value), 0)))
    for (kind, state), number in sorted(seen.items()):
        if state not in {known.value for known in JobState}:
            jobs.add_metric([kind, state], float(number))
    yield jobs
    rows = connection.execute(select(Job.kind, Job.state, Job.created_at, Job.started_at, Job.finished_at))
    waits: dict[tuple[str, ...], list[float]] = {}
    runs: dict[tuple[str, ...], list[float]] = {}
    for kind, state, created, started, finished in rows:
        if (wait := _seconds(created, started)) is not None:
            waits.setdefault((kind,), []).append(wait)
        if (run := _seconds(started, finished)) is not None:
            runs.setdefault((kind, state), []).append(run)
    yield _histogram(
        f"{PREFIX}job_queue_wait_seconds",
        "Seconds jobs waited in the queue before a pool started them (created to started), by kind.",
        ["kind"], waits, QUEUE_WAIT_BUCKETS,
    )  # fmt: skip
    yield _histogram(
        f"{PREFIX}job_run_seconds",
        "Seconds finished jobs ran (started to finished), by kind and final state.",
        ["kind", "state"], runs, RUN_TIME_BUCKETS,
    )  # fmt: skip


def _slot_total() -> int:
    """The pool's own limit; the automatic one counts CUDA devices (imports torch once per process)."""
    return get_settings().max_concurrent_jobs or _auto_slots()


@lru_cache(maxsize=1)
def _auto_slots() -> int:
    from canvascraft.jobs.pool import auto_max_concurrent

    return auto_max_concurrent()


def slots_families(connection: Connection) -> Iterator[Metric]:
    """The pool's slots: running jobs outside a lane (a study's trials have their own lane limit)."""
    in_use = connection.execute(
        select(func.count()).where(Job.state == JobState.RUNNING.value, Job.lane.is_(None))
    ).scalar_one()
    yield GaugeMetricFamily(
        f"{PREFIX}pool_slots_in_use", "Pool slots taken by running jobs (jobs in a lane not counted).", in_use
    )
    yield GaugeMetricFamily(
        f"{PREFIX}pool_slots", "Jobs the pool runs at once (CANVASCRAFT_MAX_CONCURRENT_JOBS).", _slot_total()
    )
    lanes = connection.execute(
        select(Job.lane, func.count()).where(Job.state == JobState.RUNNING.value, Job.lane.is_not(None))
        .group_by(Job.lane)
    ).all()  # fmt: skip
    lane_family = GaugeMetricFamily(
        f"{PREFIX}lane_jobs_running", "Running jobs of each lane (a study's trials).", labels=["lane"]
    )
    for lane, number in lanes:
        lane_family.add_metric([lane], float(number))
    yield lane_family


def drift_families(connection: Connection) -> Iterator[Metric]:
    """The latest finished check's score and limit per model, feature and metric; checks by verdict."""
    latest = (
        select(DriftCheck.model_name, func.max(DriftCheck.id).label("check_id"))
        .where(DriftCheck.state == "done")
        .group_by(DriftCheck.model_name)
        .subquery()
    )
    rows = connection.execute(
        select(latest.c.model_name, DriftMetric.feature, DriftMetric.metric, DriftMetric.value,
               DriftMetric.threshold, DriftMetric.drifted)
        .join(DriftMetric, DriftMetric.check_id == latest.c.check_id)
        .order_by(latest.c.model_name, DriftMetric.id)
    ).all()  # fmt: skip
    labels = ["model", "feature", "metric"]
    score = GaugeMetricFamily(
        f"{PREFIX}drift_score", "Drift score of the latest finished check, per model, feature and metric.",
        labels=labels,
    )  # fmt: skip
    limit = GaugeMetricFamily(
        f"{PREFIX}drift_limit", "The limit above which that score counts as drift.", labels=labels
    )
    drifted = GaugeMetricFamily(
        f"{PREFIX}drift_feature_drifted", "1 when the latest check found that feature drifted.", labels=labels
    )
    for model, feature, metric, value, threshold, moved in rows:
        key = [model, feature, metric]
        if value is not None:
            score.add_metric(key, float(value))
        limit.add_metric(key, float(threshold))
        drifted.add_metric(key, 1.0 if moved else 0.0)
    yield from (score, limit, drifted)
    checks = connection.execute(
        select(DriftCheck.model_name, DriftCheck.state, DriftCheck.drifted, func.count())
        .group_by(DriftCheck.model_name, DriftCheck.state, DriftCheck.drifted)
    ).all()  # fmt: skip
    verdicts: Counter[tuple[str, str]] = Counter()
    for model, state, was_drifted, number in checks:
        verdict = ("drifted" if was_drifted else "no_drift") if state == "done" else state
        verdicts[(model, verdict)] += number
    family = GaugeMetricFamily(
        f"{PREFIX}drift_checks",
        "Drift checks by model and verdict: drifted, no_drift, or the state of one not done "
        "(queued, running, no_data, failed).",
        labels=["model", "verdict"],
    )
    for key, number in sorted(verdicts.items()):
        family.add_metric(list(key), float(number))
    yield family


def alert_families(connection: Connection) -> Iterator[Metric]:
    """The outbox: deliveries by channel and state (pending, retrying, delivered, dead)."""
    rows = connection.execute(
        select(AlertDelivery.channel, AlertDelivery.state, func.count())
        .group_by(AlertDelivery.channel, AlertDelivery.state)
    ).all()  # fmt: skip
    family = GaugeMetricFamily(
        f"{PREFIX}alert_deliveries", "Alert deliveries by channel and state.", labels=["channel", "state"]
    )
    for channel, state, number in sorted(rows):
        family.add_metric([channel, state], float(number))
    yield family


def retrain_families(connection: Connection) -> Iterator[Metric]:
    """Retrains by model and state (training, comparing, promoted, pending_approval, …)."""
    rows = connection.execute(
        select(Retrain.model_name, Retrain.state, func.count()).group_by(Retrain.model_name, Retrain.state)
    ).all()
    family = GaugeMetricFamily(f"{PREFIX}retrains", "Retrains by model and state.", labels=["model", "state"])
    for model, state, number in sorted(rows):
        family.add_metric([model, state], float(number))
    yield family


def trial_families(connection: Connection) -> Iterator[Metric]:
    """Optuna trials by study and state, read from Optuna's own tables (``studies``, ``trials``)."""
    rows = connection.execute(
        text(
            "SELECT s.study_name, t.state, COUNT(*) FROM trials t JOIN studies s ON s.study_id = t.study_id "
            "GROUP BY s.study_name, t.state"
        )
    ).all()
    family = GaugeMetricFamily(
        f"{PREFIX}optuna_trials", "Optuna trials by study and state.", labels=["study", "state"]
    )
    for study, state, number in sorted(rows, key=lambda row: (row[0], str(row[1]))):
        family.add_metric([study, str(state).lower()], float(number))
    yield family


STUDIO_FAMILIES: dict[str, Family] = {
    "jobs": jobs_families,
    "pool_slots": slots_families,
    "drift": drift_families,
    "alert_deliveries": alert_families,
    "retrains": retrain_families,
}
"""Families read from the studio database, by the name their failures are counted under."""


@lru_cache(maxsize=8)
def read_engine(url: str) -> Engine:
    """An engine only for scrapes: read-only, and waiting at most ``SCRAPE_BUSY_TIMEOUT_MS`` for a
    lock. Not ``engine_for``'s: its connections switch a database to WAL first, which on a locked
    database retries for seconds, and wait the full busy timeout a write deserves."""
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(
            url, connect_args={"timeout": SCRAPE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )
        event.listen(engine, "connect", _read_only)
        return engine
    if make_url(url).get_backend_name() == "postgresql":
        options = f"-c statement_timeout={SCRAPE_BUSY_TIMEOUT_MS * 8} -c default_transaction_read_only=on"
        return create_engine(url, pool_pre_ping=True, connect_args={"options": options})
    return create_engine(url, pool_pre_ping=True)


def _read_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def _missing_sqlite_file(url: str) -> bool:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return False
    return not Path(parsed.database).exists()


class StudioCollector:
    """Reads the studio's rows at every scrape (``prometheus_client``'s custom collector protocol).

    Each family is read on its own connection, so a missing table (PostgreSQL aborts the transaction on
    one) costs only that family. Once a family found the database locked, the rest of that database's
    families are skipped at once rather than each waiting out the lock again."""

    def __init__(self) -> None:
        self._errors: Counter[str] = Counter()
        self._lock = threading.Lock()

    @property
    def errors(self) -> dict[str, int]:
        """Failed family reads since this collector was made, by family (what the error counter shows)."""
        with self._lock:
            return dict(self._errors)

    def _failed(self, family: str, error: Exception) -> None:
        with self._lock:
            self._errors[family] += 1
        log.warning("metrics: the %s family was left out of this scrape: %s", family, _reason(error))

    def _read(self, engine: Engine, families: dict[str, Family]) -> Iterator[Metric]:
        locked: Exception | None = None
        for name, family in families.items():
            if locked is not None:
                self._failed(name, locked)
                continue
            try:
                with engine.connect() as connection:
                    metrics = list(family(connection))
            except (SQLAlchemyError, OSError) as error:
                if "locked" in _reason(error) or "busy" in _reason(error):
                    locked = error
                self._failed(name, error)
                continue
            yield from metrics

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        settings = get_settings()
        if _missing_sqlite_file(settings.db_url):
            for name in STUDIO_FAMILIES:
                self._failed(name, FileNotFoundError(f"no studio database at {settings.db_url}"))
        else:
            yield from self._read(read_engine(settings.db_url), STUDIO_FAMILIES)
        if not _missing_sqlite_file(settings.optuna_url):  # no study yet: nothing to count, no error
            yield from self._read(read_engine(settings.optuna_url), {"optuna_trials": trial_families})
        errors = CounterMetricFamily(
            f"{PREFIX}scrape_errors",
            "Metric families left out of a scrape because their rows could not be read, by family.",
            labels=["family"],
        )
        for name, number in sorted(self.errors.items()):
            errors.add_metric([name], float(number))
        yield errors
        yield GaugeMetricFamily(
            f"{PREFIX}scrape_duration_seconds",
            "Seconds the last scrape of the studio's rows took.",
            time.perf_counter() - started,
        )


def _reason(error: Exception) -> str:
    orig = getattr(error, "orig", None)
    return (
        (str(orig) if orig is not None else str(error)).splitlines()[0]
        if str(error)
        else type(error).__name__
    )


# --- API requests ---------------------------------------------------------------------------------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _RequestFamilies:
    """The request counter and histogram, made once per registry (a registry refuses a name twice)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = RequestCounter(
            f"{PREFIX}api_requests",
            "HTTP requests served, by route template, method and status code.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.duration = RequestHistogram(
            f"{PREFIX}api_request_duration_seconds",
            "Seconds from a request's arrival to its response's end, by route template and method.",
            ["route", "method"],
            registry=registry,
            buckets=REQUEST_BUCKETS,
        )


_registry: CollectorRegistry | None = None
_request_families: _RequestFamilies | None = None
_registry_lock = threading.Lock()


def studio_registry() -> CollectorRegistry:
    """This process's registry: the studio collector and the request metrics, made on first use."""
    global _registry, _request_families
    with _registry_lock:
        if _registry is None:
            registry = CollectorRegistry(auto_describe=False)
            registry.register(StudioCollector())
            _request_families = _RequestFamilies(registry)
            _registry = registry
        return _registry


def _families() -> _RequestFamilies:
    studio_registry()
    assert _request_families is not None
    return _request_families


def route_template(scope: Scope, root_path: str = "") -> str:
    """The template of the route that served ``scope`` (``/api/v1/jobs/{job_id}``), as the router left
    it in the scope (Starlette and FastAPI set ``scope["route"]``); ``UNMATCHED`` when none did."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(template, str) or not template:
        return UNMATCHED
    mounted = str(scope.get("root_path", ""))  # a route inside a Mount: the mount's prefix is here
    prefix = mounted[len(root_path) :] if mounted.startswith(root_path) else mounted
    if hasattr(route, "routes") and template.endswith("/{path}"):  # served by a Mount's own app
        return prefix + "/{path}"  # (static files, a sub-app): its prefix is in root_path already
    # A router included under a prefix (``/v1``) may leave the prefix out of its routes' templates:
    # what the path holds before the route's own part is that prefix.
    path = str(scope.get("path", ""))
    params = {name: str(value) for name, value in (scope.get("path_params") or {}).items()}
    try:
        own = template.format(**params)
    except (KeyError, IndexError, ValueError):
        own = None
    if own and path.endswith(own) and path.startswith(mounted):
        return path[len(root_path) : len(path) - len(own)] + template
    return prefix + template


class RequestMetrics:
    """Pure ASGI middleware: counts each HTTP request by route template, method and status, and times it.

    ``app.add_middleware(RequestMetrics)`` on a Starlette/FastAPI app, or ``RequestMetrics(asgi_app)``
    around any ASGI app. Only HTTP is counted (websockets and lifespan pass straight through). A request
    whose handler raised counts as status 500 and the error goes on up."""

    def __init__(self, app: ASGIApp, *, registry: CollectorRegistry | None = None) -> None:
        self.app = app
        self.families = _RequestFamilies(registry) if registry is not None else _families()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        root_path = str(scope.get("root_path", ""))
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message.get("type") == "http.response.start":
                status = int(message.get("status", 500))
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = route_template(scope, root_path)
            method = str(scope.get("method", "GET"))
            self.families.requests.labels(route, method, str(status)).inc()
            self.families.duration.labels(route, method).observe(time.perf_counter() - started)


class MetricsApp:
    """The ASGI app answering Prometheus's scrape (any path it is given). A class instance, not a
    function, so Starlette's ``Route("/metrics", metrics_app())`` and ``app.add_route`` pass it the raw
    ASGI call instead of wrapping it as a request handler; under ``Mount`` it would answer only
    ``/metrics/``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        # Uncompressed: the studio server gzips responses itself, and a second gzip over the first
        # reached Prometheus as garbage ('"INVALID" "\x1f" is not a valid start token').
        self._app = make_asgi_app(registry, disable_compression=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def metrics_app(registry: CollectorRegistry | None = None) -> MetricsApp:
    """Every ``canvascraft_`` family as Prometheus's text format: ``app.add_route("/metrics",
    metrics_app())`` on the server (the default registry holds the studio collector and the counts of
    every ``RequestMetrics`` made without its own registry)."""
    return MetricsApp(registry or studio_registry())
