"""``canvascraft recipe``: validate, list, import and export, with every problem on its own line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from canvascraft.cli import app
from canvascraft.recipe import STARTER_RECIPES, from_yaml, to_yaml, validate_recipe

STARTER_NAMES = sorted(s.name for s in STARTER_RECIPES)

GOOD = """\
name: sketchbook
modality: image
seed: 3
description: Soft crops for the sketchbook series.
brushes:
  - brush: random_resized_crop
    params: {size: 32}
  - brush: horizontal_flip
"""

BROKEN = """\
name: sketchbook
modality: image
seed: three
brushes:
  - brush: random_resized_crop
    params:
      sizee: 32
      scale: [0.5, 2.0]
  - brush: horizontal_flp
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write(folder: Path, name: str, content: str) -> Path:
    path = folder / name
    path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["recipe"], "validate"),
        (["recipe", "validate"], "every problem"),
        (["recipe", "list"], "--json"),
        (["recipe", "import"], "new version"),
        (["recipe", "export"], "--version"),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, list) else None,
)
def test_help_works_on_every_recipe_command(
    runner: CliRunner, workspace: Path, command: list[str], expected: str
) -> None:
    result = runner.invoke(app, [*command, "--help"])

    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and expected in result.output
    assert not workspace.exists(), "asking for help touches nothing"


def test_validate_accepts_a_good_file(runner: CliRunner, workspace: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["recipe", "validate", str(write(tmp_path, "good.yaml", GOOD))])

    assert result.exit_code == 0, result.output
    assert result.stdout == "ok: sketchbook (image, 2 brushes)\n"
    assert not workspace.exists(), "validating needs no workspace"


