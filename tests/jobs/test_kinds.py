"""A job kind is one declaration: a name, an entry point and what happens when such a job ends. The
pool runs any registered kind and calls its end hook once, whichever way the job ended."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from canvascraft.jobs import JobError, JobPool, JobState
from canvascraft.jobs.kinds import KINDS, JobKind, get_kind, register_kind
from canvascraft.store.migrate import upgrade
from canvascraft.store.models import Job

ENDED: list[tuple[int, JobState, str]] = []


def remember(job: Job, state: JobState) -> None:
    ENDED.append((job.id, state, job.kind))


@pytest.fixture
def echo_kind() -> Iterator[JobKind]:
    """A new kind in this module: it reuses the ``sleep`` entry point and keeps a note of each end."""
    ENDED.clear()
    kind = register_kind(JobKind("echo_test", "jobs.sleep", "Sleeps; notes how it ended.", remember))
    yield kind
    KINDS.unregister(kind.name)


@pytest.fixture
def url(database_url: str) -> str:
    upgrade(database_url)
    return database_url


def test_a_registered_kind_runs_and_its_end_hook_runs_once(echo_kind: JobKind, url: str) -> None:
    pool = JobPool(url)
    done = pool.submit("echo_test", {"seconds": 0.1})
    failed = pool.submit("echo_test", {"seconds": 0, "exit_code": 3})
    assert pool.wait(done, timeout_s=120, poll_s=0.1).state == JobState.SUCCEEDED
    assert pool.wait(failed, timeout_s=120, poll_s=0.1).state == JobState.FAILED
    pool.tick()  # a later tick records nothing twice
    assert sorted(ENDED) == [(done, JobState.SUCCEEDED, "echo_test"), (failed, JobState.FAILED, "echo_test")]


def test_a_cancelled_queued_job_still_gets_its_end_hook(echo_kind: JobKind, url: str) -> None:
    pool = JobPool(url, max_concurrent=1)
    job_id = pool.submit("echo_test", {"seconds": 0})
    pool.cancel(job_id)  # before any tick: it never started
    assert [(job_id, JobState.CANCELLED, "echo_test")] == ENDED


def test_an_unknown_kind_is_refused_before_it_is_queued(url: str) -> None:
    with pytest.raises(JobError, match="unknown job kind 'slep'; did you mean sleep"):
        JobPool(url).submit("slep", {})
    assert JobPool(url).list_jobs() == []


def test_the_studio_kinds_are_declared_by_their_packages() -> None:
    entries = {(kind.name, kind.entry) for kind in KINDS.all()}
    assert {
        ("train", "jobs.train"),
        ("tune", "jobs.tune"),
        ("drift", "jobs.drift"),
        ("sleep", "jobs.sleep"),
    } <= entries
    assert get_kind("train").on_end.__module__ == "canvascraft.training.kind"
    assert get_kind("drift").on_end.__module__ == "canvascraft.drift.kind"
