"""The Data page's import form through AppTest: what a person uploading files sees."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from canvascraft.services.datasets import list_datasets, list_versions, open_version

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


def upload(
    app: AppTest,
    files: list[tuple[str, bytes]],
    *,
    name: str | None = None,
    folder: list[tuple[str, bytes]] | None = None,
    label: str = "",
) -> AppTest:
    """Choose ``files`` (and a ``folder``'s files, named by their paths) in the import form, pick a new
    dataset called ``name`` (None: add to the selected one), type ``label`` and press Import."""
    if app.radio(key="data_import_target").value != ("new" if name else "selected"):
        app.radio(key="data_import_target").set_value("new" if name else "selected").run()
    app.file_uploader(key="data_import_files").set_value(
        [(n, data, "application/octet-stream") for n, data in files]
    )
    if folder is not None:
        app.file_uploader(key="data_import_folder").set_value(
            [(n, data, "application/octet-stream") for n, data in folder]
        )
    app.text_input(key="data_import_label").set_value(label)
    if name is not None:
        app.text_input(key="data_import_name").set_value(name)
    app.button(key="data_import_submit").click()
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def forms(node: object) -> Iterator[object]:
    """Every ``st.form`` block under ``node``, as its proto."""
    proto = getattr(node, "proto", None)
    if getattr(node, "type", None) == "form" and proto is not None:
        yield proto.form
    for child in getattr(node, "children", {}).values():
        yield from forms(child)


def form_enter_submits(app: AppTest, form_id: str) -> bool:
    (form,) = [f for f in forms(app._tree) if f.form_id == form_id]
    return form.enter_to_submit


def query(app: AppTest) -> dict[str, str]:
    return {key: (value[-1] if isinstance(value, list) else value) for key, value in app.query_params.items()}


def test_uploading_files_already_in_the_dataset_makes_no_version_and_says_so(sample_workspace: Path) -> None:
    app = open_data()
    assert {".oga", ".opus", ".mp3", ".m4a", ".zip"} <= set(
        app.file_uploader(key="data_import_files").allowed_type
    ), "Ogg, Opus and MP3 are offered; M4A is let through to be told why it is refused"
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
    assert app.file_uploader(key="data_import_folder").accept_directory
    folder = [("pets/cats/a.png", png(1)), ("pets/dogs/b.png", png(2))]

    upload(app, [("c.png", png(3)), ("d.png", png(4))], name="pets", folder=folder, label="birds")

    assert any("Imported 4 files into pets v1" in s.value for s in app.success)
    assert [v.number for v in list_versions("pets")] == [1]
    labels = sorted(item.label for item in open_version("pets").items)
    assert labels == ["birds", "birds", "cats", "dogs"]


def test_the_import_form_starts_empty_and_opens_what_it_imported(sample_workspace: Path) -> None:
    app = open_data(dataset="sample-images")
    assert app.radio(key="data_import_target").value == "selected"
    assert "add to the selected dataset sample-images" in app.radio(key="data_import_target").options[0]
    app.radio(key="data_import_target").set_value("new").run()
    assert app.text_input(key="data_import_name").value == "", "the name is not prefilled"

    upload(app, [("a.png", png(1))], name="cats")

    assert (query(app)["dataset"], query(app)["version"]) == ("cats", "1"), "the URL names what was imported"
    assert app.selectbox(key="dataset").value == "cats"
    assert any("Imported 1 file into cats v1" in s.value for s in app.success)

    upload(app, [("b.png", png(2))])  # add to the selected dataset, now cats

    assert (query(app)["dataset"], query(app)["version"]) == ("cats", "2")
    assert app.selectbox(key="version").value == 2
    assert [v.number for v in list_versions("sample-images")] == [1], "the old selection is untouched"


def test_a_new_dataset_needs_a_name_and_enter_does_not_submit(sample_workspace: Path) -> None:
    app = open_data(dataset="sample-images")
    app.radio(key="data_import_target").set_value("new").run()
    app.file_uploader(key="data_import_files").set_value([("a.png", png(1), "image/png")])
    app.button(key="data_import_submit").click().run()

    assert any("Name the new dataset" in w.value for w in app.warning)
    assert [d.name for d in list_datasets()] == ["sample-audio", "sample-images", "sample-table"]
    assert not form_enter_submits(app, "data_import")
