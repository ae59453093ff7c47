"""The job pool with real ``python -m jobs.sleep`` processes on a real database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from canvascraft.jobs import (
    TRANSITIONS,
    IllegalTransitionError,
    JobError,
    JobPool,
    JobState,
    LocalProcessExecutor,
    check_transition,
)
from canvascraft.jobs.executor import REPO_ROOT
from canvascraft.jobs.reasons import explain_ending
from canvascraft.store.migrate import upgrade
from canvascraft.store.models import Job
from tests.jobs.helpers import WAIT_S, finished, wait_for


@pytest.fixture
def url(database_url: str) -> str:
    upgrade(database_url)
    return database_url


def sleeping(job: Job) -> bool:
    """Running, and its process has announced itself (pid written, SIGTERM handler installed)."""
    return job.state == JobState.RUNNING and job.progress is not None


def test_job_runs_and_succeeds_with_its_log_kept(url: str, workspace: Path) -> None:
    pool = JobPool(url, max_concurrent=2)
    job_id = pool.submit("sleep", {"seconds": 0.3})
    assert pool.get_job(job_id).state == JobState.QUEUED

    job = wait_for(pool, job_id, finished)

    assert job.state == JobState.SUCCEEDED
    assert (job.exit_code, job.signal, job.error_tail) == (0, None, None)
    assert job.pid and job.host and job.heartbeat_at and job.progress and job.progress["step"] >= 1
    assert job.started_at and job.finished_at and job.created_at <= job.started_at <= job.finished_at
    log = Path(job.log_path or "")
    assert log.parent == workspace / "jobs"
    assert f"job {job_id} started pid {job.pid}" in log.read_text()
    assert f"job {job_id} done, exit code 0" in log.read_text()


def test_max_concurrent_keeps_the_second_job_queued(url: str) -> None:
    pool = JobPool(url, max_concurrent=1)
    first = pool.submit("sleep", {"seconds": 0.5})
    second = pool.submit("sleep", {"seconds": 0.1})

    pool.tick()
    assert [pool.get_job(first).state, pool.get_job(second).state] == [JobState.RUNNING, JobState.QUEUED]

    wait_for(pool, first, finished)
    assert pool.get_job(second).state in (JobState.QUEUED, JobState.RUNNING)
    assert wait_for(pool, second, finished).state == JobState.SUCCEEDED
    assert pool.get_job(first).finished_at <= pool.get_job(second).started_at  # type: ignore[operator]


SUBMIT_ONCE = """
import sys, time
from pathlib import Path
from canvascraft.jobs import JobPool
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.005)
print(JobPool(sys.argv[1]).submit("sleep", {"seconds": 0}, idempotency_key="form-submission-1"))
"""


def test_one_job_per_idempotency_key_for_a_double_click_and_for_two_processes(
    url: str, tmp_path: Path
) -> None:
    pool = JobPool(url, max_concurrent=1)
    first = pool.submit("sleep", {"seconds": 0}, idempotency_key="double-click")
    assert pool.submit("sleep", {"seconds": 0}, idempotency_key="double-click") == first
    assert pool.submit("sleep", {"seconds": 0}) != first  # no key: every launch is a job
    assert pool.submit("sleep", {"seconds": 0}, idempotency_key="another") != first

    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    racers = [subprocess.Popen([sys.executable, "-c", SUBMIT_ONCE, url, str(go)], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]  # fmt: skip
    time.sleep(1.0)  # both imported and waiting, so they submit at the same moment
    go.touch()
    answers = [racer.communicate(timeout=60) for racer in racers]
    assert all(racer.returncode == 0 for racer in racers), [err for _, err in answers]
    ids = {int(out.strip()) for out, _ in answers}
    assert len(ids) == 1, ids
    keyed = [job for job in pool.list_jobs() if job.idempotency_key == "form-submission-1"]
    assert [job.id for job in keyed] == list(ids)
    assert len(pool.list_jobs()) == 4


def test_nonzero_exit_and_crash_are_failed_with_the_log_tail(url: str) -> None:
    pool = JobPool(url, max_concurrent=2)
    exits = pool.submit("sleep", {"seconds": 0.1, "exit_code": 3})
    crashes = pool.submit("sleep", {"seconds": 0.1, "crash": True})

    job = wait_for(pool, exits, finished)
    assert (job.state, job.exit_code, job.signal) == (JobState.FAILED, 3, None)
    assert job.error_tail and job.error_tail.endswith(f"job {exits} done, exit code 3")

    job = wait_for(pool, crashes, finished)
    assert (job.state, job.exit_code) == (JobState.FAILED, 1)
    assert job.error_tail and "RuntimeError: job" in job.error_tail
    assert len(job.error_tail.splitlines()) <= 20


def test_a_job_over_its_memory_limit_fails_saying_it_ran_out_of_memory(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANVASCRAFT_JOB_MEMORY_LIMIT_MB", "256")
    pool = JobPool(url, max_concurrent=2)
    greedy = pool.submit("sleep", {"seconds": 0, "allocate_mb": 4096})
    modest = pool.submit("sleep", {"seconds": 0, "allocate_mb": 32})

    job = wait_for(pool, greedy, finished, timeout=60)
    assert (job.state, job.exit_code, job.signal) == (JobState.FAILED, 1, None), job.error_tail
    assert explain_ending(job) == (
        "It ran out of memory. Try a smaller batch size or fewer items. Its checkpoints are kept: Resume "
        "continues from the last finished epoch."
    )
    assert f"job {greedy}: stopped: MemoryError: it ran out of memory" in (job.error_tail or "")
    assert wait_for(pool, modest, finished, timeout=60).state == JobState.SUCCEEDED


def test_a_killed_process_is_failed_with_its_signal(url: str) -> None:
    pool = JobPool(url, max_concurrent=1)
    job_id = pool.submit("sleep", {"seconds": 30})
    pid = wait_for(pool, job_id, sleeping).pid
    assert pid is not None

    os.kill(pid, signal.SIGKILL)

    job = wait_for(pool, job_id, finished)
    assert (job.state, job.exit_code, job.signal) == (JobState.FAILED, None, signal.SIGKILL)


def test_cancel_stops_a_running_job_with_sigterm_and_a_queued_one_at_once(url: str) -> None:
    pool = JobPool(url, max_concurrent=1, cancel_grace_s=10)
    running = pool.submit("sleep", {"seconds": 30})
    queued = pool.submit("sleep", {"seconds": 30})
    wait_for(pool, running, sleeping)

    pool.cancel(queued)
    assert pool.get_job(queued).state == JobState.CANCELLED
    pool.cancel(running)

    job = wait_for(pool, running, finished, timeout=5)
    assert (job.state, job.signal) == (JobState.CANCELLED, signal.SIGTERM)
    assert job.cancel_requested_at is not None
    assert pool.get_job(queued).started_at is None  # never started


def test_cancel_kills_a_job_that_ignores_sigterm_after_the_grace(url: str) -> None:
    pool = JobPool(url, max_concurrent=1, cancel_grace_s=0.6)
    job_id = pool.submit("sleep", {"seconds": 30, "ignore_term": True})
    wait_for(pool, job_id, sleeping)

    pool.cancel(job_id)
    time.sleep(0.3)
    pool.tick()
    assert pool.get_job(job_id).state == JobState.RUNNING  # SIGTERM ignored, grace not over yet

    job = wait_for(pool, job_id, finished, timeout=5)
    assert (job.state, job.signal) == (JobState.CANCELLED, signal.SIGKILL)


def test_two_pools_on_one_database_never_start_a_job_twice(url: str) -> None:
    pools = [JobPool(url, max_concurrent=3, executor=LocalProcessExecutor()) for _ in range(2)]
    job_ids = [pools[0].submit("sleep", {"seconds": 0.2}) for _ in range(8)]
    most_running = 0
    errors: list[BaseException] = []

    def loop(pool: JobPool) -> None:
        nonlocal most_running
        deadline = time.monotonic() + WAIT_S
        try:
            while time.monotonic() < deadline:
                pool.tick()
                states = [job.state for job in pool.list_jobs()]
                most_running = max(most_running, states.count(JobState.RUNNING))
                if all(state == JobState.SUCCEEDED for state in states):
                    return
                time.sleep(0.01)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=loop, args=(pool,)) for pool in pools]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    jobs = [pools[1].get_job(job_id) for job_id in job_ids]
    assert [job.state for job in jobs] == [JobState.SUCCEEDED] * len(jobs)
    for job in jobs:
        assert Path(job.log_path or "").read_text().count("started pid") == 1
    assert most_running <= 3


def _start_in_a_pool_that_exits(url: str, job_id: int, pool: JobPool, *, warm: bool = True) -> None:
    """`canvascraft train` without --wait, or a studio restart: the pool that starts the job lives in
    its own process, which exits at once."""
    first_pool = f"from canvascraft.jobs import JobPool; JobPool({url!r}, max_concurrent=1).tick()"
    subprocess.run(
        [sys.executable, "-c", first_pool],
        cwd=REPO_ROOT,
        env={**os.environ, "CANVASCRAFT_WARM_JOBS": str(warm).lower()},
        check=True,
        timeout=90,  # a fresh interpreter importing the pool: slow only when the machine is busy
    )


def _running_orphan(url: str, job_id: int, pool: JobPool, *, warm: bool = True) -> Job:
    _start_in_a_pool_that_exits(url, job_id, pool, warm=warm)
    job = wait_for(pool, job_id, sleeping)  # the orphan still runs: this pool only waits
    assert job.handle and job.pid
    return job


def test_a_job_killed_after_its_starting_pool_exited_is_reported_killed(url: str) -> None:
    pool = JobPool(url, max_concurrent=1)
    job_id = pool.submit("sleep", {"seconds": 30})
    job = _running_orphan(url, job_id, pool)

    os.kill(job.pid, signal.SIGKILL)

    job = wait_for(pool, job_id, finished)
    assert (job.state, job.exit_code, job.signal) == (JobState.FAILED, None, signal.SIGKILL)
    assert "killed (SIGKILL)" in (explain_ending(job) or "")
    # The tail kept is the end of the job's own log (how much it printed depends on the machine's pace).
    assert job.error_tail and job.error_tail.strip() in Path(job.log_path or "").read_text()


def test_a_job_whose_supervisor_went_too_is_lost(url: str) -> None:
    pool = JobPool(url, max_concurrent=1)
    job_id = pool.submit("sleep", {"seconds": 30})
    job = _running_orphan(url, job_id, pool)
    scheme, _pid, _ticks, supervisor, _supervisor_ticks = (job.handle or "").split(":")
    assert scheme == "warm"

    os.kill(int(supervisor), signal.SIGKILL)  # the machine going away takes both
    os.kill(job.pid, signal.SIGKILL)

    job = wait_for(pool, job_id, finished)
    assert (job.state, job.exit_code, job.signal) == (JobState.LOST, None, None)
    assert job.error_tail and f"job {job_id} started" in job.error_tail


def test_without_warm_starts_a_killed_job_whose_starting_pool_exited_is_lost(url: str) -> None:
    pool = JobPool(url, max_concurrent=1)
    job_id = pool.submit("sleep", {"seconds": 30})
    job = _running_orphan(url, job_id, pool, warm=False)
    assert (job.handle or "").startswith("local:")

    os.kill(job.pid, signal.SIGKILL)

    job = wait_for(pool, job_id, finished)
    assert (job.state, job.exit_code, job.signal) == (JobState.LOST, None, None)


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "fresh"])
@pytest.mark.parametrize(("exit_code", "state"), [(0, JobState.SUCCEEDED), (4, JobState.FAILED)])
def test_a_job_that_ends_after_its_starting_pool_exited_keeps_its_outcome(
    url: str, exit_code: int, state: JobState, warm: bool
) -> None:
    pool = JobPool(url, max_concurrent=1)
    job_id = pool.submit("sleep", {"seconds": 0.5, "exit_code": exit_code})
    _start_in_a_pool_that_exits(url, job_id, pool, warm=warm)

    job = wait_for(pool, job_id, finished)
    assert (job.state, job.exit_code) == (state, exit_code)


@pytest.mark.parametrize("current", list(JobState))
def test_only_the_listed_transitions_are_allowed(current: JobState) -> None:
    for target in JobState:
        if target in TRANSITIONS[current]:
            check_transition(current, target)
        else:
            with pytest.raises(IllegalTransitionError, match=f"from '{current}' to '{target}'"):
                check_transition(current, target, job_id=7)


def test_a_finished_job_cannot_be_cancelled_and_can_be_resumed(url: str) -> None:
    pool = JobPool(url, max_concurrent=1)
    old = pool.submit("sleep", {"seconds": 0.1, "exit_code": 2})
    with pytest.raises(JobError, match="still queued"):
        pool.resume(old)
    wait_for(pool, old, finished)

    with pytest.raises(IllegalTransitionError, match=f"Job {old} cannot go from 'failed' to 'cancelled'"):
        pool.cancel(old)
    new = pool.resume(old)

    job = pool.get_job(new)
    assert (job.state, job.kind, job.resume_from) == (JobState.QUEUED, "sleep", old)
    assert job.spec == {"seconds": 0.1, "exit_code": 2, "resume_from": old}
    assert pool.get_job(old).state == JobState.FAILED
    assert [job.id for job in pool.list_jobs()] == [new, old]
    assert [job.id for job in pool.list_jobs(states={"failed"})] == [old]


def test_bad_kinds_and_unknown_ids_are_refused(url: str) -> None:
    pool = JobPool(url, max_concurrent=1)
    with pytest.raises(JobError, match="not a job entry point name"):
        pool.submit("../evil", {})
    with pytest.raises(JobError, match="Job 999 does not exist"):
        pool.get_job(999)
