"""Many CLI commands writing one SQLite workspace at once while another program holds its write lock
past the busy timeout: each command either does its work or says in one ``error:`` line that it could
not write; no traceback, no half-written row, no job started twice."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from canvascraft.recipe.io import to_yaml
from canvascraft.recipe.starters import STARTER_RECIPES

BUSY_TIMEOUT_S = "0.3"
HOLDER = """
import sqlite3, sys, time
holder = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
stop = time.monotonic() + float(sys.argv[2])
print("holding", flush=True)
while time.monotonic() < stop:  # held in long stretches with short gaps, as a busy writer does
    holder.execute("BEGIN IMMEDIATE")
    time.sleep(1.5)
    holder.execute("ROLLBACK")
    time.sleep(0.05)
"""
TRAIN = ["train", "--dataset", "sample-table", "--recipe", "table-starter", "--trainer", "table-mlp",
         "--epochs", "1"]  # fmt: skip


def cli(workspace: Path, *args: str, **extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CANVASCRAFT_WORKSPACE": str(workspace), **extra}
    env.pop("CANVASCRAFT_DATABASE_URL", None)
    return subprocess.Popen([sys.executable, "-m", "canvascraft.cli", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def test_parallel_commands_under_a_held_lock_end_plainly(sample_workspace: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "mine.yaml"
    starter = STARTER_RECIPES[0]
    recipe.write_text(to_yaml(starter).replace(f"name: {starter.name}", "name: mine", 1))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(sample_workspace / "canvascraft.db"), "30"],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    short = {"CANVASCRAFT_SQLITE_BUSY_TIMEOUT_S": BUSY_TIMEOUT_S}
    commands = [TRAIN, TRAIN, TRAIN, ["jobs", "list"], ["recipe", "import", str(recipe)],
                ["jobs", "list", "--json"]]  # fmt: skip
    processes = [cli(sample_workspace, *args, **short) for args in commands]
    results = [(args, *process.communicate(timeout=300), process.returncode)
               for args, process in zip(commands, processes, strict=True)]  # fmt: skip
    holder.kill()
    holder.wait()

    queued = []
    for args, out, err, code in results:
        assert "Traceback" not in err, (args, err)
        if code != 0:
            lines = err.strip().splitlines()
            assert code == 1 and len(lines) == 1 and lines[0].startswith("error: "), (args, err)
            assert "database is locked" in lines[0] and "run it again" in lines[0], (args, err)
        queued += [int(line.split()[1]) for line in out.splitlines() if re.match(r"job \d+ queued", line)]
    for args, _out, _err, code in results:
        if args[:2] == ["jobs", "list"]:
            assert code == 0, "a command that only reads works while another program holds the lock"

    listing = cli(sample_workspace, "jobs", "list", "--json")
    out, err = listing.communicate(timeout=120)
    assert listing.returncode == 0, err
    rows = json.loads(out)
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)) and set(queued) <= set(ids)
    assert all(row["state"] in ("queued", "running", "succeeded") for row in rows), rows


STEADY_HOLDER = """
import sqlite3, sys, time
holder = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
holder.execute("BEGIN IMMEDIATE")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_listing_jobs_works_while_the_pool_cannot_write(sample_workspace: Path) -> None:
    """`jobs list` ticks the pool first, and a tick writes; with the lock held without a gap that
    write waits for a later tick, and the list is still shown, with a note, not an error."""
    holder = subprocess.Popen(
        [sys.executable, "-c", STEADY_HOLDER, str(sample_workspace / "canvascraft.db"), "20"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        listing = cli(sample_workspace, "jobs", "list", "--json", CANVASCRAFT_SQLITE_BUSY_TIMEOUT_S="0.3")
        out, err = listing.communicate(timeout=120)
    finally:
        holder.kill()
        holder.wait()
    assert listing.returncode == 0 and "Traceback" not in err, err
    assert isinstance(json.loads(out), list) and "job states may lag" in err
