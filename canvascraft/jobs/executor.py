"""Executors: the narrow seam (start, poll, cancel) between the job pool and whatever runs processes.

Local subprocesses now; a Ray cluster later implements the same three calls, so the pool never learns
where a job runs. A handle is an opaque string the pool stores in the job row, so any pool process can
poll or cancel a job another one started.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from canvascraft.jobs import warm
from canvascraft.jobs.processes import ExitInfo, process_stat

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
"""Where ``python -m jobs.<name>`` resolves: the top-level ``jobs`` package lives beside ``canvascraft``."""

# Children started by this OS process, shared by every executor in it: only the parent can reap a child
# and read its exit status, so every pool in one server process must see the same Popen objects.
_CHILDREN: dict[str, subprocess.Popen[bytes]] = {}
_CHILDREN_LOCK = threading.Lock()


class Executor(Protocol):
    """What the pool needs from a place that runs job processes; calls never block for long."""

    def start(
        self, job_id: int, command: Sequence[str], log_path: Path, *, env: Mapping[str, str] | None = None
    ) -> str:
        """Start ``command`` with stdout and stderr appended to ``log_path``; return a handle."""
        ...

    def poll(self, handle: str) -> ExitInfo | None:
        """``None`` while the job runs; how it ended once it has."""
        ...

    def cancel(self, handle: str, grace_s: float) -> None:
        """Ask the job to stop now and make sure it is stopped ``grace_s`` seconds later; returns at once."""
        ...


@dataclass(frozen=True)
class _LocalHandle:
    """``local:`` a child of the pool process ``owner``; ``warm:`` forked by the warm server, with its
    own supervisor as ``owner``."""

    pid: int
    start_ticks: int
    owner_pid: int
    owner_ticks: int
    scheme: str = "local"

    def __str__(self) -> str:
        return f"{self.scheme}:{self.pid}:{self.start_ticks}:{self.owner_pid}:{self.owner_ticks}"

    @classmethod
    def parse(cls, handle: str) -> _LocalHandle:
        scheme, *numbers = handle.split(":")
        if scheme not in ("local", "warm") or len(numbers) != 4:
            raise ValueError(f"Not a local process handle: {handle!r}.")
        pid, ticks, owner, owner_ticks = (int(number) for number in numbers)
        return cls(pid, ticks, owner, owner_ticks, scheme)


def _same_process(pid: int, ticks: int) -> tuple[str, int] | None:
    stat = process_stat(pid)
    if stat is None or (ticks and stat[1] and stat[1] != ticks):
        return None
    return stat


class LocalProcessExecutor:
    """Runs each job as a process in its own session, so signals reach the job and its workers
    (process group) and never the studio, and a studio restart does not take running jobs down.

    With ``warm`` a Python job is forked from the warm server (``canvascraft.jobs.warm``), which has
    imported torch and MLflow already, and a supervisor of its own records how it ended; if that path
    fails the job starts as a fresh interpreter, this process's child, as without ``warm``."""

    def __init__(self, cwd: Path = REPO_ROOT, *, warm: bool = False) -> None:
        self.cwd = cwd
        self.warm = warm

    def start(
        self, job_id: int, command: Sequence[str], log_path: Path, *, env: Mapping[str, str] | None = None
    ) -> str:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        child_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        if self.warm and warm.can_start(command):
            try:
                pid, ticks, supervisor, supervisor_ticks = warm.start(command, child_env, self.cwd, log_path)
                return str(_LocalHandle(pid, ticks, supervisor, supervisor_ticks, "warm"))
            except warm.WarmStartError as error:
                log.warning("job %s starts as a fresh interpreter: %s", job_id, error)
        with open(log_path, "ab") as log_file:
            process = subprocess.Popen(
                list(command),
                cwd=self.cwd,
                env=child_env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        stat = process_stat(process.pid)
        own = process_stat(os.getpid())
        handle = str(_LocalHandle(process.pid, stat[1] if stat else 0, os.getpid(), own[1] if own else 0))
        with _CHILDREN_LOCK:
            _CHILDREN[handle] = process
        return handle

    def poll(self, handle: str) -> ExitInfo | None:
        with _CHILDREN_LOCK:
            process = _CHILDREN.get(handle)
        if process is not None:
            # Kept after exit: another pool in this process may poll the same handle before the first
            # one has recorded the outcome, and it must read the same exit status, not "lost".
            code = process.poll()
            if code is None:
                return None
            return ExitInfo(signal=-code) if code < 0 else ExitInfo(exit_code=code)
        parsed = _LocalHandle.parse(handle)
        if parsed.scheme == "warm":
            return warm.poll(parsed.pid, parsed.start_ticks, parsed.owner_pid, parsed.owner_ticks)
        return self._poll_foreign(parsed)

    def _poll_foreign(self, parsed: _LocalHandle) -> ExitInfo | None:
        """A job another pool process started: its parent reaps it and knows how it ended, so wait for
        the parent while it lives; once the parent is gone, a vanished process can only be ``lost``."""
        owner_alive = parsed.owner_pid != os.getpid() and _same_process(parsed.owner_pid, parsed.owner_ticks)
        stat = _same_process(parsed.pid, parsed.start_ticks)
        if owner_alive:
            return None
        if stat is not None and stat[0] != "Z":
            return None  # an orphan still running: nobody can reap it here, so keep waiting
        return ExitInfo(lost=True)

    def cancel(self, handle: str, grace_s: float) -> None:
        parsed = _LocalHandle.parse(handle)
        self._signal(parsed, signal.SIGTERM)
        if grace_s <= 0:
            self._signal(parsed, signal.SIGKILL)
            return
        timer = threading.Timer(grace_s, self._signal, args=(parsed, signal.SIGKILL))
        timer.daemon = True
        timer.start()

    def _signal(self, parsed: _LocalHandle, signum: int) -> None:
        """Signal the job's process group, but only if its leader is still the process we started."""
        stat = _same_process(parsed.pid, parsed.start_ticks)
        if stat is None or stat[0] == "Z":
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(parsed.pid, signum)
