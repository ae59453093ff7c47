"""The studio's background scheduler: one per server process, started with the app.

It moves the job queue on while nobody watches: ended jobs are recorded and queued ones start
within a second, whether or not a page is open. Several studio processes on one workspace may each
run one; the pool's conditional updates make their ticks safe to overlap.
"""

from __future__ import annotations

import logging
import os
import threading

from apscheduler.schedulers.background import BackgroundScheduler

from canvascraft.config import get_settings

log = logging.getLogger(__name__)
POOL_TICK_ID = "job-pool-tick"
WAKE_ID = "schedule-store-wake"
WAKE_S = 5.0
"""Without a faster pool tick, the scheduler still wakes this often to see schedules another process
(the CLI, a second studio) wrote to the shared job store."""
ALERT_OUTBOX_ID = "alert-outbox"
BACKGROUND_JOBS = (POOL_TICK_ID, ALERT_OUTBOX_ID)
_running: BackgroundScheduler | None = None
_lock = threading.Lock()


class OverlappingTickFilter(logging.Filter):
    """Drops APScheduler's "skipped: maximum number of running instances reached" warning for the
    studio's own ticks (``BACKGROUND_JOBS``): a tick that runs longer than its interval (a job being
    started, a slow disk) makes the next one skip, which is what ``max_instances=1`` is for. ``make
    run``'s console showed it 16 times in one session. Any other job's skip is still a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "maximum number of running instances" not in str(record.msg):
            return True
        job = record.args[0] if isinstance(record.args, tuple) and record.args else None
        return getattr(job, "id", None) not in BACKGROUND_JOBS


_SKIP_FILTER = OverlappingTickFilter()


def quiet_overlapping_ticks() -> None:
    """Install ``OverlappingTickFilter`` on APScheduler's scheduler logger (once)."""
    logger = logging.getLogger("apscheduler.scheduler")
    if _SKIP_FILTER not in logger.filters:
        logger.addFilter(_SKIP_FILTER)


def tick_job_pool() -> None:
    """Record ended jobs, start queued ones; an error is logged and the next tick tries again."""
    from canvascraft.jobs.pool import JobPool

    try:
        JobPool().tick()
    except Exception:
        log.exception("job pool tick failed; retrying on the next tick")


def deliver_alerts() -> None:
    """Send alert deliveries whose next try has come, so an endpoint back up gets what it missed."""
    from canvascraft.events.outbox import deliver_due

    try:
        deliver_due()
    except Exception:
        log.exception("alert outbox round failed; retrying on the next round")


def start_background(pool_tick_s: float | None = None) -> BackgroundScheduler:
    """Start this process's scheduler with the pool tick (skipped when the interval is 0) and, unless
    ``drift_schedules`` is off, the workspace's drift schedules; return it. A second call returns the
    running one. The launcher calls it as the server starts, so queued jobs start and scheduled checks
    run before anyone opens a page."""
    global _running
    with _lock:
        if _running is None or not _running.running:
            settings = get_settings()
            _running = _start(
                settings.pool_tick_s if pool_tick_s is None else pool_tick_s, settings.drift_schedules
            )
        return _running


def running_scheduler() -> BackgroundScheduler | None:
    """This process's background scheduler when it runs, else None."""
    return _running if _running is not None and _running.running else None


def _wake() -> None:
    """Nothing to do: running at all makes the scheduler read the job stores again."""


def _start(interval: float, drift_schedules: bool = True) -> BackgroundScheduler:
    quiet_overlapping_ticks()
    scheduler = BackgroundScheduler(daemon=True)
    if drift_schedules:
        from canvascraft.scheduler.drift import attach

        attach(scheduler)
        if not 0 < interval <= WAKE_S:
            scheduler.add_job(_wake, "interval", seconds=WAKE_S, id=WAKE_ID, max_instances=1, coalesce=True)
    if interval > 0:
        # One tick at a time; ticks missed while one ran long are dropped, not queued up.
        scheduler.add_job(
            tick_job_pool,
            "interval",
            seconds=interval,
            id=POOL_TICK_ID,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
    if (alert_retry_s := get_settings().alert_retry_s) > 0:
        scheduler.add_job(
            deliver_alerts,
            "interval",
            seconds=alert_retry_s,
            id=ALERT_OUTBOX_ID,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
    scheduler.start()
    if interval > 0 and get_settings().warm_jobs:
        # A job launched in the first minute should not wait for the warm server's imports either.
        threading.Thread(target=warm_up_jobs, name="warm-jobs", daemon=True).start()
    return scheduler


def warm_up_jobs() -> None:
    """Start the warm job server now, in the background; a failure only means slower first jobs."""
    from canvascraft.jobs import warm

    try:
        warm.prepare(dict(os.environ))
    except (OSError, warm.WarmStartError) as error:
        log.warning("jobs will start as fresh interpreters: %s", error)
