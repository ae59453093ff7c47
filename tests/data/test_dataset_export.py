"""Data out: a version exported as a zip re-imports as the same items and labels, carries its manifest
and licence, and never turns a stored name into an unsafe or clashing path."""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from canvascraft.cli import app as cli
from canvascraft.data.export import safe_part
from canvascraft.services.datasets import (
    export_dataset,
    import_path,
    open_version,
    set_dataset_licence,
    table_rows,
)
from canvascraft.store.migrate import upgrade

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def studio(workspace: Path) -> Iterator[Path]:
    upgrade()
    yield workspace


def png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (6, 6, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def awkward_folder(root: Path) -> Path:
    """Names that are fine on Linux but clash or break elsewhere: case twins, a colon, a device name."""
    names = ["cats/Tabby.png", "cats/tabby.png", "cats/a:b.png", "cats/CON.png", "dogs/rex.png",
             "photos/dogs/rex.png"]  # fmt: skip
    for seed, name in enumerate(names):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png(seed))
    return root


def pairs(dataset: str) -> Counter[tuple[str | None, str]]:
    return Counter((item.label, item.sha256) for item in open_version(dataset).items)


def test_an_exported_zip_imports_back_as_the_same_items_and_labels(studio: Path, tmp_path: Path) -> None:
    import_path(
        awkward_folder(tmp_path / "art"), "art", licence="CC-BY-4.0", source="Ana Lima", consent="yes"
    )
    exported = export_dataset("art")
    assert exported.file_name == "art-v1.zip" and exported.item_count == 6 and exported.data is not None
    with zipfile.ZipFile(io.BytesIO(exported.data)) as archive:
        members = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        licence = archive.read("LICENCE.md").decode()

    assert "CC-BY-4.0" in licence and "Ana Lima" in licence and "training: yes" in licence
    assert manifest["licence"] == {"licence": "CC-BY-4.0", "source": "Ana Lima", "consent": "yes"}
    data = [m for m in members if m not in ("manifest.json", "LICENCE.md")]
    assert len({m.casefold() for m in data}) == len(data) == 6, "unique even where case does not count"
    for member in data:
        parts = PurePosixPath(member).parts
        assert len(parts) == 2 and parts[0] in ("cats", "dogs"), member
        assert not any(ch in member for ch in ":\\") and not parts[1].upper().startswith("CON."), member
    by_name = {entry["name"]: entry for entry in manifest["items"]}
    assert set(by_name) == {i.name for i in open_version("art").items}, "the original names are kept"
    assert by_name["cats/a:b.png"]["path"] == "cats/a_b.png"
    assert all(entry["path"] in members and len(entry["sha256"]) == 64 for entry in manifest["items"])

    archive_path = tmp_path / "art-v1.zip"
    archive_path.write_bytes(exported.data)
    report = import_path(archive_path, "art-again")
    assert report.skipped == [], "the manifest and licence are not offered as data"
    assert pairs("art-again") == pairs("art")


def test_a_table_exports_as_one_csv_with_the_same_rows(sample_workspace: Path, tmp_path: Path) -> None:
    exported = export_dataset("sample-table", 1)
    assert exported.data is not None
    with zipfile.ZipFile(io.BytesIO(exported.data)) as archive:
        assert sorted(archive.namelist()) == ["LICENCE.md", "manifest.json", "sample-table.csv"]
        assert "own work" in archive.read("LICENCE.md").decode()
    path = tmp_path / "table.zip"
    path.write_bytes(exported.data)
    report = import_path(path, "paints-again", label_column="style")
    assert report.skipped == []
    again, original = table_rows(open_version("paints-again")), table_rows(open_version("sample-table"))
    assert again.shape == original.shape
    assert Counter(again["style"]) == Counter(original["style"])


def test_the_cli_writes_a_version_and_warns_about_missing_terms(studio: Path, tmp_path: Path) -> None:
    import_path(awkward_folder(tmp_path / "art"), "art")
    (tmp_path / "more" / "birds").mkdir(parents=True)
    (tmp_path / "more" / "birds" / "wren.png").write_bytes(png(99))
    import_path(tmp_path / "more", "art", replace=True)  # v2 differs from v1
    runner = CliRunner()
    out = tmp_path / "out" / "art.zip"
    done = runner.invoke(cli, ["datasets", "export", "art@1", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "wrote 6 item(s)" in done.output and "warning: no licence is recorded" in done.output
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read("manifest.json"))["version"] == 1
        assert "Warning: no licence is recorded" in archive.read("LICENCE.md").decode()

    missing = runner.invoke(cli, ["datasets", "export", "art@7", "--out", str(out)])
    assert missing.exit_code == 1 and "has no version 7 (versions: 1, 2)" in missing.output
    malformed = runner.invoke(cli, ["datasets", "export", "art@latest", "--out", str(out)])
    assert malformed.exit_code != 0 and "NAME@VERSION" in malformed.output

    set_dataset_licence("art", licence="own work", consent="yes")
    quiet = runner.invoke(cli, ["datasets", "export", "art", "--out", str(out)])
    assert quiet.exit_code == 0 and "warning" not in quiet.output


@pytest.mark.parametrize(
    ("name", "expected"),
    [("../../etc/passwd", "_.._etc_passwd"), ("..", "item"), ("C:evil.png", "C_evil.png"),
     (".hidden.png", "hidden.png"), ("nul.txt", "_nul.txt"),
     ("a\\b.png", "a_b.png"), ("x" * 300 + ".png", "x" * 116 + ".png"), ("__MACOSX", "___MACOSX")],
)  # fmt: skip
def test_a_stored_name_becomes_one_safe_part(name: str, expected: str) -> None:
    assert safe_part(name, "item") == expected


def test_the_versions_tab_offers_the_download(sample_workspace: Path) -> None:
    page = AppTest.from_file(APP, default_timeout=60)
    page.query_params["dataset"] = "sample-images"
    page.switch_page("pages/data.py")
    page.run()
    assert not page.exception, [e.message for e in page.exception]
    assert "Download v1 as zip" in [d.label for d in page.get("download_button")]
