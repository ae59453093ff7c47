"""Helpers shared by the job tests: drive a real pool until a job reaches a state, with a bound."""

from __future__ import annotations

import time
from collections.abc import Callable

from canvascraft.jobs import JobPool, JobState
from canvascraft.store.models import Job

WAIT_S = 60.0  # a hang guard: the first job of a worker waits for the warm job server to import torch


def wait_for(pool: JobPool, job_id: int, ready: Callable[[Job], bool], timeout: float = WAIT_S) -> Job:
    """Tick until ``ready(job)``; bounded, so a broken pool fails the test instead of hanging it."""
    deadline = time.monotonic() + timeout
    while True:
        pool.tick()
        job = pool.get_job(job_id)
        if ready(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stuck in {job.state} (progress {job.progress})")
        time.sleep(0.05)


def finished(job: Job) -> bool:
    return job.state not in (JobState.QUEUED, JobState.RUNNING)
