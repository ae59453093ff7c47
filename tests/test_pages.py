"""Every page through Streamlit's AppTest, on real workspaces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from canvascraft.services.datasets import import_path

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_page(page: str | None, **query: str) -> AppTest:
    """Run the studio on ``page`` (None: the entrypoint's default page, Home)."""
    app = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        app.query_params[key] = value
    if page is not None:
        app.switch_page(page)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def test_first_start_imports_the_sample_data(workspace: Path) -> None:
    app = open_page(None)
    assert metrics(app)["Datasets"] == "3"
    headings = [m.value for m in app.markdown]
    for name in ("sample-images", "sample-audio", "sample-table"):
        assert f"#### {name}" in headings
    assert (workspace / "canvascraft.db").exists()


def test_home_cards_describe_each_dataset(sample_workspace: Path) -> None:
    app = open_page("pages/home.py")
    captions = " ".join(c.value for c in app.caption)
    assert "image · version 1 of 1 · 120 items · 5 labels" in captions
    assert "table · version 1 of 1 · 300 rows · 4 labels" in captions
    assert "Columns: hue" in captions
    assert metrics(app)["Items"] == "181"
    links = [(link.proto.label, link.proto.page) for link in app.get("page_link")]
    assert ("Open sample-images", "data") in links
    assert links.count(("Try brushes on it", "brushes")) == 3


def test_data_page_shows_image_thumbnails_and_filters_by_label(sample_workspace: Path) -> None:
    app = open_page("pages/data.py", dataset="sample-images")
    assert metrics(app)["Items"] == "120"
    assert len(app.get("image")) == 48  # one page of thumbnails
    app.button_group(key="data_labels").set_value(["circle"]).run()
    assert len(app.get("image")) == 24
    assert {c.value for c in app.caption if c.value.endswith("64×64")} == {
        f"circle-{i:03d}.png · 64×64" for i in range(24)
    }


def test_data_page_pages_through_items(sample_workspace: Path) -> None:
    app = open_page("pages/data.py", dataset="sample-images")
    assert app.number_input(key="data_page").label == "Page (of 3)"
    app.number_input(key="data_page").set_value(3).run()
    assert len(app.get("image")) == 120 - 2 * 48


def test_data_page_plays_audio_with_waveforms(sample_workspace: Path) -> None:
    app = open_page("pages/data.py", dataset="sample-audio")
    assert metrics(app)["Labels"] == "5"
    assert len(app.get("audio")) == 8
    assert len(app.get("image")) == 8  # a waveform beside each player
    assert any("1.00 s · 16000 Hz" in c.value for c in app.caption)


def test_data_page_previews_a_table_with_column_statistics(sample_workspace: Path) -> None:
    app = open_page("pages/data.py", dataset="sample-table")
    assert metrics(app)["Rows"] == "300"
    assert metrics(app)["Label column"] == "style"
    preview, stats = app.dataframe[0].value, app.dataframe[1].value
    assert len(preview) == 200
    assert "style" in preview.columns
    thickness = stats.set_index("column").loc["thickness_mm"]
    assert thickness["missing"] > 0


def test_health_tab_shows_class_balance(sample_workspace: Path) -> None:
    app = open_page("pages/data.py", dataset="sample-images")
    assert any("No problems found" in s.value for s in app.success)
    assert len(app.get("plotly_chart")) == 1


def test_skipped_files_are_listed_with_reasons(sample_workspace: Path, tmp_path: Path) -> None:
    folder = tmp_path / "drawings"
    for label in ("ink", "ink", "charcoal"):
        (folder / label).mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "ink" / "a.png")
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(folder / "charcoal" / "b.png")
    (folder / "ink" / "scan.jpg").write_text("not a picture")
    (folder / "charcoal" / "empty.png").write_bytes(b"")
    import_path(folder, "drawings")

    app = open_page("pages/data.py", dataset="drawings")
    assert metrics(app)["Skipped at import"] == "2"
    skipped = app.table[0].value
    reasons = dict(zip(skipped["file"], skipped["reason"], strict=True))
    assert "not an image" in reasons["ink/scan.jpg"]
    assert "empty file" in reasons["charcoal/empty.png"]
    # one class is one image and the other is one image: balanced, but the health view still renders
    assert any("Items per label" in m.value for m in app.markdown)


def test_versions_tab_lists_every_version(sample_workspace: Path, tmp_path: Path) -> None:
    folder = tmp_path / "more" / "circle"
    folder.mkdir(parents=True)
    Image.fromarray(np.full((64, 64, 3), 9, np.uint8)).save(folder / "extra.png")
    import_path(folder.parent, "sample-images")

    app = open_page("pages/data.py", dataset="sample-images")
    assert app.selectbox(key="version").value == 2, "the latest version is shown"
    assert metrics(app)["Items"] == "121"
    history = app.dataframe[-1].value
    assert list(history["version"]) == ["v2", "v1"]
    app.selectbox(key="version").set_value(1).run()
    assert metrics(app)["Items"] == "120"


def test_unknown_dataset_in_the_link_falls_back_without_an_error(sample_workspace: Path) -> None:
    app = open_page("pages/data.py", dataset="deleted-long-ago", version="99")
    assert app.selectbox(key="dataset").value == "sample-audio", "the first dataset is shown"
    assert "Modality" in metrics(app)


def query(app: AppTest) -> dict[str, str]:
    """The address bar's query, one value per name."""
    return {key: (value[-1] if isinstance(value, list) else value) for key, value in app.query_params.items()}


def test_the_address_bar_names_the_dataset_and_version_on_screen(
    sample_workspace: Path, tmp_path: Path
) -> None:
    """``/data`` showed the first dataset without naming it; after an import of a dataset sorting
    first, the same bookmark opened another one."""
    app = open_page("pages/data.py")
    shown = app.selectbox(key="dataset").value
    assert query(app) == {"dataset": shown, "version": "1"}
    bookmark = query(app)

    folder = tmp_path / "new" / "circle"
    folder.mkdir(parents=True)
    Image.fromarray(np.full((64, 64, 3), 9, np.uint8)).save(folder / "extra.png")
    import_path(folder.parent, "aaa-newest")
    import_path(folder.parent, "sample-images")  # and a newer version of another
    reopened = open_page("pages/data.py", **bookmark)
    assert reopened.selectbox(key="dataset").value == shown
    assert reopened.selectbox(key="version").value == 1

    reopened.selectbox(key="dataset").set_value("sample-images").run()
    assert query(reopened)["dataset"] == "sample-images"
    assert query(reopened)["version"] == "2"  # the other dataset's newest version
    reopened.selectbox(key="version").set_value(1).run()
    assert query(reopened)["version"] == "1"
