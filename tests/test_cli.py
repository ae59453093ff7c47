"""The ``canvascraft`` command line: output, exit codes and the installed console script."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from canvascraft.cli import app
from canvascraft.data.sample import SAMPLE_DATASETS
from canvascraft.services.datasets import open_version

CONSOLE_SCRIPT = Path(sys.executable).with_name("canvascraft")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def png_bytes(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (6, 6, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def hashes(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def run_script(*args: str, workspace: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed ``canvascraft`` console script as a user would."""
    env = {**os.environ, "CANVASCRAFT_WORKSPACE": str(workspace)}
    env.pop("CANVASCRAFT_DATABASE_URL", None)
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def assert_one_error_line(stderr: str, *fragments: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, stderr)
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ([], "sample-data"),
        (["sample-data"], "--seed"),
        (["datasets"], "import"),
        (["datasets", "import"], "--label-column"),
        (["datasets", "list"], "--json"),
        (["db"], "upgrade"),
        (["db", "upgrade"], "migrations"),
        (["init"], "sample data"),
        (["studio"], "--port"),
    ],
    ids=lambda value: "-".join(value) or "top" if isinstance(value, list) else None,
)
def test_help_works_on_every_command(
    runner: CliRunner, workspace: Path, command: list[str], expected: str
) -> None:
    result = runner.invoke(app, [*command, "--help"])

    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert expected in result.output
    assert not workspace.exists(), "asking for help touches nothing"


def test_sample_data_writes_three_folders_and_the_same_seed_gives_the_same_bytes(
    runner: CliRunner, workspace: Path, tmp_path: Path
) -> None:
    first = runner.invoke(app, ["sample-data", "--out", str(tmp_path / "one"), "--seed", "1"])
    second = runner.invoke(app, ["sample-data", "--out", str(tmp_path / "two"), "--seed", "1"])

    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    for name in SAMPLE_DATASETS:
        assert f"{name}: {tmp_path / 'one' / name}" in first.output
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == sorted(SAMPLE_DATASETS)
    one, two = hashes(tmp_path / "one"), hashes(tmp_path / "two")
    assert len(one) > 100
    assert one == two
    assert not workspace.exists(), "--out writes only where it is told"


