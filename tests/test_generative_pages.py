"""A generative run through the pages (AppTest): its samples in the job panel, its card, its page with
samples by epoch, generating and walking from the run and from a registered version, and the launch
form offering the trainer's own starter recipe."""

from __future__ import annotations

import base64
import io
import json
import sys
import urllib.error
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from canvascraft.services.gallery import generate
from tests.local_servers import HOST, free_port, post_json, started, wait_answering
from tests.test_gallery_page import open_gallery, run_again, texts
from tests.test_train_page import open_train


def captions(app: AppTest) -> list[str]:
    return [caption for image in app.get("image") for caption in image.captions]


def test_the_job_panel_shows_samples_epoch_by_epoch(flow: tuple[int, str]) -> None:
    app = open_train(flow[0])

    assert "**Samples** · what the model makes, epoch by epoch" in texts(app)
    assert "one row per label (checker, circle, square, stripes, triangle)" in texts(app)
    assert captions(app) == ["epoch 2 (latest)", "epoch 1"]
    assert any("Finished: best epoch" in s.value and "validation flow loss" in s.value for s in app.success)
    assert not [m for m in app.markdown if m.value.startswith("**Filmstrip**")]  # no classifier filmstrip


def test_the_launch_form_offers_the_trainers_own_starter(sample_workspace: Path) -> None:
    app = open_train()
    app.selectbox(key="train_dataset").set_value("sample-images").run()
    assert app.selectbox(key="train_recipe_image_image-cnn").value == "image-starter"

    app.selectbox(key="train_trainer_image").set_value("image-flow").run()

    assert app.selectbox(key="train_recipe_image_image-flow").value == "image-flow-starter"


def test_a_generative_run_card_shows_its_loss_and_its_page_its_samples(flow: tuple[int, str]) -> None:
    grid = open_gallery()
    assert any(m.value.startswith("val_loss **") for m in grid.markdown)  # not "val_accuracy: not logged"

    app = open_gallery(view="run", run=flow[1])

    slider = app.select_slider(key=f"gallery_samples_{flow[1]}")
    assert slider.options == ["1", "2"] and slider.value == 2
    assert "epoch 2 of 2" in captions(app)
    slider.set_value(1)
    assert "epoch 1 of 2" in captions(run_again(app))


def test_generate_from_a_run_page_and_download_the_zip(flow: tuple[int, str]) -> None:
    app = open_gallery(view="run", run=flow[1])
    first_seed = next(n for n in app.number_input if n.label == "first seed")
    first_seed.set_value(3)
    next(n for n in app.number_input if n.label == "pictures").set_value(6)
    next(s for s in app.slider if s.label == "sampling steps").set_value(4)
    next(b for b in app.button if b.label == "Generate").click()
    run_again(app)

    labels = ["checker", "circle", "square", "stripes", "triangle", "checker"]
    assert [c for c in captions(app) if c.endswith(".png")] == [
        f"{lab}-{3 + i}.png" for i, lab in enumerate(labels)
    ]
    (download,) = [d for d in app.get("download_button") if "as a zip" in d.proto.label]
    assert download.proto.label == "Download 6 PNG(s) as a zip"


def test_try_a_registered_generator_by_label_and_walk(flow: tuple[int, str]) -> None:
    app = open_gallery(view="try", model="shapes-maker", version="champion")
    next(s for s in app.selectbox if s.label == "label" and "circle" in s.options).set_value("circle")
    next(n for n in app.number_input if n.label == "pictures").set_value(2)
    next(s for s in app.slider if s.label == "sampling steps").set_value(3)
    next(b for b in app.button if b.label == "Generate").click()
    run_again(app)
    assert [c for c in captions(app) if c.endswith(".png")] == ["circle-0.png", "circle-1.png"]

    next(n for n in app.number_input if n.label == "to seed").set_value(7)
    next(n for n in app.number_input if n.label == "frames").set_value(3)
    next(b for b in app.button if b.label == "Walk").click()
    run_again(app)
    assert "seed 0 → 7" in captions(app)
    assert "every frame" in captions(app)


def test_pictures_zip_holds_one_png_per_picture(flow: tuple[int, str]) -> None:
    from canvascraft.services.gallery import pictures_zip

    pictures = generate("shapes-maker@champion", n=3, label="square", seed=1, steps=2)
    with zipfile.ZipFile(io.BytesIO(pictures_zip(pictures))) as archive:
        assert archive.namelist() == ["square-1.png", "square-2.png", "square-3.png"]
        assert Image.open(io.BytesIO(archive.read("square-1.png"))).size == (16, 16)


def test_serve_makes_the_same_pictures_over_http(flow: tuple[int, str], tmp_path: Path) -> None:
    expected = generate("shapes-maker@champion", n=2, label="circle", seed=5, steps=4)
    port = free_port()
    command = [sys.executable, "-m", "canvascraft.cli", "serve", "shapes-maker@champion", "--port", str(port)]
    log = tmp_path / "serve.log"
    with started(command, tmp_path, log) as server:
        url = f"http://{HOST}:{port}"
        wait_answering(url, server, log, path="/ping", timeout=120)
        answer = post_json(url, "/invocations", {"n": 2, "label": "circle", "seed": 5, "steps": 4})
        with pytest.raises(urllib.error.HTTPError) as refused:
            post_json(url, "/invocations", {"label": "hexagon"})

    assert [p["file_name"] for p in answer["pictures"]] == ["circle-5.png", "circle-6.png"]
    assert [base64.b64decode(p["png"]) for p in answer["pictures"]] == [p.png for p in expected]
    assert refused.value.code == 400
    assert "knows no label 'hexagon'" in json.loads(refused.value.read())["detail"]
    assert "serving generator shapes-maker@champion" in log.read_text()


def test_a_generator_cannot_be_watched_for_drift(flow: tuple[int, str]) -> None:
    from canvascraft.errors import DriftError
    from canvascraft.services.drift import list_monitors, save_monitor

    with pytest.raises(DriftError, match="cannot watch shapes-maker@champion: it is a generator"):
        save_monitor("shapes-maker", alias="champion", every="1h")
    assert list_monitors() == []


def test_runs_list_shows_each_runs_own_primary_figure(flow: tuple[int, str]) -> None:
    from typer.testing import CliRunner

    from canvascraft.cli import app

    result = CliRunner().invoke(app, ["runs", "list"])
    assert result.exit_code == 0, result.output
    (line,) = [row for row in result.output.splitlines() if row.startswith(flow[1])]
    assert line.split()[-2] == "val_loss" and "image-flow" in line


def test_a_generator_run_fits_no_baseline(flow: tuple[int, str]) -> None:
    from canvascraft.services.jobs import training_view
    from canvascraft.tracking.runs import tracking_client

    job, run_id = flow
    data = tracking_client().get_run(run_id).data
    assert "baseline" not in data.params and not any(k.startswith("baseline_") for k in data.metrics)
    view = training_view(job)
    assert view.baseline is None and view.baseline_note is None and view.behind_baseline is None
    app = open_train(job)
    assert not any("baseline" in s.value for s in app.success)
