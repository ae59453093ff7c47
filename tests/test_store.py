"""The studio database on SQLite and PostgreSQL: migrations, round trips and concurrent imports."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from PIL import Image
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from canvascraft.config import get_settings
from canvascraft.data.importer import ImportReport
from canvascraft.errors import DatasetError
from canvascraft.services.datasets import import_path, open_version
from canvascraft.store.migrate import alembic_config, upgrade
from canvascraft.store.models import Base, Dataset, DatasetVersion, Item, SkippedItem
from canvascraft.store.session import busy_timeout_s, engine_for, open_session

TABLES = {"datasets", "dataset_versions", "items", "skipped_items"}


def png_bytes(seed: int, size: tuple[int, int] = (8, 6)) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def image_folder(root: Path, count: int, seed: int = 0, label: str = "cats") -> Path:
    (root / label).mkdir(parents=True)
    for i in range(count):
        (root / label / f"{seed}-{i}.png").write_bytes(png_bytes(seed * 1000 + i))
    return root


def head_revision(url: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None
    return head


def test_migrations_apply_and_are_idempotent(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)

    engine = engine_for(database_url)
    assert TABLES | {"alembic_version"} <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert versions == [head_revision(database_url)]
        drift = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert drift == [], "the migrations create exactly the tables and columns the models declare"


def test_upgrade_uses_the_settings_database_by_default(database_url: str) -> None:
    upgrade()

    assert set(inspect(engine_for(database_url)).get_table_names()) >= TABLES
    assert get_settings().db_url == database_url


def test_an_import_round_trips_through_the_store(database_url: str, tmp_path: Path) -> None:
    upgrade(database_url)
    folder = image_folder(tmp_path / "art", 2, seed=1)
    (folder / "cats" / "broken.png").write_bytes(b"not a png")

    report = import_path(folder, "art")

    with open_session(database_url) as session:
        dataset = session.scalars(select(Dataset).where(Dataset.name == "art")).one()
        assert dataset.modality == "image"
        assert dataset.created_at is not None
        (version,) = dataset.versions
        counts = (version.number, version.item_count, version.added_count, version.skipped_count)
        assert counts == (1, 2, 2, 1)
        assert (version.label_count, version.source) == (1, "folder art")
        items = session.scalars(select(Item).where(Item.version_id == version.id).order_by(Item.name)).all()
        assert [(i.name, i.label, i.format, i.width, i.height, i.channels) for i in items] == [
            ("cats/1-0.png", "cats", "PNG", 8, 6, 3),
            ("cats/1-1.png", "cats", "PNG", 8, 6, 3),
        ]
        assert all(len(i.sha256) == 64 for i in items)
        skipped = session.scalars(select(SkippedItem).where(SkippedItem.version_id == version.id)).all()
        assert [(s.name, s.reason) for s in skipped] == [(report.skipped[0].name, report.skipped[0].reason)]
        assert skipped[0].name == "cats/broken.png"

    view = open_version("art")
    assert [i.name for i in view.items] == ["cats/1-0.png", "cats/1-1.png"]
    assert [s.name for s in view.skipped] == ["cats/broken.png"]


def test_table_manifest_json_round_trips(database_url: str, tmp_path: Path) -> None:
    upgrade(database_url)
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "paints.csv").write_text("style,hue\nink,0.5\nwash,0.1\nink,0.2\n", encoding="utf-8")

    import_path(tmp_path / "t", "paints", label_column="style")

    (item,) = open_version("paints").items
    assert item.columns == [{"name": "style", "dtype": "str"}, {"name": "hue", "dtype": "float64"}]
    assert item.class_counts == {"ink": 2, "wash": 1}


def test_version_numbers_are_unique_per_dataset(database_url: str, tmp_path: Path) -> None:
    upgrade(database_url)
    import_path(image_folder(tmp_path / "a", 1), "art")
    import_path(image_folder(tmp_path / "b", 1, seed=1), "art")

    with open_session(database_url) as session:
        numbers = session.scalars(select(DatasetVersion.number).order_by(DatasetVersion.number)).all()
        assert numbers == [1, 2]
        dataset_id = session.scalars(select(Dataset.id)).one()

    with pytest.raises(IntegrityError), open_session(database_url) as session:
        session.add(DatasetVersion(dataset_id=dataset_id, number=2, source="forged"))
        session.flush()


def test_deleting_a_dataset_removes_its_versions_items_and_skipped(database_url: str, tmp_path: Path) -> None:
    upgrade(database_url)
    folder = image_folder(tmp_path / "a", 2)
    (folder / "cats" / "bad.png").write_bytes(b"x")
    import_path(folder, "art")

    with open_session(database_url) as session:
        session.delete(session.scalars(select(Dataset)).one())

    with open_session(database_url) as session:
        for model in (DatasetVersion, Item, SkippedItem):
            assert session.scalars(select(model)).all() == [], model.__name__


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(workspace: Path) -> None:
    upgrade()
    url = get_settings().db_url
    assert url == f"sqlite:///{workspace / 'canvascraft.db'}"

    with engine_for(url).connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        busy_ms = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert busy_ms == round(busy_timeout_s() * 1000) > 0
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with sqlite3.connect(workspace / "canvascraft.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal", "WAL is stored in the file"


def import_racing_another(
    first: Path, second: Path, name: str, label_column: str | None = None
) -> tuple[object, object]:
    """Import ``first``; after its files are checked and before it writes, ``second`` is imported whole.

    Returns (outcome of the first import: its report or the error it raised, report of the second).
    """
    raced = []

    def meanwhile(done: int, total: int) -> None:
        if done == total and not raced:
            raced.append(import_path(second, name, label_column=label_column))

    try:
        outcome: object = import_path(first, name, label_column=label_column, on_progress=meanwhile)
    except DatasetError as error:
        outcome = error
    assert len(raced) == 1
    return outcome, raced[0]


def assert_lost_cleanly_or_won(outcome: object, dataset: str) -> None:
    """The slower import either gets a version of its own or the clear "run it again" message."""
    if isinstance(outcome, DatasetError):
        assert str(outcome).startswith("another import ")
        assert str(outcome).endswith("at the same moment; run this import again")
    else:
        assert isinstance(outcome, ImportReport)
    with open_session() as session:
        numbers = session.scalars(
            select(DatasetVersion.number)
            .join(Dataset)
            .where(Dataset.name == dataset)
            .order_by(DatasetVersion.number)
        ).all()
    assert numbers == list(range(1, len(numbers) + 1))


def test_an_import_that_loses_the_race_to_create_a_dataset_fails_cleanly(
    database_url: str, tmp_path: Path
) -> None:
    upgrade(database_url)

    outcome, winner = import_racing_another(
        image_folder(tmp_path / "slow", 2, seed=1), image_folder(tmp_path / "fast", 2, seed=2), "shared"
    )

    assert winner.version == 1
    assert_lost_cleanly_or_won(outcome, "shared")
    if isinstance(outcome, DatasetError):
        assert "created dataset 'shared'" in str(outcome)
        assert [i.name for i in open_version("shared").items] == ["cats/2-0.png", "cats/2-1.png"]


def test_an_image_import_racing_another_into_the_same_dataset_takes_the_next_number(
    database_url: str, tmp_path: Path
) -> None:
    upgrade(database_url)
    import_path(image_folder(tmp_path / "base", 1, seed=0), "shared")

    outcome, winner = import_racing_another(
        image_folder(tmp_path / "slow", 1, seed=1), image_folder(tmp_path / "fast", 1, seed=2), "shared"
    )

    assert winner.version == 2
    assert_lost_cleanly_or_won(outcome, "shared")
    if isinstance(outcome, ImportReport):
        assert outcome.version == 3
        assert outcome.item_count == 3, "the later version builds on the one written meanwhile"


def test_a_table_import_racing_another_into_the_same_dataset_never_leaks_a_database_error(
    database_url: str, tmp_path: Path
) -> None:
    upgrade(database_url)
    for folder in ("base", "slow", "fast"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"{folder}.csv").write_text(f"style,x\n{folder},1\n", encoding="utf-8")
    import_path(tmp_path / "base", "paints", label_column="style")

    outcome, winner = import_racing_another(tmp_path / "slow", tmp_path / "fast", "paints")

    assert winner.version == 2
    assert_lost_cleanly_or_won(outcome, "paints")


MIGRATOR = r"""
import sys, time
from pathlib import Path

