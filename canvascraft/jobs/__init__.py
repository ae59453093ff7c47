"""Background jobs: the state machine, executors (where processes run) and the pool (what runs when).

Job processes themselves use ``canvascraft.jobs.runtime`` to read their spec and report progress.
"""

from canvascraft.errors import IllegalTransitionError
from canvascraft.jobs.executor import Executor, ExitInfo, LocalProcessExecutor
from canvascraft.jobs.pool import JobPool
from canvascraft.jobs.states import TERMINAL, TRANSITIONS, JobError, JobState, check_transition

__all__ = [
    "TERMINAL",
    "TRANSITIONS",
    "Executor",
    "ExitInfo",
    "IllegalTransitionError",
    "JobError",
    "JobPool",
    "JobState",
    "LocalProcessExecutor",
    "check_transition",
]
