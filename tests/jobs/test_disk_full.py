"""A disk that fills up while a job runs: the user reads one plain line saying the disk is full and where,
the job's row, log and last good checkpoint survive, and the job resumes once space is freed.

The workspace lives on a real small filesystem (a tmpfs of a few MB, so this needs root), filled to
within a few pages by a filler file; the job, its pool and the command are the real ones.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from canvascraft.config import get_settings
from canvascraft.jobs.checkpoints import checkpoint_folder
from canvascraft.services.jobs import (
    cancel_job,
    explain_ending,
    get_job,
    launch_training,
    list_jobs,
    tick,
    wait_for,
)
from canvascraft.store.session import engine_for
from tests.conftest import use_workspace

SIZE = "24m"
MARGIN = 512 * 1024
"""Free bytes left beside the filler: room for the databases' pages and the log lines, not for one
checkpoint save (a model with 512 hidden units: about 1 MB of weights, 2 MB of optimiser state)."""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real filesystem of ``SIZE``, mounted for this test and unmounted after it."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem (tmpfs) needs root")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"could not mount a tmpfs: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        engine_for(get_settings().db_url).dispose()
        engine_for.cache_clear()
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def full_workspace(
    small_disk: Path, sample_workspace_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A copy of the sample workspace on the small filesystem, with the settings pointing at it."""
    path = small_disk / "workspace"
    shutil.copytree(sample_workspace_template, path)
    use_workspace(monkeypatch, path)
    return path


def fill(disk: Path, leave: int) -> Path:
    """A filler file that takes all but ``leave`` bytes of the filesystem."""
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free
    with open(filler, "wb") as handle:
        os.posix_fallocate(handle.fileno(), 0, max(free - leave, 0))
    return filler


def cli(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CANVASCRAFT_WORKSPACE": str(workspace)}
    env.pop("CANVASCRAFT_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "canvascraft.cli", *args], env=env, text=True,
                          capture_output=True, timeout=240)  # fmt: skip


def test_a_disk_filling_up_during_a_job_says_so_and_the_job_resumes_after(
    full_workspace: Path, small_disk: Path
) -> None:
    # A job with a saved checkpoint, stopped after its first epoch (the last good checkpoint).
    first = launch_training("sample-table", "table-starter", "table-mlp", epochs=4,
                            hyper={"batch_size": 2, "hidden": 512})  # fmt: skip
    folder = checkpoint_folder(first)
    deadline = time.monotonic() + 120
    while not (folder / "last.json").exists():
        assert time.monotonic() < deadline, "the first epoch never ended"
        tick()
        time.sleep(0.02)
    cancel_job(first)
    assert wait_for(first, timeout_s=60).state == "cancelled"
    good = {name: (folder / name).read_bytes() for name in ("last.safetensors", "last.json")}

    filler = fill(small_disk, MARGIN)
    done = cli(full_workspace, "jobs", "resume", str(first), "--wait")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert "is full" in errors[0] and str(full_workspace) in errors[0], errors[0]
    assert "free some space" in errors[0].lower() and "canvascraft jobs resume" in errors[0], errors[0]

    # Nothing was lost: the last good checkpoint, the failed job's row with its reason, and its log.
    assert {name: (folder / name).read_bytes() for name in good} == good
    assert not list(folder.glob("*.partial"))
    os.remove(filler)
    tick()  # records the job's end if the command could not
    failed = max(job.id for job in list_jobs())
    job = get_job(failed)
    assert job.resume_from == first and job.state == "failed", (job.state, job.error_tail)
    reason = explain_ending(job) or ""
    assert reason.startswith(f"the disk holding {full_workspace.resolve()} is full"), reason
    assert "Traceback" not in reason
    log = Path(job.log_path or "").read_text()
    assert f"job {failed}: stopped: the disk holding" in log, log

    # With the space back, the job resumes from that checkpoint and finishes.
    resumed = cli(full_workspace, "jobs", "resume", str(failed), "--wait")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "succeeded" in resumed.stdout