from canvascraft.store.migrate import upgrade

gate = Path(sys.argv[1])
(gate / f"ready-{sys.argv[2]}").touch()
deadline = time.monotonic() + 60
while not (gate / "go").exists() and time.monotonic() < deadline:
    time.sleep(0.001)
upgrade()
print("migrated", flush=True)
"""


def test_processes_migrating_a_fresh_database_at_once_all_succeed(database_url: str, tmp_path: Path) -> None:
    """The studio, the CLI and job processes may all start on a new workspace at the same moment."""
    gate = tmp_path / "gate"
    gate.mkdir()
    holder = None
    if database_url.startswith("sqlite"):
        # Hold the write lock while they start, so all of them reach the migration before any finishes.
        with engine_for(database_url).connect():
            pass  # creates the file in WAL mode, as the studio would
        holder = sqlite3.connect(make_url(database_url).database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATOR, str(gate), str(n)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    try:
        deadline = time.monotonic() + 60
        while len(list(gate.glob("ready-*"))) < len(processes) and time.monotonic() < deadline:
            time.sleep(0.01)
        (gate / "go").touch()
        time.sleep(1.0)
    finally:
        if holder is not None:
            holder.execute("ROLLBACK")
            holder.close()
    outputs = [process.communicate(timeout=120) for process in processes]

    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
        assert stdout.strip() == "migrated"
        assert "Traceback" not in stderr
    with engine_for(database_url).connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert versions == [head_revision(database_url)]


CHILD = r"""
import sys, time
from pathlib import Path

