"""The Gallery page through AppTest: the grid, a run, registering, models, trying a model, comparing,
share links and links that were tampered with or point at something gone.

The session's four tiny real runs (image, audio, and two table runs whose recipes differ in one
setting; ``tests/conftest.py``) are shared; each test works on its own copy of their workspace, so
registering or deleting in one test never leaks into another.
"""

from __future__ import annotations

import io
import math
import wave
from pathlib import Path

import numpy as np
import pytest
from mlflow.entities import Metric, Param
from PIL import Image
from streamlit.testing.v1 import AppTest

from canvascraft.gallery.detail import items_in_cell, run_detail
from canvascraft.gallery.predict import Predictor
from canvascraft.gallery.registry import download_zip, model_versions, register
from canvascraft.share.links import GalleryState, link, parse
from canvascraft.tracking.runs import ensure_experiment, tracking_client
from tests.conftest import TrainedTemplate

APP = str(Path(__file__).resolve().parent.parent / "app.py")
BASE = "http://studio.test:8501"
Runs = dict[str, str]


@pytest.fixture
def runs(trained_runs_workspace: TrainedTemplate) -> Runs:
    """A private copy of the session's trained workspace (artifacts are still read from the template's
    folder): table, image, audio and median runs."""
    return trained_runs_workspace.run_ids


def open_gallery(**query: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    app.context["url"] = f"{BASE}/gallery"
    for name, value in query.items():
        app.query_params[name] = value
    app.switch_page("pages/gallery.py")
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def run_again(app: AppTest) -> AppTest:
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def button(app: AppTest, label: str, nth: int = 0):
    return [b for b in app.button if b.label == label][nth]


def cards(app: AppTest) -> list[str]:
    """The run names on the grid's cards, in order."""
    return [
        m.value.strip("*")
        for m in app.markdown
        if m.value.startswith("**job-") or m.value.startswith("**run-")
    ]


def texts(app: AppTest) -> str:
    return "\n".join([m.value for m in app.markdown] + [c.value for c in app.caption])


def shared_link(app: AppTest) -> str:
    """The link the Copy link popover shows."""
    (code,) = [c for c in app.code if c.value.startswith(BASE)]
    return code.value


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    picture = Image.new("RGB", (64, 64), colour)
    picture.paste((255 - colour[0], 40, 200), (16, 16, 48, 48))
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def wav(seconds: float = 1.0, rate: int = 16_000, pitch: float = 440.0) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.4 * np.sin(2 * math.pi * pitch * t) * 32767).astype(np.int16)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


def log_plain_runs(count: int) -> list[str]:
    """Runs logged straight into the tracking store: enough to page the grid without training."""
    client = tracking_client()
    experiment = ensure_experiment()
    made = []
    for number in range(count):
        run = client.create_run(
            experiment, run_name=f"run-{number:02d}", tags={"canvascraft.modality": "table"}
        )
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("val_accuracy", 0.5 + number / 100, 0, 1)],
            params=[Param("dataset", "logged"), Param("trainer", "table-mlp")],
        )
        client.set_terminated(run.info.run_id, "FINISHED")
        made.append(run.info.run_id)
    return made


def test_grid_shows_a_card_per_run_filters_and_pages(runs: Runs) -> None:
    app = open_gallery()
    assert len(cards(app)) == len(runs) == 4
    metric = next(s for s in app.selectbox if s.label == "metric")
    assert metric.value == "val_accuracy"
    assert "val_accuracy **" in texts(app)

    next(s for s in app.selectbox if s.label == "dataset").set_value("sample-table")
    button(app, "Apply filters").click()
    run_again(app)
    assert query(app) == {"dataset": "sample-table", "metric": "val_accuracy"}
    assert sorted(cards(app)) == sorted(run_detail(runs[k]).card.name for k in ("table", "median"))
    assert parse(query(app)).dataset == "sample-table"

    log_plain_runs(10)
    app = open_gallery()
    assert len(cards(app)) == 12 and "Page 1" in texts(app)
    button(app, "Next →").click()
    run_again(app)
    assert len(cards(app)) == 2 and "Page 2" in texts(app)
    assert query(app)["page"] == "2"
    button(app, "← Previous").click()
    run_again(app)
    assert len(cards(app)) == 12


