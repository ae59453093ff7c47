"""The main flows in real Chromium against the studio served by ``streamlit run``."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import TrainedTemplate
from tests.studio_server import ROOT, chromium_browser, chromium_page, screenshot, serve_studio

pytestmark = pytest.mark.browser


@pytest.fixture
def studio_url(sample_workspace: Path, tmp_path: Path) -> Iterator[str]:
    with serve_studio(sample_workspace, tmp_path / "studio.log") as url:
        yield url


def wait_for_app(page: object) -> None:
    """Streamlit renders after the websocket connects; wait until the script finished running."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)


def test_home_to_data_shows_sample_thumbnails(studio_url: str) -> None:
    with chromium_page() as page:
        page.goto(studio_url)
        wait_for_app(page)
        page.get_by_text("CanvasCraft ML Studio").first.wait_for()
        for name in ("sample-images", "sample-audio", "sample-table"):
            page.get_by_text(f"Open {name}").wait_for()
        screenshot(page, "home")

        page.get_by_text("Open sample-images").click()
        page.wait_for_url("**/data?dataset=sample-images")
        wait_for_app(page)
        thumbnails = page.locator('[data-testid="stImage"] img')
        thumbnails.nth(7).wait_for()
        assert thumbnails.count() >= 8
        assert page.get_by_text("circle-000.png · 64×64").count() == 1
        screenshot(page, "data-images")


def test_share_link_reopens_table_view(studio_url: str) -> None:
    with chromium_page() as page:
        # A link opened first on a fresh server still gets the full studio frame and navigation.
        page.goto(f"{studio_url}/data?dataset=sample-table")
        wait_for_app(page)
        navigation = page.locator('[data-testid="stSidebarNav"]').inner_text()
        assert "Home" in navigation and "Data" in navigation and "app" not in navigation
        page.get_by_text("Column statistics").wait_for()
        assert page.get_by_text("label column style").count() >= 1
        screenshot(page, "data-table")

        page.goto(f"{studio_url}/data?dataset=sample-audio")
        wait_for_app(page)
        page.locator('[data-testid="stAudio"]').first.wait_for()
        screenshot(page, "data-audio")


def salted_zip() -> bytes:
    """Two good images in two label folders, plus a text file posing as a JPEG and a path escape."""
    buffer = io.BytesIO()
    rng = np.random.default_rng(3)
    with zipfile.ZipFile(buffer, "w") as archive:
        for label in ("moss", "rust"):
            image = Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8))
            png = io.BytesIO()
            image.save(png, format="PNG")
            archive.writestr(f"textures/{label}/{label}-1.png", png.getvalue())
        archive.writestr("textures/moss/notes.jpg", "these are my notes, not a photo")
        archive.writestr("../escape.png", b"\x89PNG not really")
    return buffer.getvalue()


def test_upload_zip_imports_good_files_and_lists_bad_ones(studio_url: str, tmp_path: Path) -> None:
    archive = tmp_path / "textures.zip"
    archive.write_bytes(salted_zip())
    with chromium_page() as page:
        page.goto(f"{studio_url}/data?tab=Import")
        wait_for_app(page)
        page.get_by_role("tab", name="Import").click()
        page.get_by_text("a new dataset named").click()
        files = page.get_by_role("region", name="Files or a .zip archive")
        files.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(archive))
        files.get_by_text("textures.zip").wait_for()  # uploaded before the form is sent
        page.get_by_role("textbox", name="New dataset name").fill("textures")
        page.get_by_role("button", name="Import").click()
        page.get_by_text("Imported 2 files into textures v1").wait_for()
        page.wait_for_url("**dataset=textures**")  # the page opens what it imported, and the link names it
        import_tab = page.get_by_role("tabpanel", name="Import")  # the Skipped tab lists them too
        import_tab.get_by_text("2 file(s) skipped").wait_for()
        import_tab.get_by_text("not an image").wait_for()
        import_tab.get_by_text("escapes the archive").wait_for()
        screenshot(page, "data-import")


