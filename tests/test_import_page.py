"""The Data page's import form through AppTest: what a person uploading files sees."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from canvascraft.services.datasets import list_versions, open_version

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def open_data(**query: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        app.query_params[key] = value
    app.switch_page("pages/data.py")
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def upload(app: AppTest, files: list[tuple[str, bytes]], *, name: str) -> AppTest:
    """Choose ``files`` in the import form, name the dataset and press Import."""
    app.file_uploader[0].set_value([(n, data, "application/octet-stream") for n, data in files])
    app.text_input(key="data_import_name").set_value(name)
    app.button(key="data_import_submit").click()
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def test_uploading_files_already_in_the_dataset_makes_no_version_and_says_so(sample_workspace: Path) -> None:
    app = open_data()
    assert {".oga", ".opus", ".mp3", ".m4a", ".zip"} <= set(app.file_uploader[0].allowed_type), (
        "Ogg, Opus and MP3 are offered; M4A is let through to be told why it is refused"
    )
    files = [(f"{n}.png", png(n)) for n in range(3)]
    upload(app, files, name="cats")
    assert any("Imported 3 files into cats v1" in s.value for s in app.success)

    upload(app, files, name="cats")

    assert any(
        "All 3 files are already in version 1 of cats; no new version made" in i.value for i in app.info
    )
    assert [v.number for v in list_versions("cats")] == [1]


def test_repeats_inside_a_new_zip_are_named_as_repeats(sample_workspace: Path) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for n in range(4):
            zf.writestr(f"cats/copy{n}.png", png(1))
    app = open_data()

    upload(app, [("pets.zip", archive.getvalue())], name="pets")

    (success,) = [s.value for s in app.success if "pets" in s.value]
    assert "3 files in the upload repeat others in it; each is stored once" in success
    assert "already" not in success


def test_a_folder_and_loose_files_with_one_label_make_one_version(sample_workspace: Path) -> None:
    app = open_data()
    uploader = app.file_uploader(key="data_import_folder")
    assert uploader.accept_directory
    uploader.set_value([("pets/cats/a.png", png(1), "image/png"), ("pets/dogs/b.png", png(2), "image/png")])
    app.text_input(key="data_import_label").set_value("birds")

    upload(app, [("c.png", png(3)), ("d.png", png(4))], name="pets")

    assert any("Imported 4 files into pets v1" in s.value for s in app.success)
    assert [v.number for v in list_versions("pets")] == [1]
    labels = sorted(item.label for item in open_version("pets").items)
    assert labels == ["birds", "birds", "cats", "dogs"]
