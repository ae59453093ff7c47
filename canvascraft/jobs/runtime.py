"""What a job process uses to talk back: read its spec once, then report heartbeat and progress.

The job only writes its own bookkeeping columns; the state is the pool's to change, so a job can never
mark itself finished while its process is still doing work.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from sqlalchemy import select, update

from canvascraft.config import get_settings
from canvascraft.jobs.states import JobError
from canvascraft.store.models import Job, utcnow
from canvascraft.store.session import engine_for


def begin_job(job_id: int, url: str | None = None) -> dict[str, Any]:
    """Announce this process (pid, host, first heartbeat) and return the job's spec."""
    engine = engine_for(url or get_settings().db_url)
    with engine.begin() as connection:
        spec = connection.execute(select(Job.spec).where(Job.id == job_id)).scalar_one_or_none()
        if spec is None:
            raise JobError(f"Job {job_id} does not exist; start jobs through the job pool.")
        connection.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(pid=os.getpid(), host=socket.gethostname(), heartbeat_at=utcnow())
        )
    return dict(spec)


def report_progress(job_id: int, progress: dict[str, Any] | None = None, url: str | None = None) -> None:
    """Refresh the heartbeat and, when given, replace the progress the page shows."""
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if progress is not None:
        values["progress"] = progress
    with engine_for(url or get_settings().db_url).begin() as connection:
        connection.execute(update(Job).where(Job.id == job_id).values(**values))
