"""The pages hide what the acting person's role cannot do: each page run inside ``acting_as`` (as the
studio's frame runs it after login), through Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def page_as(page: str, role: str) -> None:
    """The script AppTest runs: one page, as a person with ``role``."""
    import runpy

    from canvascraft.services.people import Person, acting_as

    with acting_as(Person(f"{role}-1", f"Test {role}", role)):
        runpy.run_path(page, run_name="__main__")


def open_as(page: str, role: str, **query: str) -> AppTest:
    app = AppTest.from_function(page_as, args=(str(ROOT / page), role), default_timeout=60)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def captions(app: AppTest) -> str:
    return " ".join(c.value for c in app.caption)


def test_a_viewer_sees_no_import_form_an_artist_does(sample_workspace: Path) -> None:
    viewer = open_as("pages/data.py", "viewer", dataset="sample-images")
    assert "Importing files needs the artist role." in captions(viewer)
    assert "Exporting a version needs the artist role." in captions(viewer)
    assert not [b for b in viewer.get("form_submit_button") if "Import" in b.proto.label]
    assert not viewer.get("download_button")
    artist = open_as("pages/data.py", "artist", dataset="sample-images")
    assert "needs the artist role" not in captions(artist)
    assert [b for b in artist.get("form_submit_button") if "Import" in b.proto.label]


def test_a_viewer_cannot_launch_or_save_a_recipe(sample_workspace: Path) -> None:
    train = open_as("pages/train.py", "viewer")
    assert "Launching a training job needs the artist role." in captions(train)
    assert not [b for b in train.get("form_submit_button") if "Launch" in b.proto.label]
    brushes = open_as("pages/brushes.py", "viewer", dataset="sample-images")
    assert next(b for b in brushes.button if b.label == "Save").disabled
    assert "Saving or importing a recipe needs the artist role." in captions(brushes)
    assert "Import a recipe (.yaml)" not in [u.label for u in brushes.get("file_uploader")]
    artist = open_as("pages/brushes.py", "artist", dataset="sample-images")
    assert not next(b for b in artist.button if b.label == "Save").disabled


def audit_section_as(role: str) -> None:
    from canvascraft.services.people import Person, acting_as
    from components import audit_log

    with acting_as(Person(f"{role}-1", f"Test {role}", role)):
        audit_log.render()


def test_the_audit_log_section_shows_admins_who_changed_what(sample_workspace: Path) -> None:
    from canvascraft.services.datasets import OWN_WORK, set_dataset_licence
    from canvascraft.services.people import Person, acting_as

    with acting_as(Person("ana", "Ana Admin", "admin")):
        set_dataset_licence("sample-table", licence=OWN_WORK)
    admin = AppTest.from_function(audit_section_as, args=("admin",), default_timeout=30).run()
    assert not admin.exception
    newest = admin.dataframe[0].value.iloc[0]
    assert newest[["who", "action", "target"]].tolist() == ["Ana Admin", "dataset.licence", "sample-table"]
    artist = AppTest.from_function(audit_section_as, args=("artist",), default_timeout=30).run()
    assert "The audit log needs the admin role." in captions(artist) and not artist.dataframe
