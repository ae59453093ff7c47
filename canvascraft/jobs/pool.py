"""The job pool: a queue in the database plus an executor that runs the jobs.

Nothing calls back into the studio: pages and the CLI call ``tick()`` (or a scheduler does) and read
rows. Every state change is a conditional ``UPDATE … WHERE state = <expected>`` whose row count says
whether this pool won, so several pools on one database never start or finish a job twice.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from canvascraft.auth.identity import current_person
from canvascraft.config import get_settings
from canvascraft.errors import JobBusyError, UnknownJobError, UnknownNameError
from canvascraft.jobs.executor import Executor, ExitInfo, LocalProcessExecutor
from canvascraft.jobs.kinds import get_kind, run_end_hook
from canvascraft.jobs.runtime import read_exit_info
from canvascraft.jobs.states import TERMINAL, JobError, JobState, check_transition
from canvascraft.observability.logs import TRACE_KEY, job_context, job_environment, trace_for_job
from canvascraft.store.models import Job, as_utc, utcnow
from canvascraft.store.session import engine_for, open_session, write

log = logging.getLogger(__name__)
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
ERROR_TAIL_LINES = 20
START_TIMEOUT_S = 60.0
"""A running row with no handle this long after its claim belongs to a pool that died mid-start."""
CLAIM_LOCK_ID = 0x6A6F6273  # PostgreSQL advisory lock serializing claims; the same in every process
HANDLE_WRITE_TRIES = 12
"""Tries of writing a started process's handle: without it the job would be taken for one whose pool
died mid-start, so this write waits out a locked database far longer than a command's own writes."""
MAX_KEY = 128
"""Longest idempotency key (the column's width)."""


@lru_cache(maxsize=1)
def default_executor() -> Executor:
    """One local executor per process, so every pool in a server sees the children it started."""
    return LocalProcessExecutor(warm=get_settings().warm_jobs)


def auto_max_concurrent() -> int:
    """One job per CUDA device, else 1; torch is imported only here, when a pool first needs it."""
    try:
        import torch
    except ImportError:
        return 1
    return max(1, torch.cuda.device_count())


def _seconds_since(moment: datetime | None) -> float:
    aware = as_utc(moment)
    return 0.0 if aware is None else (utcnow() - aware).total_seconds()


def log_tail(path: str | Path | None, lines: int = ERROR_TAIL_LINES) -> str | None:
    """The last ``lines`` lines of a job log, read from its end so a huge log costs little."""
    if not path or not Path(path).exists():
        return None
    with open(path, "rb") as log:
        log.seek(0, 2)
        size = log.tell()
        log.seek(max(0, size - 64 * 1024))
        text = log.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


MAX_ID = 2**63 - 1
"""The largest id a row can have (a signed 64-bit integer, in SQLite and PostgreSQL alike)."""


