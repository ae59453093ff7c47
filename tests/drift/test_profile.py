"""Reference profiles: signal features on synthetic files, statistics against numpy, JSON, sentences."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from PIL import Image

from canvascraft.drift import (
    Profile,
    build_profile,
    chi_square,
    feature_table,
    numeric_drift,
    plain_sentences,
    prediction_drift,
    signal_features,
)
from canvascraft.errors import DriftError


def _png(colour: tuple[int, int, int], size: int = 32, noise: int = 0, seed: int = 0) -> bytes:
    pixels = np.full((size, size, 3), colour, dtype=np.int16)
    if noise:
        pixels += np.random.default_rng(seed).integers(-noise, noise + 1, pixels.shape, dtype=np.int16)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _wav(frequency: float, seconds: float, rate: int = 16000, amplitude: float = 0.5) -> bytes:
    time = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    sf.write(buffer, amplitude * np.sin(2 * np.pi * frequency * time), rate, format="WAV")
    return buffer.getvalue()


def test_image_features_order_dark_and_bright() -> None:
    dark = signal_features("image", _png((30, 30, 30)))
    bright = signal_features("image", _png((220, 220, 220)))
    assert dark["brightness"] == pytest.approx(30 / 255, abs=1e-6)
    assert dark["brightness"] < bright["brightness"]
    assert dark["contrast"] == pytest.approx(0.0, abs=1e-9)
    assert bright["saturation"] == pytest.approx(0.0, abs=1e-9)


def test_image_features_colour_and_saturation() -> None:
    red = signal_features("image", _png((200, 0, 0)))
    assert red["mean_r"] == pytest.approx(200 / 255, abs=1e-6)
    assert red["mean_g"] == pytest.approx(0.0) and red["mean_b"] == pytest.approx(0.0)
    assert red["saturation"] == pytest.approx(1.0)
    assert signal_features("image", _png((128, 128, 128), noise=60))["contrast"] > 0.05


def test_audio_features_of_a_tone() -> None:
    features = signal_features("audio", _wav(440.0, 0.5, amplitude=0.5))
    assert features["duration_s"] == pytest.approx(0.5)
    assert features["spectral_centroid_hz"] == pytest.approx(440.0, rel=0.05)
    assert features["rms"] == pytest.approx(0.5 / np.sqrt(2), rel=0.01)
    assert features["zero_crossing_rate"] == pytest.approx(2 * 440 / 16000, rel=0.05)
    louder = signal_features("audio", _wav(440.0, 0.5, amplitude=0.9))
    assert louder["rms"] > features["rms"]


@pytest.mark.parametrize("modality", ["image", "audio"])
def test_corrupt_file_raises_drift_error(modality: str) -> None:
    with pytest.raises(DriftError, match=f"cannot read the {modality}"):
        signal_features(modality, b"definitely not a media file")


def test_unknown_modality_is_refused() -> None:
    with pytest.raises(DriftError, match="image and audio"):
        signal_features("video", b"")
    with pytest.raises(DriftError, match="unknown modality"):
        feature_table("video", [])


def test_feature_table_rows_and_columns() -> None:
    frame = feature_table("image", [_png((10, 10, 10)), _png((250, 250, 250))])
    assert list(frame.columns)[:2] == ["brightness", "contrast"]
    assert len(frame) == 2 and frame["brightness"].is_monotonic_increasing
    assert feature_table("audio", []).columns.tolist() == [
        "rms",
        "spectral_centroid_hz",
        "duration_s",
        "zero_crossing_rate",
    ]
    table = b"hue,size,label\n0.1,3,a\n0.5,4,b\n"
    rows = feature_table("table", [table, table], label_column="label")
    assert rows.columns.tolist() == ["hue", "size"] and len(rows) == 4


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    values = rng.normal(5.0, 2.0, 500)
    values[:3] = np.nan
    return pd.DataFrame({"hue": values, "shape": rng.choice(["round", "square"], 500), "ok": [True] * 500})


def test_build_profile_matches_numpy() -> None:
    frame = _frame()
    profile = build_profile("table", frame, {"a": 3, "b": 5})
    hue = profile.columns["hue"]
    finite = frame["hue"].dropna().to_numpy()
    assert hue["kind"] == "numeric" and hue["count"] == 497 and hue["missing"] == 3
    assert hue["mean"] == pytest.approx(np.mean(finite))
    assert hue["std"] == pytest.approx(np.std(finite))
    assert (hue["min"], hue["max"]) == (pytest.approx(finite.min()), pytest.approx(finite.max()))
    assert hue["quantiles"]["0.5"] == pytest.approx(np.median(finite))
    counts, edges = np.histogram(finite, bins=10)
    assert hue["histogram"]["counts"] == counts.tolist()
    assert hue["histogram"]["edges"] == pytest.approx(edges.tolist())
    shape = profile.columns["shape"]
    assert shape["kind"] == "categorical"
    assert shape["counts"] == frame["shape"].value_counts().to_dict()
    assert profile.columns["ok"] == {
        "kind": "categorical",
        "count": 500,
        "missing": 0,
        "counts": {"True": 500},
    }
    assert profile.label_counts == {"a": 3, "b": 5}


def test_empty_column_profiles_to_nulls_and_strict_json() -> None:
    profile = build_profile("table", pd.DataFrame({"x": [np.nan, np.nan]}), {})
    assert profile.columns["x"]["mean"] is None and profile.columns["x"]["count"] == 0
    assert Profile.from_json(profile.to_json()) == profile


def test_profile_json_round_trip() -> None:
    profile = build_profile("table", _frame(), {"cat": 10, "dog": 4})
    text = profile.to_json()
    assert json.loads(text)["version"] == 1
    assert Profile.from_json(text) == profile


@pytest.mark.parametrize(
    ("text", "message"),
    [("{not json", "not valid JSON"), ("[]", "not a JSON object"), ('{"version": 99}', "layout version")],
)
def test_bad_profile_json_is_refused(text: str, message: str) -> None:
    with pytest.raises(DriftError, match=message):
        Profile.from_json(text)


def test_plain_sentence_for_darker_photos() -> None:
    training = feature_table("image", [_png((180, 180, 180), noise=20, seed=s) for s in range(12)])
    new = feature_table("image", [_png((60, 60, 60), noise=20, seed=s) for s in range(12)])
    profile = build_profile("image", training, {"cat": 12})
    results = numeric_drift(training, new)
    sentences = plain_sentences(profile, new, results)
    assert "new photos are darker than the training photos" in sentences
    assert all("brighter" not in sentence for sentence in sentences)


def test_plain_sentences_for_clips_tables_and_predictions() -> None:
    quiet = feature_table("audio", [_wav(440.0, 0.2, amplitude=0.1)] * 3)
    loud = feature_table("audio", [_wav(440.0, 0.2, amplitude=0.8)] * 3)
    clips = plain_sentences(build_profile("audio", quiet, {}), loud, numeric_drift(quiet, loud))
    assert "new clips are louder than the training clips" in clips

    before = pd.DataFrame({"hue": np.linspace(0, 1, 50), "shape": ["round"] * 50})
    after = pd.DataFrame({"hue": np.linspace(2, 3, 50), "shape": ["square"] * 50})
    profile = build_profile("table", before, {"a": 25, "b": 25})
    results = [
        *numeric_drift(before[["hue"]], after[["hue"]])["hue"].values(),
        chi_square(before["shape"], after["shape"], column="shape"),
        prediction_drift({"a": 25, "b": 25}, {"a": 50}),
    ]
    assert plain_sentences(profile, after, results) == [
        "column hue has higher values than in training",
        "column shape has a different mix of values than in training",
        "the model predicts a different mix of labels than it did on its training data",
    ]
    assert plain_sentences(profile, before, numeric_drift(before[["hue"]], before[["hue"]])) == []
