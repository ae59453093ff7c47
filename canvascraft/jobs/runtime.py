"""What a job process uses to talk back: read its spec once, then report heartbeat and progress.

The job only writes its own bookkeeping columns; the state is the pool's to change, so a job can never
mark itself finished while its process is still doing work.

A database that stays locked longer than its busy timeout (a backup, a long write elsewhere) must not
end a job: a progress or heartbeat write that cannot get through is skipped with a line in the log
(the next one carries the whole progress again), and the writes a job cannot do without (its MLflow
run id) are retried until the database answers.
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import OperationalError

from canvascraft.config import get_settings
from canvascraft.errors import Cancelled, JobError
from canvascraft.jobs.processes import ExitInfo, read_exit_record, write_exit_record
from canvascraft.observability.logs import configure_logging, flush_traces, process_context
from canvascraft.store.models import Job, utcnow
from canvascraft.store.session import disk_full_message, engine_for, is_disk_full, refusal, write

log = logging.getLogger(__name__)
CANCELLED_EXIT_CODE = 128 + signal.SIGTERM


def stop_on_sigterm() -> None:
    """Turn SIGTERM into ``Cancelled`` so a job can close what it holds (an MLflow run) on cancel;
    the pool still sends SIGKILL after the grace period if the job takes too long."""

    def _raise(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
        raise Cancelled()

    signal.signal(signal.SIGTERM, _raise)


def begin_job(job_id: int, url: str | None = None) -> dict[str, Any]:
    """Announce this process (pid, host, first heartbeat) and return the job's spec."""

    def announce(connection: Connection) -> Any:
        spec = connection.execute(select(Job.spec).where(Job.id == job_id)).scalar_one_or_none()
        if spec is not None:
            connection.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(pid=os.getpid(), host=socket.gethostname(), heartbeat_at=utcnow())
            )
        return spec

    spec = write(url or get_settings().db_url, announce, tries=JOB_WRITE_TRIES)
    if spec is None:
        raise JobError(f"Job {job_id} does not exist; start jobs through the job pool.")
    return dict(spec)


RETRY_S = 1.0
"""Pause between tries of a write the job cannot do without, while the database stays locked."""
JOB_WRITE_TRIES = 40
"""Tries (a busy timeout each, pauses up to two seconds between) of announcing the job's process: a job
that started must not die of a database someone else holds locked for a minute."""


def _write(job_id: int, values: dict[str, Any], url: str | None) -> None:
    with engine_for(url or get_settings().db_url).begin() as connection:
        connection.execute(update(Job).where(Job.id == job_id).values(**values))


def report_progress(job_id: int, progress: dict[str, Any] | None = None, url: str | None = None) -> bool:
    """Refresh the heartbeat and, when given, replace the progress the page shows. Returns False when
    the database stayed locked past its busy timeout: the write is skipped, never the job."""
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if progress is not None:
        values["progress"] = progress
    try:
        _write(job_id, values, url)
    except OperationalError as error:
        print(f"job {job_id}: the studio database is busy ({refusal(error)}); this progress update "
              "is skipped and the work goes on", flush=True)  # fmt: skip
        return False
    return True


def set_run_id(job_id: int, run_id: str, url: str | None = None, tries: int = 600) -> None:
    """Record the job's MLflow run id as soon as it exists, so a resume can reopen that run; retried
    while the database is locked (about ``tries`` busy timeouts at most, then the error stands)."""
    for attempt in range(1, tries + 1):
        try:
            _write(job_id, {"mlflow_run_id": run_id}, url)
            return
        except OperationalError as error:
            if attempt == tries or is_disk_full(error):  # waiting does not free disk space
                raise
            print(f"job {job_id}: the studio database is busy ({refusal(error)}); trying again",
                  flush=True)  # fmt: skip
            time.sleep(RETRY_S)


def exit_file(log_path: str | Path) -> Path:
    """Where a job leaves its exit code: a pool that did not start the process cannot reap it, so
    without this a job that ended well after its starting CLI exited could only be called lost."""
    return Path(log_path).with_suffix(".exit")


def read_exit_info(log_path: str | Path) -> ExitInfo | None:
    """How the job whose log is ``log_path`` said it ended, if it got as far as saying."""
    return read_exit_record(exit_file(log_path))


def limit_memory() -> None:
    """Apply ``CANVASCRAFT_JOB_MEMORY_LIMIT_MB`` to this job process (fresh or forked warm), so a job
    that needs more gets a ``MemoryError`` it can report instead of the system's OOM killer."""
    limit_mb = get_settings().job_memory_limit_mb
    if limit_mb is not None:
        # Above what is mapped already: a warm-forked job maps gigabytes of torch it never touches.
        mapped = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
        limit = mapped + limit_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))


def run_job(main: Callable[[int], int]) -> NoReturn:
    """The body of every ``python -m jobs.<kind> JOB_ID``: run ``main``, record its exit code, exit.

    It runs in the chain the job was queued in (``canvascraft.observability.logs``), with JSON log
    lines in the studio log; the job's own log file gets what it printed, as before."""
    job_id = int(sys.argv[1])
    configure_logging("job")
    with process_context(job_id, step=f"job {job_id}"):
        log.info("job %s process %s started", job_id, os.getpid())
        try:
            limit_memory()
            code = main(job_id)
        except Cancelled:
            print(f"job {job_id}: cancelled", flush=True)
            code = CANCELLED_EXIT_CODE
        except MemoryError:  # the traceback's last line is all MemoryError has to say
            traceback.print_exc()
            print(f"job {job_id}: stopped: MemoryError: it ran out of memory", flush=True)
            code = 1
        except Exception as error:
            traceback.print_exc()
            if is_disk_full(error):  # the plain reason last, where the pool and the pages read it
                where = get_settings().workspace.resolve()
                print(f"job {job_id}: stopped: {disk_full_message(where)}", flush=True)
            code = 1
        log.info("job %s process ended with exit code %s", job_id, code)
    sys.stdout.flush()
    with engine_for(get_settings().db_url).connect() as connection:
        log_path = connection.execute(select(Job.log_path).where(Job.id == job_id)).scalar_one_or_none()
    if log_path:
        try:
            write_exit_record(exit_file(log_path), ExitInfo(exit_code=code))
        except OSError as error:  # a full disk: the pool that started this process still reaps it
            print(f"job {job_id}: could not record the exit code ({error})", flush=True)
    flush_traces()
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything is written and closed by now; tearing down torch's and MLflow's modules would take
    # seconds that the next queued job would wait for.
    os._exit(code)
