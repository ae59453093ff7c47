"""A dataset's licence, source and consent: checked at import, edited from the CLI and the Data page,
the samples marked as the studio's own work, and a workspace made before the terms existed."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import text
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from canvascraft.cli import app as cli
from canvascraft.data.licence import check_licence
from canvascraft.data.sample import SAMPLE_DATASETS
from canvascraft.errors import DatasetError
from canvascraft.services.datasets import dataset_licence, import_path, list_datasets
from canvascraft.store.migrate import upgrade
from canvascraft.store.session import engine_for

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def studio(workspace: Path) -> Iterator[Path]:
    upgrade()
    yield workspace


def drawings(root: Path) -> Path:
    for label, shade in (("ink", 10), ("charcoal", 200)):
        (root / label).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.full((8, 8, 3), shade + i, np.uint8)).save(root / label / f"{i}.png")
    return root


def test_an_unknown_licence_is_refused_naming_the_close_ids() -> None:
    assert check_licence(" cc-by-4.0 ") == "CC-BY-4.0"
    assert check_licence("OWN WORK") == "own work"
    with pytest.raises(DatasetError) as refused:
        check_licence("CC-BY-4")
    assert "'CC-BY-4.0'" in str(refused.value) and "own work" in str(refused.value)


def test_import_sets_the_terms_and_the_cli_shows_and_edits_them(studio: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    folder = drawings(tmp_path / "drawings")
    done = runner.invoke(
        cli,
        ["datasets", "import", str(folder), "--name", "sketches", "--licence", "cc0-1.0",
         "--source", "scanned from my sketchbook", "--consent", "yes"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    terms = dataset_licence("sketches")
    assert (terms.licence, terms.source, terms.consent, terms.problems) == (
        "CC0-1.0", "scanned from my sketchbook", "yes", []
    )  # fmt: skip

    shown = runner.invoke(cli, ["datasets", "licence", "sketches"])
    assert "licence CC0-1.0" in shown.output and "consent to training: yes" in shown.output
    assert "warning" not in shown.output

    edited = runner.invoke(cli, ["datasets", "licence", "sketches", "--consent", "no"])
    assert edited.exit_code == 0, edited.output
    assert "did not consent to training" in edited.output
    assert dataset_licence("sketches").licence == "CC0-1.0", "a part not given stays as it was"

    bad = runner.invoke(cli, ["datasets", "licence", "sketches", "--consent", "maybe"])
    assert bad.exit_code == 1 and "consent must be one of yes, no, unknown" in bad.output


def test_a_bad_licence_refuses_the_import_before_anything_is_stored(studio: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["datasets", "import", str(drawings(tmp_path / "d")), "--name", "sketches", "--licence", "MTI"]
    )
    assert result.exit_code == 1
    assert "'MTI' is not a licence" in result.output and "'MIT'" in result.output
    assert list_datasets() == []


def test_a_dataset_imported_without_terms_says_what_is_missing(studio: Path, tmp_path: Path) -> None:
    import_path(drawings(tmp_path / "d"), "sketches")
    terms = dataset_licence("sketches")
    assert (terms.licence, terms.consent) == (None, "unknown")
    assert terms.problems == ["no licence is recorded", "consent to training is unknown"]
    # A later import that says nothing about the terms keeps the ones set since.
    CliRunner().invoke(cli, ["datasets", "licence", "sketches", "--licence", "MIT", "--consent", "yes"])
    import_path(drawings(tmp_path / "more"), "sketches")
    assert dataset_licence("sketches").licence == "MIT"


def test_the_sample_datasets_are_the_studios_own_work(sample_workspace: Path) -> None:
    for name in SAMPLE_DATASETS:
        terms = dataset_licence(name)
        assert (terms.licence, terms.consent) == ("own work", "yes")
        assert "generated" in terms.source and terms.problems == []


def test_a_workspace_from_before_the_terms_upgrades(database_url: str) -> None:
    upgrade(database_url, "0009")
    with engine_for(database_url).begin() as connection:
        connection.execute(
            text(
                "INSERT INTO datasets (name, modality, created_at) VALUES ('old-set', 'image', '2026-01-01')"
            )
        )
    upgrade(database_url)
    terms = dataset_licence("old-set")
    assert (terms.licence, terms.source, terms.consent) == (None, "", "unknown")
    assert "no licence is recorded" in terms.problems


def open_data(**query: str) -> AppTest:
    page = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        page.query_params[key] = value
    page.switch_page("pages/data.py")
    page.run()
    assert not page.exception, [e.message for e in page.exception]
    return page


def test_the_data_page_edits_the_licence_and_consent(studio: Path, tmp_path: Path) -> None:
    import_path(drawings(tmp_path / "d"), "sketches")
    page = open_data(dataset="sketches", tab="Licence and consent")
    assert any("will carry a warning" in w.value and "no licence" in w.value for w in page.warning)
    assert {"Licence", "Consent to training"} <= {s.label for s in page.selectbox}, "the import form asks"
    assert any("sketches keeps its terms: licence not given" in c.value for c in page.caption)

    licence = next(s for s in page.selectbox if s.key == "data_licence_sketches_licence")
    licence.set_value("CC-BY-4.0")
    next(t for t in page.text_input if t.key == "data_licence_sketches_source").input("Ana Lima, 2025")
    consent = next(w for w in page.get("button_group") if w.label == "Consent to training")
    consent.set_value("yes")
    next(b for b in page.button if b.label == "Save licence and consent").click()
    page.run()
    assert not page.exception, [e.message for e in page.exception]

    terms = dataset_licence("sketches")
    assert (terms.licence, terms.source, terms.consent) == ("CC-BY-4.0", "Ana Lima, 2025", "yes")
    assert any("Saved" in s.value for s in page.success)
    assert not any("will carry a warning" in w.value for w in page.warning)


def test_an_uploaded_import_keeps_the_licence_given_in_the_form(studio: Path) -> None:
    from canvascraft.services.datasets import import_uploads

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buffer, "PNG")
    import_uploads([("a.png", buffer.getvalue())], "loose", label="ink", licence="own work", consent="yes")
    assert dataset_licence("loose").problems == []