def query(app: AppTest) -> dict[str, str]:
    return {key: (value[-1] if isinstance(value, list) else value) for key, value in app.query_params.items()}


def test_open_a_run_see_its_figures_and_the_items_of_a_cell(runs: Runs) -> None:
    app = open_gallery()
    detail = run_detail(runs["image"])
    position = cards(app).index(detail.card.name)
    button(app, "Open", position).click()
    run_again(app)
    assert query(app) == {"view": "run", "run": runs["image"]}
    assert app.subheader[0].value == detail.card.name
    assert len(app.get("plotly_chart")) == 3  # curves, confusion matrix, embedding map
    per_class = next(d.value for d in app.dataframe if "precision" in d.value.columns)
    assert list(per_class["class"]) == detail.classes

    truth, guess = detail.classes[0], detail.items[0].predicted
    app.selectbox(key=f"gallery_cell_true_{runs['image']}").set_value(truth)
    app.selectbox(key=f"gallery_cell_guess_{runs['image']}").set_value(guess)
    run_again(app)
    behind = items_in_cell(detail, truth, guess)
    assert f"{len(behind)} item(s) labelled {truth}, predicted {guess}" in texts(app)
    captions = [caption for image in app.get("image") for caption in image.captions]
    assert [c for c in captions if " → " in c] == [
        f"{'✓' if i.correct else '✗'} {i.label} → {i.predicted} ({i.confidence:.0%})" for i in behind
    ]


def test_register_from_the_run_then_the_models_view(runs: Runs) -> None:
    app = open_gallery(view="run", run=runs["image"])
    next(t for t in app.text_input if t.label == "model name").input("shapes")
    next(t for t in app.text_input if t.label == "alias (optional)").input("champion")
    button(app, "Register").click()
    run_again(app)
    assert not app.error, [e.value for e in app.error]
    assert app.success[0].value == "Registered as shapes version 1 with alias champion."
    (version,) = model_versions("shapes")
    assert version.aliases == ["champion"] and version.run_id == runs["image"]

    button(app, "Open the model").click()
    run_again(app)
    assert query(app) == {"view": "models", "model": "shapes", "version": "1"}
    table = next(d.value for d in app.dataframe if "aliases" in d.value.columns)
    assert list(table["version"]) == [1] and list(table["aliases"]) == ["champion"]
    assert [d.label for d in app.get("download_button")] == [
        "Download as zip",
        "Download for use outside the studio",
        "Download card.md",
    ]
    assert download_zip("shapes", 1)[:2] == b"PK"
    assert shared_link(app) == link(BASE, GalleryState(view="models", model="shapes", version="1"))


def test_try_a_sample_item_and_uploaded_files(runs: Runs) -> None:
    register(runs["image"], "shapes", "champion")
    app = open_gallery(view="try", model="shapes", version="champion")
    item = query(app)["item"]  # the sample item shown is in the link
    expected = Predictor.from_ref("shapes@champion").predict_item(item)
    assert f"Top prediction: **{expected.label}**" in texts(app)
    assert shared_link(app) == link(
        BASE, GalleryState(view="try", model="shapes", version="champion", item=item)
    )

    uploader = app.file_uploader(key="gallery_try_files")
    uploader.set_value(("new.png", png((200, 30, 30)), "image/png"))
    run_again(app)
    assert len([m for m in app.markdown if m.value.startswith("Top prediction:")]) == 2

    app.file_uploader(key="gallery_try_files").set_value(
        ("broken.png", b"this is not a picture", "image/png")
    )
    run_again(app)
    assert (
        "cannot read 'broken.png'" in app.error[0].value
        and "This model reads a picture" in app.error[0].value
    )

    app.file_uploader(key="gallery_try_files").set_value(
        [("one.png", png((10, 200, 30)), "image/png"), ("two.png", png((30, 30, 220)), "image/png"),
         ("bad.png", b"nope", "image/png")]
    )  # fmt: skip
    run_again(app)
    table = next(d.value for d in app.dataframe if "predicted" in d.value.columns)
    assert list(table["file"]) == ["one.png", "two.png", "bad.png"]
    assert all(table["predicted"][:2] != "") and "cannot read" in table["error"][2]
    assert "1 file(s) could not be read" in app.warning[0].value
    assert "Download predictions (CSV)" in [d.label for d in app.get("download_button")]


