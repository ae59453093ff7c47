"""The ``sleep`` kind: a job that sleeps and exits as told (``jobs/sleep.py``), to exercise the pool."""

from canvascraft.jobs.kinds import JobKind, register_kind

SLEEP = register_kind(JobKind("sleep", "jobs.sleep", "Sleeps, prints and exits as its spec says."))