from canvascraft.cli import app
import canvascraft.services.workspace  # loaded before the barrier, so both start work at once

barrier, me, folders = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
for round_number, folder in enumerate(folders):
    gate = barrier / str(round_number)
    gate.mkdir(exist_ok=True)
    (gate / me).touch()
    deadline = time.monotonic() + 30
    while len(list(gate.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.001)
    try:
        app(["datasets", "import", folder, "--name", "shared"], prog_name="canvascraft")
    except SystemExit as done:
        print(f"round {round_number}: exit {done.code}", flush=True)
"""


def test_two_processes_importing_at_once_never_see_a_locked_database(
    database_url: str, tmp_path: Path
) -> None:
    """Both start on a fresh workspace (so both also migrate), then import again into the existing dataset."""
    rounds = 2
    folders = {
        me: [str(image_folder(tmp_path / f"src-{me}-{r}", 5, seed=10 * me + r)) for r in range(rounds)]
        for me in (0, 1)
    }
    (tmp_path / "barrier").mkdir()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tmp_path / "barrier"), str(me), *folders[me]],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for me in (0, 1)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]

    successes = 0
    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
        assert "Traceback" not in stdout + stderr
        assert "locked" not in stdout + stderr
        codes = [line.rsplit(" ", 1)[1] for line in stdout.splitlines() if line.startswith("round ")]
        assert len(codes) == rounds and set(codes) <= {"0", "1"}, stdout
        errors = stderr.splitlines()
        assert len(errors) == codes.count("1"), stderr
        assert all(line.startswith("error: another import") for line in errors), stderr
        successes += codes.count("0")
    assert successes >= rounds, "at least one import of each round gets through"

    with open_session(database_url) as session:
        numbers = session.scalars(
            select(DatasetVersion.number).join(Dataset).where(Dataset.name == "shared")
        ).all()
    assert sorted(numbers) == list(range(1, successes + 1))