def test_try_an_audio_model_on_a_new_clip(runs: Runs) -> None:
    register(runs["audio"], "sounds", "champion")
    app = open_gallery(view="try", model="sounds", version="champion")
    assert "audio model" in texts(app)
    app.file_uploader(key="gallery_try_files").set_value(("beep.wav", wav(), "audio/wav"))
    run_again(app)
    expected = Predictor.from_ref("sounds@champion").predict_file(wav(), "beep.wav")
    assert f"Top prediction: **{expected.label}** ({expected.probability:.0%})" in texts(app)


def test_compare_two_runs_from_the_grid(runs: Runs) -> None:
    app = open_gallery()
    names = {key: run_detail(run_id).card.name for key, run_id in runs.items()}
    for key in ("table", "median"):
        app.checkbox(key=f"gallery_pick_{runs[key]}").check()
        run_again(app)
    button(app, "Compare").click()
    run_again(app)
    assert query(app) == {"view": "compare", "runs": f"{runs['table']},{runs['median']}"}
    assert app.subheader[0].value == "Comparing 2 runs"
    assert "**Parameters** · 1 differ (highlighted)" in texts(app)
    app.toggle(key="gallery_compare_only").set_value(True)
    run_again(app)
    params = app.dataframe[0].value
    params = params.data if hasattr(params, "data") else params
    assert list(params["parameter"]) == ["recipe"]
    assert list(params[names["table"]]) == ["table-starter"] and list(params[names["median"]]) == [
        "table-median"
    ]
    recipe = next(d.value for d in app.dataframe if "setting" in d.value.columns)
    assert list(recipe["setting"]) == ["recipe name", "1. impute_missing · strategy"]
    assert list(recipe[names["median"]]) == ["table-median", "median"]
    assert shared_link(app) == link(BASE, GalleryState(view="compare", runs=(runs["table"], runs["median"])))

    # Two unrelated recipes: whole steps are grouped per run, not listed one line each.
    app = open_gallery(view="compare", runs=f"{runs['image']},{runs['audio']}")
    lines = [m.value for m in app.markdown if m.value.startswith("Only in")]
    assert lines == [
        f"Only in **{names['image']}** (not in {names['audio']}): 1. resize, 2. random_resized_crop, "
        "3. color_jitter, 4. normalize",
        f"Only in **{names['audio']}**: 1. gain, 2. time_shift, 3. add_noise, 4. mel_spectrogram, "
        "5. log_scale, 6. time_mask, 7. freq_mask, 8. standardize",
    ]


def test_a_share_link_reopens_the_same_view(runs: Runs) -> None:
    state = GalleryState(view="compare", runs=(runs["median"], runs["image"]))
    shown = open_gallery(view="compare", runs=f"{runs['median']},{runs['image']}")
    assert shared_link(shown) == link(BASE, state)
    assert "/tmp" not in shared_link(shown) and "workspace" not in shared_link(shown)
    filtered = GalleryState(dataset="sample-table", metric="val_accuracy", low=0.1, sort="val_accuracy")
    app = open_gallery(dataset="sample-table", metric="val_accuracy", low="0.1", sort="val_accuracy")
    assert shared_link(app) == link(BASE, filtered)
    assert len(cards(app)) == 2