def preview_sources(page: object) -> list[str]:
    return page.locator('[data-testid="stImage"] img').evaluate_all("els => els.map(e => e.src)")


def test_brushes_add_a_brush_and_change_a_parameter(studio_url: str) -> None:
    with chromium_page(height=1400) as page:
        page.goto(f"{studio_url}/brushes?dataset=sample-images")
        wait_for_app(page)
        page.get_by_text("Recipe · image-starter").wait_for()
        page.locator('[data-testid="stImage"] img').nth(14).wait_for()
        wait_for_app(page)
        before = preview_sources(page)
        assert len(before) == 15

        page.get_by_role("combobox", name="Add a brush").click()
        page.keyboard.type("solarize")
        page.keyboard.press("Enter")
        wait_for_app(page)
        page.get_by_role("button", name="Add", exact=True).click()
        page.get_by_text("4. solarize").wait_for()  # before the starter's final normalize
        wait_for_app(page)

        threshold = page.get_by_role("slider", name="threshold")
        threshold.focus()
        for _ in range(3):
            page.keyboard.press("PageDown")
        threshold.press("Home")
        wait_for_app(page)
        page.wait_for_function(
            "before => [...document.querySelectorAll('[data-testid=\"stImage\"] img')]"
            ".map(e => e.src).some((src, i) => src !== before[i])",
            arg=before,
        )
        assert threshold.input_value() == "0"
        screenshot(page, "brushes-images")


def test_train_page_launches_a_job_and_watches_it_finish(studio_url: str) -> None:
    """The served studio's own scheduler starts the job; the page follows it without a reload."""
    with chromium_page(height=2400) as page:
        page.goto(f"{studio_url}/train")
        wait_for_app(page)
        page.get_by_text("New training job").wait_for()
        page.get_by_role("combobox", name="Dataset").click()
        page.keyboard.type("sample-table")
        page.keyboard.press("Enter")
        wait_for_app(page)
        page.get_by_text("(impressionist)").first.wait_for()  # the pins offered are table rows now
        epochs = page.get_by_role("spinbutton", name="epochs")
        epochs.fill("2")
        epochs.press("Enter")
        wait_for_app(page)
        page.get_by_role("button", name="Launch training").click()
        page.get_by_role("heading", name="#1 · table-mlp on sample-table · table-starter").wait_for()
        page.get_by_text("Finished: best epoch", exact=False).wait_for(timeout=120_000)
        page.get_by_text("Filmstrip", exact=True).wait_for()
        page.get_by_role("button", name="Cancel").wait_for(state="detached")  # actions follow the state
        page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
        screenshot(page, "train")
        # A closed tab stops nothing, and the link reopens the same job.
        page.goto(f"{studio_url}/train?job=1")
        wait_for_app(page)
        page.get_by_text("#1 · table-mlp on sample-table · table-starter").first.wait_for()


def test_tune_mode_starts_a_study_and_shows_its_plots(studio_url: str) -> None:
    """A small study from the Tune form: the served scheduler starts its driver, the driver its trials,
    and the study's view follows them until Optuna's optimization history is drawn."""
    with chromium_page(height=2400) as page:
        page.goto(f"{studio_url}/train?mode=Tune")
        wait_for_app(page)
        page.get_by_text("New study").wait_for()
        page.get_by_role("combobox", name="Dataset").click()
        page.keyboard.type("sample-table")
        page.keyboard.press("Enter")
        wait_for_app(page)
        page.get_by_text("Search space").wait_for()
        for label, value in (("trials", "2"), ("epochs", "2")):
            field = page.get_by_role("spinbutton", name=label)
            field.fill(value)
            field.press("Enter")
            wait_for_app(page)
        screenshot(page, "tune-form")
        page.get_by_role("button", name="Start study").click()
        page.get_by_role("heading", name="Study table-starter-table-mlp-1").wait_for()
        page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=180_000)
        page.get_by_text("Optimization History Plot").first.wait_for()
        page.get_by_text("Finished: 2 of 2 trials finished", exact=False).wait_for(timeout=120_000)
        page.get_by_role("button", name="Train the best").wait_for()
        screenshot(page, "tune-study")


