"""``ExecutorContract``: what the job pool relies on from any place that runs job processes.

An executor's test subclasses it and provides the ``executor`` fixture (a fresh executor for this
machine or cluster); the commands are small Python programs run with the test's own interpreter, so
the checks need nothing but the executor itself.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from canvascraft.jobs.executor import Executor, ExitInfo

WAIT_S = 60.0
"""Longest any check waits for a process to end (generous: a busy machine starts Python slowly)."""


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def wait_until_done(executor: Executor, handle: str, timeout_s: float = WAIT_S) -> ExitInfo:
    deadline = time.monotonic() + timeout_s
    while (info := executor.poll(handle)) is None:
        assert time.monotonic() < deadline, f"{handle} still runs after {timeout_s:g} s"
        time.sleep(0.05)
    return info


class ExecutorContract:
    """Each check starts real processes through ``executor`` and reads only what the pool reads:
    the handle, ``poll`` and the log file."""

    def test_a_command_runs_with_its_env_and_appends_to_the_log(
        self, executor: Executor, tmp_path: Path
    ) -> None:
        log = tmp_path / "job.log"
        log.write_text("earlier line\n")
        code = "import os; print('hello', os.environ['CANVASCRAFT_CONTRACT'], flush=True)"
        handle = executor.start(1, python(code), log, env={"CANVASCRAFT_CONTRACT": "yes"})
        assert isinstance(handle, str) and handle
        assert wait_until_done(executor, handle) == ExitInfo(exit_code=0)
        assert log.read_text().splitlines()[:2] == ["earlier line", "hello yes"]

    def test_poll_is_none_while_it_runs_then_the_exit_code(self, executor: Executor, tmp_path: Path) -> None:
        handle = executor.start(
            2, python("import time, sys; time.sleep(1.0); sys.exit(3)"), tmp_path / "j.log"
        )
        assert executor.poll(handle) is None
        info = wait_until_done(executor, handle)
        assert (info.exit_code, info.signal, info.lost, info.ok) == (3, None, False, False)

    def test_cancel_stops_the_job_with_sigterm(self, executor: Executor, tmp_path: Path) -> None:
        log = tmp_path / "j.log"
        code = "import time; print('up', flush=True); time.sleep(60)"
        handle = executor.start(3, python(code), log)
        deadline = time.monotonic() + WAIT_S
        while "up" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        executor.cancel(handle, 5.0)
        info = wait_until_done(executor, handle)
        assert info.signal == signal.SIGTERM or info.exit_code == 128 + signal.SIGTERM

    def test_a_job_that_ignores_sigterm_is_killed_after_the_grace(
        self, executor: Executor, tmp_path: Path
    ) -> None:
        log = tmp_path / "j.log"
        code = (
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('up', flush=True); time.sleep(60)"
        )
        handle = executor.start(4, python(code), log)
        deadline = time.monotonic() + WAIT_S
        while "up" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        executor.cancel(handle, 0.5)
        assert wait_until_done(executor, handle, timeout_s=30).signal == signal.SIGKILL

    def test_a_command_that_cannot_start_raises_at_once(self, executor: Executor, tmp_path: Path) -> None:
        try:
            handle = executor.start(5, [str(tmp_path / "no-such-program")], tmp_path / "j.log")
        except Exception:
            return  # refusing to start is one allowed answer; a job that ends badly is the other
        assert not wait_until_done(executor, handle).ok
