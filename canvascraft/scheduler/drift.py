"""Drift-check schedules in APScheduler's ``SQLAlchemyJobStore``, inside the workspace database.

Each watched model with a schedule is one APScheduler job (``drift-check:<monitor id>``) whose trigger
is an interval or a crontab line. The job store is shared, so schedules survive restarts and every studio
process on the workspace sees them; the CLI edits them through a scheduler started paused, which only
writes to the store.

Several studios each run the store's jobs, so a tick may fire in each of them. The scheduled function
only *claims* the tick (a conditional update in ``canvascraft.drift.queue``) and queues a pool
job: exactly one studio wins a tick, and the check itself runs as its own process, never on a page's
thread. Interval triggers start at a fixed origin so every process agrees on the tick's start; ticks
missed while no studio ran coalesce into one run (``coalesce=True``, no misfire grace limit).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime

from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import inspect, text

from canvascraft.config import get_settings
from canvascraft.drift import queue
from canvascraft.drift.queue import ORIGIN
from canvascraft.errors import DriftError
from canvascraft.store.session import busy_timeout_s, engine_for

log = logging.getLogger(__name__)
JOBSTORE = "drift"
TABLE = "apscheduler_jobs"


def job_id(monitor_id: int) -> str:
    return f"drift-check:{monitor_id}"


def trigger_for(every_s: int | None, cron: str | None) -> BaseTrigger:
    """The APScheduler trigger of a schedule spec; a bad crontab line raises :class:`DriftError`."""
    if every_s is not None:
        return IntervalTrigger(seconds=every_s, start_date=ORIGIN, timezone=UTC)
    if cron is None:
        raise DriftError("a schedule needs an interval or a cron line")
    try:
        return CronTrigger.from_crontab(cron, timezone=UTC)
    except ValueError as error:
        raise DriftError(
            f"cron {cron!r} is not a crontab line ({error}); write five fields: minute hour day month "
            "weekday, e.g. '0 * * * *' for every hour"
        ) from None


def scheduled_check(monitor_id: int) -> None:
    """What APScheduler runs on a tick: claim it and queue the check; errors are logged, never raised
    into the scheduler."""
    try:
        queue.enqueue_scheduled(monitor_id)  # looked up on each tick, so it can be wrapped in tests
    except Exception:
        log.exception("queueing the scheduled drift check of monitor %s failed", monitor_id)


def job_store(url: str | None = None) -> SQLAlchemyJobStore:
    return SQLAlchemyJobStore(engine=engine_for(url or get_settings().db_url), tablename=TABLE)


_attached: dict[str, BackgroundScheduler] = {}
"""Database URL → the scheduler of this process that runs that workspace's drift schedules."""


def attach(scheduler: BackgroundScheduler, url: str | None = None) -> None:
    """Make a scheduler run the workspace's drift schedules (the studio's background scheduler does)."""
    url = url or get_settings().db_url
    scheduler.add_jobstore(job_store(url), JOBSTORE)
    _attached[url] = scheduler


def _running_for(url: str) -> BackgroundScheduler | None:
    scheduler = _attached.get(url)
    return scheduler if scheduler is not None and scheduler.running else None


class _StoreWriter(BaseScheduler):
    """A scheduler that only writes jobs to its stores and never runs one: it has no thread. (A
    background scheduler started paused still processes due jobs once as it shuts down, which would
    advance a schedule without running its check.)"""

    def wakeup(self) -> None:
        """Nothing runs here, so there is nothing to wake."""

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)


@contextmanager
def _editing() -> Iterator[BaseScheduler]:
    """A scheduler that writes to the workspace's job store: this process's own when it runs the store
    (so it wakes for the change at once), else a writer that never runs jobs."""
    url = get_settings().db_url
    running = _running_for(url)
    if running is not None:
        yield running
        return
    # Its own engine: shutting the writer down disposes the store's engine.
    store = SQLAlchemyJobStore(url=url, tablename=TABLE, engine_options={"connect_args": _connect_args(url)})
    writer = _StoreWriter(jobstores={JOBSTORE: store}, timezone=UTC)
    writer.start(paused=True)
    try:
        yield writer
    finally:
        writer.shutdown(wait=False)


def _connect_args(url: str) -> dict[str, float]:
    return {"timeout": busy_timeout_s()} if url.startswith("sqlite") else {}


def put_schedule(monitor_id: int, every_s: int | None, cron: str | None, paused: bool) -> None:
    """Create, replace or (with neither interval nor cron) remove a monitor's schedule."""
    if every_s is None and cron is None:
        remove_schedule(monitor_id)
        return
    trigger = trigger_for(every_s, cron)
    with _editing() as scheduler:
        scheduler.add_job(
            scheduled_check,
            trigger,
            args=[monitor_id],
            id=job_id(monitor_id),
            name=f"drift check of monitor {monitor_id}",
            jobstore=JOBSTORE,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        if paused:
            scheduler.pause_job(job_id(monitor_id), JOBSTORE)


def remove_schedule(monitor_id: int) -> None:
    with _editing() as scheduler, suppress(JobLookupError):
        scheduler.remove_job(job_id(monitor_id), JOBSTORE)


def next_runs() -> dict[int, datetime | None]:
    """Monitor id → when its next check is due (None when paused), read straight from the job store."""
    engine = engine_for(get_settings().db_url)
    if not inspect(engine).has_table(TABLE):
        return {}
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT id, next_run_time FROM {TABLE}")).all()
    prefix = job_id(0)[:-1]
    return {
        int(key.removeprefix(prefix)): datetime.fromtimestamp(due, UTC) if due is not None else None
        for key, due in rows
        if key.startswith(prefix)
    }
