"""The studio's background scheduler: one per server process, started with the app.

It moves the job queue on while nobody watches: ended jobs are recorded and queued ones start
within a second, whether or not a page is open. Several studio processes on one workspace may each
run one; the pool's conditional updates make their ticks safe to overlap.
"""

from __future__ import annotations

import logging
import threading

from apscheduler.schedulers.background import BackgroundScheduler

from canvascraft.config import get_settings

log = logging.getLogger(__name__)
POOL_TICK_ID = "job-pool-tick"
BACKGROUND_JOBS = (POOL_TICK_ID,)
_running: BackgroundScheduler | None = None
_lock = threading.Lock()


def tick_job_pool() -> None:
    """Record ended jobs, start queued ones; an error is logged and the next tick tries again."""
    from canvascraft.services.jobs import tick

    try:
        tick()
    except Exception:
        log.exception("job pool tick failed; retrying on the next tick")


def start_background(pool_tick_s: float | None = None) -> BackgroundScheduler:
    """Start this process's scheduler with the pool tick (skipped when the interval is 0) and return
    it; a second call returns the running one. The launcher calls it as the server starts, so queued
    jobs start before anyone opens a page."""
    global _running
    with _lock:
        if _running is None or not _running.running:
            _running = _start(get_settings().pool_tick_s if pool_tick_s is None else pool_tick_s)
        return _running


def _start(interval: float) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(daemon=True)
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
    scheduler.start()
    return scheduler