def test_validate_prints_every_problem_on_its_own_line(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", BROKEN)

    result = runner.invoke(app, ["recipe", "validate", str(path)])

    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[:3] == [
        f"{path}: seed: must be an integer, got 'three'",
        f"{path}: brushes[0].sizee: unknown parameter; known: size, scale, ratio",
        f"{path}: brushes[0].scale: must be <= 1, got 2",
    ]
    assert lines[3].startswith(f"{path}: brushes[1].brush: unknown brush 'horizontal_flp'; did you mean")
    assert lines[4] == f"error: {path} is not a valid recipe (4 problems)"
    assert len(lines) == 5 and result.stdout == ""
    assert "Traceback" not in result.output


def test_validate_names_line_and_column_of_a_syntax_error(runner: CliRunner, tmp_path: Path) -> None:
    path = write(
        tmp_path, "indent.yaml", GOOD.replace("  - brush: horizontal_flip", "   - brush: horizontal_flip")
    )

    result = runner.invoke(app, ["recipe", "validate", str(path)])

    assert result.exit_code == 1
    first, last = result.stderr.splitlines()
    assert first.startswith(f"{path}: line 8, column 4: ")
    assert last == f"error: {path} is not a valid recipe (1 problem)"


@pytest.mark.parametrize("command", ["validate", "import"])
def test_an_unreadable_file_is_one_error_line(
    runner: CliRunner, workspace: Path, tmp_path: Path, command: str
) -> None:
    missing = runner.invoke(app, ["recipe", command, str(tmp_path / "nowhere.yaml")])
    binary = tmp_path / "picture.yaml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    not_text = runner.invoke(app, ["recipe", command, str(binary)])

    assert missing.exit_code == 1 and not_text.exit_code == 1
    assert missing.stderr == f"error: cannot read {tmp_path / 'nowhere.yaml'}: No such file or directory\n"
    assert not_text.stderr == f"error: {binary}: not a UTF-8 text file; save the recipe as UTF-8 YAML\n"


def test_import_list_and_export_round_trip(runner: CliRunner, workspace: Path, tmp_path: Path) -> None:
    path = write(tmp_path, "good.yaml", GOOD)

    imported = runner.invoke(app, ["recipe", "import", str(path)])
    again = runner.invoke(app, ["recipe", "import", str(path)])
    changed = runner.invoke(
        app, ["recipe", "import", str(write(tmp_path, "v2.yaml", GOOD.replace("seed: 3", "seed: 4")))]
    )

    assert imported.exit_code == 0, imported.output
    assert imported.stdout == "imported sketchbook v1 (image)\n"
    assert again.stdout == "sketchbook v1 is unchanged: the file matches the latest version\n"
    assert changed.stdout == "imported sketchbook v2 (image)\n"

    listed = runner.invoke(app, ["recipe", "list"])
    assert listed.exit_code == 0, listed.output
    rows = {line.split()[0]: line.split()[1:] for line in listed.stdout.splitlines()[1:]}
    assert rows["sketchbook"] == ["image", "2", "2", "2"]
    assert sorted(rows) == sorted([*STARTER_NAMES, "sketchbook"]), "a new workspace has the starters"

    exported = runner.invoke(app, ["recipe", "export", "sketchbook"])
    assert exported.exit_code == 0, exported.output
    assert from_yaml(exported.stdout) == from_yaml(GOOD.replace("seed: 3", "seed: 4"))
    assert list(yaml.safe_load(exported.stdout)) == ["name", "modality", "seed", "description", "brushes"]

    out = tmp_path / "old.yaml"
    written = runner.invoke(app, ["recipe", "export", "sketchbook", "--version", "1", "--out", str(out)])
    assert written.exit_code == 0, written.output
    assert written.stdout == f"wrote {out}\n"
    assert out.read_text(encoding="utf-8") == to_yaml(validate_recipe(yaml.safe_load(GOOD)))


def test_list_json_describes_each_recipe(runner: CliRunner, workspace: Path, tmp_path: Path) -> None:
    runner.invoke(app, ["recipe", "import", str(write(tmp_path, "good.yaml", GOOD))])

    result = runner.invoke(app, ["recipe", "list", "--json"])

    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert sorted(rows) == sorted([*STARTER_NAMES, "sketchbook"])
    row = rows["sketchbook"]
    assert (row["modality"], row["latest_version"], row["versions"], row["brushes"]) == ("image", 1, 1, 2)
    assert row["description"] == "Soft crops for the sketchbook series." and row["created_at"]


def test_a_bad_import_prints_every_problem_and_saves_nothing(
    runner: CliRunner, workspace: Path, tmp_path: Path
) -> None:
    path = write(tmp_path, "broken.yaml", BROKEN)

    result = runner.invoke(app, ["recipe", "import", str(path)])

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == f"error: {path} is not a valid recipe (4 problems)"
    assert all(line.startswith(f"{path}: ") for line in result.stderr.splitlines()[:-1])
    listed = runner.invoke(app, ["recipe", "list", "--json"])
    assert sorted(row["name"] for row in json.loads(listed.stdout)) == STARTER_NAMES


def test_export_of_an_unknown_recipe_or_version_is_one_error_line(runner: CliRunner, workspace: Path) -> None:
    unknown = runner.invoke(app, ["recipe", "export", "image-startr"])
    no_version = runner.invoke(app, ["recipe", "export", "image-starter", "--version", "9"])

    assert unknown.exit_code == 1 and no_version.exit_code == 1
    assert unknown.stderr.startswith("error: no recipe named 'image-startr'; did you mean image-starter")
    assert (
        "known recipes: audio-starter, image-flow-starter, image-starter, image-strong, table-starter"
        in unknown.stderr
    )
    assert no_version.stderr == "error: recipe 'image-starter' has no version 9; its versions are 1\n"
    assert unknown.stdout == "" and no_version.stdout == ""


def test_export_refuses_a_folder_it_cannot_write(runner: CliRunner, workspace: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["recipe", "export", "image-starter", "--out", str(tmp_path)])

    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot write {tmp_path}: ")
