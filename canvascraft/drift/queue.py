"""Drift checks as pool jobs: reserve a queued check, hand it to the pool, claim a schedule's tick, and
fail what a job that died left unfinished.

A check runs as a ``drift`` job (``jobs/drift.py``) in its own lane, one at a time, so neither a page
nor the scheduler's thread waits on one. Several studios may fire the same scheduled tick: the tick is
*claimed* by a conditional update of the monitor's ``claimed_slot``, so exactly one of them queues it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from canvascraft.drift.views import model_ref
from canvascraft.jobs.pool import JobPool
from canvascraft.observability.logs import correlation
from canvascraft.store.models import DriftCheck, DriftMonitor, utcnow
from canvascraft.store.session import open_session

DRIFT_LANE = "drift"
FINISHED = ("done", "no_data", "failed")
ORIGIN = datetime(2020, 1, 1, tzinfo=UTC)
"""Interval ticks are counted from here, so every studio computes the same tick for the same moment."""
CRON_SLOT_S = 60
"""Crontab lines fire at most once a minute."""


def slot_of(every_s: int | None, now: datetime) -> int:
    """The tick ``now`` belongs to, as epoch seconds: every studio running this tick gets the same one."""
    seconds = int(now.timestamp())
    if every_s is None:
        return seconds - seconds % CRON_SLOT_S
    origin = int(ORIGIN.timestamp())
    return origin + (seconds - origin) // every_s * every_s


def new_check(session: Session, row: DriftMonitor, trigger: str) -> DriftCheck:
    """A queued check row of the watched model ``row`` (its id is set; nothing is submitted)."""
    check = DriftCheck(
        monitor_id=row.id,
        model_name=row.model_name,
        model_ref=model_ref(row.model_name, row.alias),
        current="",
        trigger=trigger,
        state="queued",
        created_at=utcnow(),
        sentences=[],
        skipped=[],
        detail={},
    )
    session.add(check)
    session.flush()
    return check


def reserve(session: Session, row: DriftMonitor, trigger: str) -> tuple[int, bool]:
    """A queued check of ``row``: ``(id, True)`` for a new one, or the one already waiting to start."""
    waiting = session.scalar(
        select(DriftCheck).where(DriftCheck.monitor_id == row.id, DriftCheck.state == "queued")
    )
    if waiting is not None:
        return int(waiting.id), False
    return int(new_check(session, row, trigger).id), True


def submit(check_id: int) -> None:
    """Hand a reserved check to the pool (after its row is committed: the pool writes on its own
    connection). Checks run one at a time in their own lane, beside training jobs. A check starts a
    chain of work (its drift, alerts, a retrain) unless it is queued inside one already: its job, and
    what that job's end publishes, carry the chain's correlation id."""
    with correlation(step=f"drift check {check_id}"):
        job_id = JobPool().submit("drift", {"check_id": check_id}, lane=DRIFT_LANE, lane_limit=1)
    with open_session() as session:
        session.execute(update(DriftCheck).where(DriftCheck.id == check_id).values(job_id=job_id))


def enqueue_scheduled(monitor_id: int, now: datetime | None = None) -> int | None:
    """A schedule's tick: claim it (only one studio per tick wins) and queue the check. None when the
    monitor is gone or paused, or another studio took this tick."""
    now = now or datetime.now(UTC)
    with open_session() as session:
        row = session.get(DriftMonitor, monitor_id)
        if row is None or row.paused or (row.every_s is None and row.cron is None):
            return None
        slot = slot_of(row.every_s, now)
        claimed = session.execute(
            update(DriftMonitor)
            .where(DriftMonitor.id == monitor_id)
            .where((DriftMonitor.claimed_slot.is_(None)) | (DriftMonitor.claimed_slot < slot))
            .values(claimed_slot=slot)
        )
        if claimed.rowcount != 1:
            return None
        check_id, new = reserve(session, row, "schedule")
    if new:
        submit(check_id)
    return check_id


def finish(check: DriftCheck, state: str, error: str | None = None) -> None:
    """Set a check's final state (in the caller's session)."""
    check.state, check.error, check.finished_at = state, error, utcnow()


def fail_unfinished(check_id: int, reason: str) -> None:
    """Mark a check failed when its job ended without finishing it (killed, lost, cancelled), so no check
    stays queued or running forever; a finished check is left as it is."""
    with open_session() as session:
        check = session.get(DriftCheck, check_id)
        if check is not None and check.state not in FINISHED:
            finish(check, "failed", error=reason)