class JobPool:
    """Queues jobs in the database and runs up to ``max_concurrent`` of them through an executor."""

    def __init__(
        self,
        url: str | None = None,
        *,
        executor: Executor | None = None,
        max_concurrent: int | None = None,
        cancel_grace_s: float | None = None,
        jobs_dir: Path | None = None,
        on_finish: Callable[[int, JobState], None] | None = None,
    ) -> None:
        """When this pool records a job's end (once per job), the job's kind's ``on_end`` runs
        (``canvascraft.jobs.kinds``), then ``on_finish(job_id, state)`` if given; an error in either is
        logged and never stops the tick."""
        settings = get_settings()
        self.on_finish = on_finish
        self.url = url or settings.db_url
        self.executor = executor or default_executor()
        self._max_concurrent = max_concurrent or settings.max_concurrent_jobs
        self.cancel_grace_s = settings.job_cancel_grace_s if cancel_grace_s is None else cancel_grace_s
        self.jobs_dir = jobs_dir or settings.jobs_dir

    @property
    def max_concurrent(self) -> int:
        if self._max_concurrent is None:
            self._max_concurrent = auto_max_concurrent()
        return self._max_concurrent

    # --- queries -------------------------------------------------------------------------------

    def get_job(self, job_id: int) -> Job:
        in_range = 0 < job_id <= MAX_ID  # a bigger number (a typed link) is no id, not a database error
        with open_session(self.url) as session:
            job = session.get(Job, job_id) if in_range else None
        if job is None:
            raise UnknownJobError(f"Job {job_id} does not exist; list jobs to see their ids.")
        return _detached(job)

    def list_jobs(self, states: set[str] | None = None, limit: int | None = None) -> list[Job]:
        """Newest first, optionally only some states."""
        query = select(Job).order_by(Job.id.desc()).limit(limit)
        if states:
            query = query.where(Job.state.in_(sorted(states)))
        with open_session(self.url) as session:
            jobs = list(session.scalars(query))
        return [_detached(job) for job in jobs]

    # --- user actions --------------------------------------------------------------------------

    def submit(
        self,
        kind: str,
        spec: dict[str, Any],
        *,
        resume_from: int | None = None,
        lane: str | None = None,
        lane_limit: int | None = None,
        idempotency_key: str | None = None,
    ) -> int:
        """Queue a job; it starts on a later ``tick()`` when a slot is free.

        A job in a ``lane`` waits for a free slot among that lane's ``lane_limit`` instead of the
        pool's own: a study running trials two at a time gets two slots whatever the pool's limit.
        An ``idempotency_key`` (one per launch request: a form submission) makes a repeat of the same
        request, a double click or two processes at once, return the job it already made; the database's
        unique constraint decides between simultaneous ones."""
        if lane is not None and (lane_limit is None or lane_limit < 1):
            raise JobError(f"Lane {lane!r} needs a limit of at least 1, got {lane_limit}.")
        if not KIND_PATTERN.match(kind):
            raise JobError(
                f"Job kind {kind!r} is not a job entry point name; use lower-case letters, digits and _."
            )
        try:
            get_kind(kind)
        except UnknownNameError as error:
            raise JobError(f"{error}; a kind is declared with canvascraft.jobs.kinds.register_kind") from None
        if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_KEY:
            raise JobError(f"An idempotency key is 1 to {MAX_KEY} characters, got {len(idempotency_key)}.")
        if (trace := trace_for_job()) is not None:  # queued in a chain: its process continues it
            spec = {**spec, TRACE_KEY: trace}
        row = {"kind": kind, "spec": spec, "state": JobState.QUEUED.value, "created_at": utcnow(),
               "resume_from": resume_from, "lane": lane, "lane_limit": lane_limit,
               "idempotency_key": idempotency_key, "subject": current_person().subject}  # fmt: skip

        def keyed(connection: Connection) -> Any:
            return connection.execute(select(Job.id).where(Job.idempotency_key == idempotency_key)).scalar()

        def insert_job(connection: Connection) -> Any:
            if idempotency_key is not None and (existing := keyed(connection)) is not None:
                return existing
            result = connection.execute(insert(Job).values(**row))
            return result.inserted_primary_key[0] if result.inserted_primary_key else None

        try:
            job_id = write(self.url, insert_job)
        except IntegrityError:
            if idempotency_key is None:
                raise
            job_id = write(self.url, keyed)  # another process inserted it between our look and insert
        if job_id is None:
            raise JobError("The database did not return the new job's id; check the database connection.")
        log.info("job %s (%s) queued", job_id, kind, extra={"job_id": int(job_id)})
        return int(job_id)

    def resume(self, job_id: int) -> int:
        """A new queued job with the old one's spec plus ``resume_from``; the old record stays final."""
        old = self.get_job(job_id)
        if JobState(old.state) not in TERMINAL:
            raise JobBusyError(
                f"Job {job_id} is still {old.state}; cancel it or wait for it before resuming."
            )
        return self.submit(
            old.kind, {**old.spec, "resume_from": job_id}, resume_from=job_id, lane=old.lane,
            lane_limit=old.lane_limit,
        )  # fmt: skip

    def cancel(self, job_id: int) -> None:
        """Cancel a queued job at once; ask a running one to stop (SIGTERM, SIGKILL after the grace).

        A running job becomes ``cancelled`` when a later ``tick()`` sees its process gone."""
        job = self.get_job(job_id)
        if job.state == JobState.QUEUED:
            if self._finish(job_id, JobState.QUEUED, JobState.CANCELLED):
                return
            job = self.get_job(job_id)  # claimed meanwhile: cancel it as a running job
        if job.state != JobState.RUNNING:
            check_transition(job.state, JobState.CANCELLED, job_id)
        write(self.url, lambda connection: connection.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.RUNNING.value, Job.cancel_requested_at.is_(None))
            .values(cancel_requested_at=utcnow())
        ))  # fmt: skip
        if job.handle:
            self.executor.cancel(job.handle, self.cancel_grace_s)

    def wait(
        self,
        job_id: int,
        on_progress: Callable[[Job], None] | None = None,
        timeout_s: float | None = None,
        *,
        poll_s: float = 0.5,
    ) -> Job:
        """Tick until the job is final (no studio needed); ``on_progress`` sees each new progress."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        seen: Any = None
        while True:
            self.tick()
            job = self.get_job(job_id)
            if on_progress is not None and job.progress and job.progress != seen:
                seen = job.progress
                on_progress(job)
            if JobState(job.state) in TERMINAL:
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise JobError(f"Job {job_id} is still {job.state} after {timeout_s:g} s; it keeps running.")
            time.sleep(poll_s)

    # --- the loop ------------------------------------------------------------------------------

    def tick(self) -> None:
        """Record jobs that ended, then start queued ones into the free slots."""
        self._check_running()
        for job_id, kind, log_path in self._claim():
            self._launch(job_id, kind, Path(log_path))

    def _check_running(self) -> None:
        with engine_for(self.url).connect() as connection:
            running = connection.execute(
                select(Job.id, Job.handle, Job.started_at, Job.cancel_requested_at, Job.log_path).where(
                    Job.state == JobState.RUNNING.value
                )
            ).all()
        for job_id, handle, started_at, cancel_requested_at, log_path in running:
            if handle is None:
                if _seconds_since(started_at) > START_TIMEOUT_S:
                    self._finish(
                        job_id,
                        JobState.RUNNING,
                        JobState.LOST,
                        error_tail="The pool that claimed this job stopped before starting its process.",
                    )
                continue
            info = self.executor.poll(handle)
            if info is None:
                if (
                    cancel_requested_at is not None
                    and _seconds_since(cancel_requested_at) > self.cancel_grace_s
                ):
                    self.executor.cancel(handle, 0)  # the pool that asked may have exited before its timer
                continue
            if info.lost and (recorded := read_exit_info(log_path)) is not None:
                info = recorded  # it ended on its own after the pool that started it exited
            target = _outcome(info, cancelled=cancel_requested_at is not None)
            tail = log_tail(log_path) if target in (JobState.FAILED, JobState.LOST) else None
            self._finish(job_id, JobState.RUNNING, target, info=info, error_tail=tail)

    def _claim(self) -> list[tuple[int, str, str]]:
        """Move the oldest queued jobs into the free slots, under a database-wide lock so concurrent
        pools agree on the running count; the ``state = 'queued'`` guard is the last line of defence."""
        return write(self.url, self._claim_in)

    def _claim_in(self, connection: Connection) -> list[tuple[int, str, str]]:
        """One claim transaction; ``write`` runs it again from the start while the database is locked."""
        claimed: list[tuple[int, str, str]] = []
        _lock_claims(connection)
        running = Counter(
            connection.execute(select(Job.lane).where(Job.state == JobState.RUNNING.value)).scalars()
        )
        queued = connection.execute(
            select(Job.id, Job.kind, Job.lane, Job.lane_limit)
            .where(Job.state == JobState.QUEUED.value)
            .order_by(Job.id)
        ).all()
        for job_id, kind, lane, lane_limit in queued:
            limit = self.max_concurrent if lane is None else lane_limit or 1
            if running[lane] >= limit:
                continue
            log_path = str(self.jobs_dir / f"{job_id}.log")
            result = connection.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == JobState.QUEUED.value)
                .values(state=JobState.RUNNING.value, started_at=utcnow(), log_path=log_path)
            )
            if result.rowcount == 1:
                claimed.append((job_id, kind, log_path))
                running[lane] += 1
        return claimed

    def _launch(self, job_id: int, kind: str, log_path: Path) -> None:
        spec = _spec_of(self.url, job_id)
        with job_context(spec, job_id, f"launch {kind} job"):
            self._start(job_id, kind, log_path, spec)

    def _start(self, job_id: int, kind: str, log_path: Path, spec: dict[str, Any]) -> None:
        try:
            command = [sys.executable, "-m", get_kind(kind).entry, str(job_id)]
            env = {"CANVASCRAFT_DATABASE_URL": self.url, **job_environment(spec)}
            handle = self.executor.start(job_id, command, log_path, env=env)
            log.info("job %s (%s) started", job_id, kind)
        except Exception as error:  # any failure to start is the job's outcome, not the pool's crash
            self._finish(
                job_id, JobState.RUNNING, JobState.FAILED, error_tail=f"Could not start the job: {error}"
            )
            return

        def record(connection: Connection) -> datetime | None:
            connection.execute(update(Job).where(Job.id == job_id).values(handle=handle))
            return connection.execute(select(Job.cancel_requested_at).where(Job.id == job_id)).scalar_one()

        cancel_requested = write(self.url, record, tries=HANDLE_WRITE_TRIES)
        if cancel_requested is not None:
            self.executor.cancel(handle, self.cancel_grace_s)

    def _finish(
        self,
        job_id: int,
        current: JobState,
        target: JobState,
        *,
        info: ExitInfo | None = None,
        error_tail: str | None = None,
    ) -> bool:
        """Conditionally move ``current → target``; ``False`` when another pool got there first."""
        check_transition(current, target, job_id)
        code, signal = (info.exit_code, info.signal) if info else (None, None)
        ending = {"state": target.value, "finished_at": utcnow(), "error_tail": error_tail,
                  "exit_code": code, "signal": signal}  # fmt: skip
        won = write(self.url, lambda connection: connection.execute(
            update(Job).where(Job.id == job_id, Job.state == current.value).values(**ending)
        ).rowcount == 1)  # fmt: skip
        if won:
            job = self.get_job(job_id)
            with job_context(job.spec, job_id, f"end of {job.kind} job"):  # its events join its chain
                log.info("job %s (%s) ended %s", job_id, job.kind, target.value)
                run_end_hook(job, target)
                if self.on_finish is not None:
                    try:
                        self.on_finish(job_id, target)
                    except Exception:  # bookkeeping after the fact must never stall the queue
                        traceback.print_exc()
        return won


def _spec_of(url: str, job_id: int) -> dict[str, Any]:
    with engine_for(url).connect() as connection:
        spec = connection.execute(select(Job.spec).where(Job.id == job_id)).scalar_one_or_none()
    return dict(spec or {})


def _outcome(info: ExitInfo, *, cancelled: bool) -> JobState:
    if cancelled:
        return JobState.CANCELLED
    if info.lost:
        return JobState.LOST
    return JobState.SUCCEEDED if info.ok else JobState.FAILED


def _lock_claims(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({CLAIM_LOCK_ID})")


def _detached(job: Job) -> Job:
    """Give a job read after its session closed timezone-aware times on every backend."""
    for name in ("created_at", "started_at", "finished_at", "heartbeat_at", "cancel_requested_at"):
        setattr(job, name, as_utc(getattr(job, name)))
    return job
