"""How a job ended, in words a user can act on, read from its exit code, signal and log tail."""

from __future__ import annotations

import re
import signal

from canvascraft.config import get_settings
from canvascraft.jobs.runtime import CANCELLED_EXIT_CODE
from canvascraft.jobs.states import JobState
from canvascraft.store.models import Job
from canvascraft.store.session import DISK_FULL_HINTS, disk_full_message

#: The last ``SomeError: message`` line of a Python traceback (module paths allowed).
EXCEPTION_LINE = re.compile(r"^(?:[\w.]+\.)?(\w*(?:Error|Exception|Exit|Interrupt)):\s*(.+)$")
MEMORY_HINTS = ("MemoryError", "out of memory", "Cannot allocate memory")
RESUME_HINT = "Its checkpoints are kept: Resume continues from the last finished epoch."


def explain_ending(job: Job) -> str | None:
    """One or two sentences on why ``job`` ended; ``None`` while it is queued, running or succeeded."""
    state = JobState(job.state)
    tail = job.error_tail or ""
    full = any(hint in tail for hint in (*DISK_FULL_HINTS, "StoreFullError"))
    if full and state in (JobState.FAILED, JobState.LOST):  # the log ends saying the disk is full
        return disk_full_message(get_settings().workspace.resolve())
    if state == JobState.CANCELLED:
        return "Cancelled on request. " + RESUME_HINT
    if state == JobState.LOST:
        return (
            "The studio lost track of this job's process: the machine restarted, or the studio that "
            "started it stopped before the job ended, so how it ended is unknown. " + RESUME_HINT
        )
    if state != JobState.FAILED:
        return None
    if job.signal is not None:
        return _signal_sentence(job.signal, tail)
    if any(hint in tail for hint in MEMORY_HINTS):
        return "It ran out of memory. Try a smaller batch size or fewer items. " + RESUME_HINT
    if job.exit_code == CANCELLED_EXIT_CODE:
        return "It was stopped from outside the studio (SIGTERM). " + RESUME_HINT
    error = _last_exception(tail)
    if error is not None:
        kind, message = error
        return f"It stopped with an error ({kind}): {message}"
    if tail and job.exit_code is None:
        return tail.strip().splitlines()[-1]  # the pool's own note, such as a start failure
    return f"It exited with code {job.exit_code}; the log below shows its last lines."


def _signal_sentence(number: int, tail: str) -> str:
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    if number == signal.SIGKILL:
        return (
            "Its process was killed (SIGKILL): the system ran out of memory, or someone ended it "
            "from outside the studio. " + RESUME_HINT
        )
    return f"Its process was stopped by {name}. " + RESUME_HINT


def _last_exception(tail: str) -> tuple[str, str] | None:
    for line in reversed(tail.splitlines()):
        match = EXCEPTION_LINE.match(line.strip())
        if match:
            return match.group(1), match.group(2)
    return None
