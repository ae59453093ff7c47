"""Try in the Gallery through AppTest: several files each shown beside its prediction, and trying a
model live from the microphone or the camera."""

from __future__ import annotations

import io

from PIL import Image

from canvascraft.gallery.predict import Predictor
from canvascraft.gallery.registry import register
from tests.test_gallery_page import Runs, open_gallery, png, run_again, runs, wav

__all__ = ["runs"]  # the fixture, shared with the gallery page tests


def jpeg(colour: tuple[int, int, int]) -> bytes:
    """What ``st.camera_input`` hands back: a JPEG photo."""
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png(colour))).convert("RGB").save(buffer, format="JPEG")
    return buffer.getvalue()


def lines(app) -> list[str]:
    return [m.value for m in app.markdown]


def test_several_images_each_show_a_thumbnail_beside_the_prediction(runs: Runs) -> None:
    register(runs["image"], "shapes", "champion")
    app = open_gallery(view="try", model="shapes", version="champion")
    pictures_before = len(app.image)

    app.file_uploader(key="gallery_try_files").set_value(
        [("one.png", png((10, 200, 30)), "image/png"), ("two.png", png((30, 30, 220)), "image/png"),
         ("bad.png", b"nope", "image/png")]
    )  # fmt: skip
    run_again(app)

    predictor = Predictor.from_ref("shapes@champion")
    expected = predictor.predict_file(png((10, 200, 30)), "one.png")
    assert f"one.png → **{expected.label}** ({expected.probability:.0%})" in lines(app)
    assert any(line.startswith("bad.png → :red[cannot read it") for line in lines(app))
    assert len(app.image) == pictures_before + 2, "one thumbnail per readable picture"


def test_several_clips_each_get_a_player_beside_the_prediction(runs: Runs) -> None:
    register(runs["audio"], "sounds", "champion")
    app = open_gallery(view="try", model="sounds", version="champion")
    players_before = len(app.get("audio"))

    app.file_uploader(key="gallery_try_files").set_value(
        [("low.wav", wav(pitch=220.0), "audio/wav"), ("high.wav", wav(pitch=880.0), "audio/wav")]
    )
    run_again(app)

    expected = Predictor.from_ref("sounds@champion").predict_file(wav(pitch=880.0), "high.wav")
    assert f"high.wav → **{expected.label}** ({expected.probability:.0%})" in lines(app)
    assert len(app.get("audio")) == players_before + 2


def test_try_live_predicts_a_recording_for_an_audio_model(runs: Runs) -> None:
    register(runs["audio"], "sounds", "champion")
    app = open_gallery(view="try", model="sounds", version="champion")
    assert not app.camera_input, "an audio model is tried with the microphone, not the camera"

    app.audio_input(key="gallery_try_record").set_value(("recording.wav", wav(pitch=330.0), "audio/wav"))
    run_again(app)

    expected = Predictor.from_ref("sounds@champion").predict_file(wav(pitch=330.0), "recording.wav")
    assert f"Top prediction: **{expected.label}** ({expected.probability:.0%})" in lines(app)


def test_try_live_predicts_a_photo_for_an_image_model(runs: Runs) -> None:
    register(runs["image"], "shapes", "champion")
    app = open_gallery(view="try", model="shapes", version="champion")
    assert not app.audio_input

    app.camera_input(key="gallery_try_camera").set_value(("photo.jpg", jpeg((200, 30, 30)), "image/jpeg"))
    run_again(app)

    expected = Predictor.from_ref("shapes@champion").predict_file(jpeg((200, 30, 30)), "photo.jpg")
    assert f"Top prediction: **{expected.label}** ({expected.probability:.0%})" in lines(app)