@pytest.fixture
def studio_with_runs(sample_workspace: Path, tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """A served studio whose gallery holds two finished table runs (trained before serving)."""
    from canvascraft.gallery.runs import search_runs
    from canvascraft.services.jobs import launch_training, wait_for

    jobs = [launch_training("sample-table", "table-starter", "table-mlp", epochs=e) for e in (2, 3)]
    assert all(wait_for(job, timeout_s=240).state == "succeeded" for job in jobs)
    names = [card.name for card in search_runs().cards]
    with serve_studio(sample_workspace, tmp_path / "studio.log") as url:
        yield url, names


def test_gallery_share_link_reopens_the_comparison_in_a_fresh_browser(
    studio_with_runs: tuple[str, list[str]],
) -> None:
    url, names = studio_with_runs
    with chromium_browser() as browser:
        first = browser.new_context(viewport={"width": 1400, "height": 2000}).new_page()
        first.set_default_timeout(30_000)
        first.goto(f"{url}/gallery")
        wait_for_app(first)
        for position in range(2):
            first.locator('[data-testid="stCheckbox"]').filter(has_text="compare").nth(position).click()
            # The rerun a tick starts may not have begun yet: wait for what it shows, not for idle.
            first.get_by_text(f"{position + 1} run(s) picked", exact=False).wait_for()
            wait_for_app(first)
        first.get_by_role("button", name="Compare").click()
        first.get_by_role("heading", name="Comparing 2 runs").wait_for()
        first.get_by_role("button", name="Copy link").click()
        shared = first.locator('[data-testid="stPopoverBody"] [data-testid="stCode"]').inner_text().strip()
        assert shared.startswith(f"{url}/gallery?view=compare&runs=") and "/tmp" not in shared

        # Someone else opens the link: a new context shares no cookies, storage or session.
        other = browser.new_context(viewport={"width": 1400, "height": 2000}).new_page()
        other.set_default_timeout(30_000)
        other.goto(shared)
        wait_for_app(other)
        other.get_by_role("heading", name="Comparing 2 runs").wait_for()
        for name in names:
            other.get_by_text(name).first.wait_for()
        other.locator('[data-testid="stPlotlyChart"]').first.wait_for()
        screenshot(other, "gallery-compare-shared")

        tampered = shared.replace("runs=", "runs=abc")
        other.goto(tampered)
        wait_for_app(other)
        other.get_by_text("This link was changed or is out of date").first.wait_for()
        other.get_by_role("button", name="Apply filters").wait_for()  # and the gallery is there
        screenshot(other, "gallery-tampered-link")


@pytest.fixture
def studio_with_drift(sample_workspace: Path, tmp_path: Path) -> Iterator[tuple[str, int, list[str]]]:
    """A served studio watching a tiny table model every minute, with a check that found drift."""
    from canvascraft.gallery.registry import register
    from canvascraft.services.drift import run_check_now, save_monitor
    from canvascraft.services.jobs import launch_training, wait_for
    from tests.drift.test_drift_page import shifted_rows

    job = wait_for(launch_training("sample-table", "table-starter", "table-mlp", epochs=2), timeout_s=240)
    assert job.state == "succeeded" and job.mlflow_run_id, job.error_tail
    register(job.mlflow_run_id, "paints", alias="champion")
    save_monitor("paints", source_kind="dataset", source="sample-table")
    run_check_now("paints", trigger="manual")
    shifted_rows(save_monitor("paints", source_kind="folder", every="1min").folder)
    drifted = run_check_now("paints", trigger="schedule").summary
    assert drifted.drifted and drifted.sentences
    with serve_studio(sample_workspace, tmp_path / "studio.log") as url:
        yield url, drifted.id, drifted.sentences


def test_drift_check_share_link_reopens_the_check_in_a_fresh_browser(
    studio_with_drift: tuple[str, int, list[str]],
) -> None:
    from canvascraft.drift.report import as_sentence

    url, check_id, sentences = studio_with_drift
    with chromium_browser() as browser:
        first = browser.new_context(viewport={"width": 1400, "height": 2000}).new_page()
        first.set_default_timeout(30_000)
        first.goto(f"{url}/drift")
        wait_for_app(first)
        first.get_by_text("Drift found").first.wait_for()
        first.get_by_role("button", name="Copy link").click()
        shared = first.locator('[data-testid="stPopoverBody"] [data-testid="stCode"]').inner_text().strip()
        assert shared == f"{url}/drift?model=paints&check={check_id}" and "/tmp" not in shared

        # Someone else opens the link: a new context shares no cookies, storage or session.
        other = browser.new_context(viewport={"width": 1400, "height": 2000}).new_page()
        other.set_default_timeout(30_000)
        other.goto(shared)
        wait_for_app(other)
        other.get_by_text("Drift found").first.wait_for()
        for sentence in sentences:
            other.get_by_text(as_sentence(sentence)).first.wait_for()
        other.locator('[data-testid="stPlotlyChart"]').first.wait_for()
        screenshot(other, "drift-check-shared")

        other.goto(f"{url}/drift?model=paints&check=99999")
        wait_for_app(other)
        other.get_by_text("there is no drift check 99999").first.wait_for()


def test_a_share_link_made_with_the_cli_opens_one_run_until_revoked(
    trained_runs_workspace: TrainedTemplate, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    from canvascraft.gallery.detail import run_detail

    run_id, other = trained_runs_workspace.run_ids["table"], trained_runs_workspace.run_ids["image"]
    name, other_name = run_detail(run_id).card.name, run_detail(other).card.name
    env = {**os.environ, "CANVASCRAFT_WORKSPACE": str(trained_runs_workspace.path)}

    def cli(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "canvascraft.cli", "link", *args], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    with (
        serve_studio(trained_runs_workspace.path, tmp_path / "studio.log") as url,
        chromium_browser() as browser,
    ):
        env["CANVASCRAFT_STUDIO_URL"] = url  # as behind a proxy: the address others reach
        shared = cli("run", run_id, "--expires", "7d")
        assert shared.startswith(f"{url}/?share=") and run_id not in shared
        # Someone without an account: a fresh context, no cookies, storage or session.
        page = browser.new_context(viewport={"width": 1400, "height": 1800}).new_page()
        page.set_default_timeout(30_000)
        page.goto(shared)
        wait_for_app(page)
        page.get_by_role("heading", name="A training run").wait_for()
        page.get_by_role("heading", name=name).wait_for()
        page.get_by_text("Shared with you read only").wait_for()
        page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0
        assert page.get_by_role("button", name="Register").count() == 0
        assert page.get_by_role("button", name="← All runs").count() == 0
        assert page.get_by_text(other_name).count() == 0
        screenshot(page, "share-link-run")

        # On a page's address too, and with no "page not found" over it.
        page.goto(shared.replace("/?share=", "/gallery?share="))
        wait_for_app(page)
        page.get_by_role("heading", name=name).wait_for()
        assert page.get_by_text("Page not found").count() == 0

        # Editing the address does not reach another run: the signed link's view is what opens.
        page.goto(f"{shared}&view=run&run={other}")
        wait_for_app(page)
        page.get_by_role("heading", name=name).wait_for()
        assert page.get_by_text(other_name).count() == 0

        assert "revoked" in cli("revoke", "1")
        page.goto(shared)
        wait_for_app(page)
        page.get_by_role("heading", name="This link is not valid").wait_for()
        page.get_by_text("It may have expired or been revoked").wait_for()
        assert page.get_by_role("heading", name=name).count() == 0
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0
        assert page.get_by_role("button").count() == 0
        screenshot(page, "share-link-not-valid")