def test_sample_data_import_then_list_json_shows_the_three_datasets(
    runner: CliRunner, workspace: Path
) -> None:
    imported = runner.invoke(app, ["sample-data", "--import"])

    assert imported.exit_code == 0, imported.output
    for name in SAMPLE_DATASETS:
        assert f"imported {name} v1:" in imported.stdout
    listed = runner.invoke(app, ["datasets", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert set(rows) == set(SAMPLE_DATASETS)
    for name, modality in SAMPLE_DATASETS.items():
        assert rows[name]["modality"] == modality
        assert rows[name]["latest_version"] == 1 and rows[name]["versions"] == 1
        assert rows[name]["items"] >= 1
    assert rows["sample-images"]["labels"] >= 4
    assert rows["sample-table"]["labels"] >= 3
    assert (workspace / "sample-data" / "sample-images").is_dir()


def test_sample_data_import_refuses_out(runner: CliRunner, workspace: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["sample-data", "--import", "--out", str(tmp_path / "x")])

    assert result.exit_code == 2
    assert "--out" in result.output
    assert not (tmp_path / "x").exists()


def test_the_console_script_lists_datasets_as_json(sample_workspace: Path) -> None:
    result = run_script("datasets", "list", "--json", workspace=sample_workspace)

    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["name"] for row in rows] == sorted(SAMPLE_DATASETS)
    assert {row["name"]: row["modality"] for row in rows} == SAMPLE_DATASETS


def test_the_console_script_fails_cleanly_with_exit_code_1(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"

    result = run_script("datasets", "import", str(missing), "--name", "art", workspace=tmp_path / "ws")

    assert result.returncode == 1
    assert_one_error_line(result.stderr, str(missing), "does not exist")
    assert result.stdout == ""


def test_datasets_list_without_datasets_says_how_to_get_some(runner: CliRunner, workspace: Path) -> None:
    result = runner.invoke(app, ["datasets", "list"])

    assert result.exit_code == 0
    assert "no datasets yet" in result.stdout
    json_result = runner.invoke(app, ["datasets", "list", "--json"])
    assert json.loads(json_result.stdout) == []


def test_import_prints_what_was_imported_and_each_skipped_file(
    runner: CliRunner, workspace: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "art"
    (folder / "cats").mkdir(parents=True)
    (folder / "dogs").mkdir()
    (folder / "cats" / "a.png").write_bytes(png_bytes(1))
    (folder / "dogs" / "b.png").write_bytes(png_bytes(2))
    (folder / "dogs" / "fake.png").write_text("not an image", encoding="utf-8")
    (folder / "notes.txt").write_text("hello", encoding="utf-8")

    result = runner.invoke(app, ["datasets", "import", str(folder), "--name", "art"])

    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "imported 2 files into art v1 (image): 2 items in this version"
    assert lines[1] == "skipped 2 file(s):"
    assert lines[2].startswith("  - dogs/fake.png: not an image")
    assert lines[3].startswith("  - notes.txt: unsupported file type")

    again = runner.invoke(app, ["datasets", "import", str(folder), "--name", "art"])
    assert again.exit_code == 0
    assert again.stdout.splitlines()[0] == "all 2 files are already in version 1 of art; no new version made"

    listed = runner.invoke(app, ["datasets", "list"])
    assert listed.stdout.splitlines()[1].split() == ["art", "image", "1", "2", "2"]


def test_import_of_a_missing_path_exits_1_with_one_error_line(
    runner: CliRunner, workspace: Path, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["datasets", "import", str(tmp_path / "nowhere"), "--name", "art"])

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert_one_error_line(result.stderr, "nowhere", "does not exist")


def test_import_of_an_all_bad_folder_exits_1_listing_every_reason(
    runner: CliRunner, workspace: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "a.png").write_bytes(png_bytes(1)[:40])
    (folder / "b.jpg").write_text("text", encoding="utf-8")

    result = runner.invoke(app, ["datasets", "import", str(folder), "--name", "junk"])

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert_one_error_line(result.stderr, "nothing imported into 'junk'")
    assert "skipped 2 file(s):" in result.stdout
    assert "  - a.png: " in result.stdout and "  - b.jpg: not an image" in result.stdout
    listed = runner.invoke(app, ["datasets", "list", "--json"])
    assert json.loads(listed.stdout) == []


def test_import_with_an_invalid_name_exits_1(runner: CliRunner, workspace: Path, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(png_bytes(1))

    result = runner.invoke(app, ["datasets", "import", str(tmp_path / "a.png"), "--name", "../x"])

    assert result.exit_code == 1
    assert_one_error_line(result.stderr, "'../x' is not allowed")


def test_import_a_csv_with_its_label_column(runner: CliRunner, workspace: Path, tmp_path: Path) -> None:
    table = tmp_path / "paints.csv"
    table.write_text("hue,style\n0.1,ink\n0.2,wash\n0.3,ink\n", encoding="utf-8")

    result = runner.invoke(
        app, ["datasets", "import", str(table), "--name", "paints", "--label-column", "style"]
    )

    assert result.exit_code == 0, result.output
    assert "into paints v1 (table)" in result.stdout
    view = open_version("paints")
    assert view.version.label_column == "style"
    assert view.items[0].class_counts == {"ink": 2, "wash": 1}

    wrong = runner.invoke(
        app, ["datasets", "import", str(table), "--name", "other", "--label-column", "genre"]
    )
    assert wrong.exit_code == 1
    assert "  - paints.csv: no label column 'genre' (columns: hue, style)" in wrong.stdout
    assert_one_error_line(wrong.stderr, "nothing imported")


def test_db_upgrade_runs_twice(runner: CliRunner, workspace: Path) -> None:
    first = runner.invoke(app, ["db", "upgrade"])
    second = runner.invoke(app, ["db", "upgrade"])

    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert f"database is up to date: sqlite:///{workspace / 'canvascraft.db'}" in second.stdout
    assert (workspace / "canvascraft.db").is_file()