@pytest.mark.parametrize(
    ("tampered", "message"),
    [
        ({"view": "run", "run": "../../x"}, "the link's run is not a valid run id"),
        ({"view": "compare", "runs": "abc"}, "the link's runs hold something that is not a run id"),
        ({"model": "ghost"}, "There is no model 'ghost'"),
        ({"view": "try", "model": "ghost", "version": "champion"}, "There is no model 'ghost'"),
        ({"view": "run", "run": "0123456789abcdef0123456789abcdef"}, "does not exist (deleted?)"),
        (
            {"view": "compare", "runs": "0123456789abcdef0123456789abcdef,{image}"},
            "does not exist (deleted?)",
        ),
        ({"page": "1e9"}, "the link's page is not a valid page number"),
        ({"metric": "val_accuracy", "low": "0.9", "high": "0.1"}, "metric range is empty"),
    ],
)
def test_a_tampered_link_explains_and_shows_the_gallery(
    runs: Runs, tampered: dict[str, str], message: str
) -> None:
    app = open_gallery(**{key: value.format(**runs) for key, value in tampered.items()})
    said = [w.value for w in app.warning] + [e.value for e in app.error]
    assert any(message in text for text in said), said
    assert app.title[0].value == "Gallery"
    shown = cards(app) or [i.value for i in app.info]  # the grid, or the models section's own words
    assert shown


def test_a_link_to_a_deleted_run_names_it_and_shows_the_others(runs: Runs) -> None:
    tracking_client().delete_run(runs["audio"])
    app = open_gallery(view="run", run=runs["audio"])
    assert f"run {runs['audio']} does not exist (deleted?)" in app.error[0].value
    assert len(cards(app)) == 3


def test_try_a_training_checkpoint_without_registering(runs: Runs) -> None:
    from canvascraft.services.jobs import list_training_jobs

    image_job = next(v.job.id for v in list_training_jobs() if v.job.spec["dataset"] == "sample-images")
    app = open_gallery(view="try", checkpoint=f"{image_job}:best")
    item = query(app)["item"]
    expected = Predictor.from_checkpoint(image_job, "best").predict_item(item)
    assert f"Top prediction: **{expected.label}**" in texts(app)
    assert query(app)["checkpoint"] == f"{image_job}:best"
    assert shared_link(app) == link(BASE, GalleryState(view="try", checkpoint=f"{image_job}:best", item=item))
    gone = open_gallery(view="try", checkpoint="999:best")
    assert any("There is no checkpoint 999:best" in w.value for w in gone.warning)
    assert query(gone)["checkpoint"] != "999:best"


def test_the_address_bar_follows_every_move_between_views(runs: Runs) -> None:
    """Opening a run left ``/gallery`` in the address bar; the Models tab kept ``?view=compare…``.
    After each move the URL names exactly the view on screen, and reopening it shows the same."""
    register(runs["image"], "shapes", "champion")
    app = open_gallery(view="compare", runs=f"{runs['table']},{runs['median']}")
    assert query(app) == {"view": "compare", "runs": f"{runs['table']},{runs['median']}"}

    next(s for s in app.get("button_group") if s.label == "Section").set_value("Models")
    run_again(app)
    assert query(app) == {"view": "models", "model": "shapes"}  # the first model is picked and named
    assert open_gallery(**query(app)).query_params == app.query_params

    next(s for s in app.get("button_group") if s.label == "Section").set_value("Runs")
    run_again(app)
    assert query(app) == {}
    detail = run_detail(runs["image"])
    button(app, "Open", cards(app).index(detail.card.name)).click()
    run_again(app)
    assert query(app) == {"view": "run", "run": runs["image"]}
    assert open_gallery(**query(app)).subheader[0].value == detail.card.name
    button(app, "← All runs").click()
    run_again(app)
    assert query(app) == {} and len(cards(app)) == 4
