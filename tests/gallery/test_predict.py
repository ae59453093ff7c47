"""Try a model: validation and Try agree item for item; bad files say why; folders and checkpoints."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from canvascraft.cli import app
from canvascraft.errors import UnreadableFileError
from canvascraft.gallery.predict import Predictor, predictions_csv
from canvascraft.gallery.registry import register
from canvascraft.services.datasets import item_bytes
from canvascraft.store.models import Job
from canvascraft.tracking.runs import tracking_client

TOLERANCE = 1e-5


def validation_report(job: Job) -> dict:  # type: ignore[type-arg]
    root = Path(tracking_client().get_run(job.mlflow_run_id).info.artifact_uri.removeprefix("file://"))
    return json.loads((root / "validation" / "predictions.json").read_text())


def registered(job: Job, name: str) -> Predictor:
    register(job.mlflow_run_id, name, alias="champion")
    return Predictor.from_ref(f"{name}@champion")


def tried(predictor: Predictor, report: dict) -> np.ndarray:  # type: ignore[type-arg]
    """Try's probabilities for every validation item, in the report's class order."""
    if predictor.modality == "table":
        rows = predictor.sample_rows([item["index"] for item in report["items"]])
        out = predictor.predict_rows(rows)
        return out[[f"p({c})" for c in report["classes"]]].to_numpy()
    results = [predictor.predict_item(item["sha256"]) for item in report["items"]]
    return np.array([[r.probabilities[c] for c in report["classes"]] for r in results])


@pytest.mark.parametrize("modality", ["image", "audio", "table"])
def test_try_gives_each_validation_item_its_validation_prediction(
    trained: Callable[[str], Job], modality: str
) -> None:
    job = trained(modality)
    predictor = registered(job, f"same-{modality}")
    report = validation_report(job)
    assert predictor.classes == report["classes"]
    probabilities = tried(predictor, report)
    expected = np.array([item["probabilities"] for item in report["items"]])
    assert probabilities.shape == expected.shape and len(expected) >= 5
    assert np.abs(probabilities - expected).max() < TOLERANCE
    assert [report["classes"][i] for i in probabilities.argmax(axis=1)] == [
        item["predicted"] for item in report["items"]
    ]

    # The checkpoint the model was logged from predicts the same, through the rebuilt trainer model.
    checkpoint = Predictor.from_checkpoint(job.id, "best")
    assert np.abs(tried(checkpoint, report) - probabilities).max() < TOLERANCE


def test_top_predictions_are_sorted_and_sum_to_one(trained: Callable[[str], Job]) -> None:
    job = trained("image")
    predictor = registered(job, "top-images")
    item = validation_report(job)["items"][0]
    prediction = predictor.predict_file(item_bytes(item["sha256"]), "my picture.png", k=3)
    assert len(prediction.top) == 3
    assert [p for _, p in prediction.top] == sorted((p for _, p in prediction.top), reverse=True)
    assert prediction.label == item["predicted"]
    assert abs(sum(prediction.probabilities.values()) - 1) < 1e-5


def test_unreadable_uploads_say_why(trained: Callable[[str], Job]) -> None:
    images = registered(trained("image"), "bad-images")
    with pytest.raises(UnreadableFileError, match=r"cannot read 'cat\.png': not an image.*reads a picture"):
        images.predict_file(b"this is not a picture", "cat.png")
    with pytest.raises(UnreadableFileError, match="empty"):
        images.predict_file(b"", "empty.png")
    broken = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (32, 32), "red").save(broken, format="PNG")
    with pytest.raises(UnreadableFileError, match="corrupt or truncated"):
        images.predict_file(broken.getvalue()[:-30], "cut.png")

    audio = registered(trained("audio"), "bad-audio")
    with pytest.raises(UnreadableFileError, match=r"undecodable audio.*reads a sound clip"):
        audio.predict_file(broken.getvalue(), "song.wav")

    table = registered(trained("table"), "bad-table")
    with pytest.raises(UnreadableFileError, match=r"lack the column.*hue"):
        table.predict_file(b"saturation,brightness\n0.5,0.5\n", "rows.csv")
    with pytest.raises(UnreadableFileError, match="ragged CSV"):
        table.prepare_file(b"a,b\n1,2,3\n", "rows.csv")


def test_a_folder_with_one_bad_file_gives_a_row_with_its_error(
    trained: Callable[[str], Job], tmp_path: Path
) -> None:
    job = trained("image")
    predictor = registered(job, "folder-images")
    items = validation_report(job)["items"][:3]
    folder = tmp_path / "folder"
    folder.mkdir()
    for i, item in enumerate(items):
        (folder / f"good-{i}.png").write_bytes(item_bytes(item["sha256"]))
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = predictor.predict_folder(sorted(folder.iterdir()))
    table = pd.read_csv(io.BytesIO(predictions_csv(out)), keep_default_na=False)
    assert list(table.columns) == ["file", "predicted", "probability", "error"]
    assert table["file"].tolist() == ["broken.png", "good-0.png", "good-1.png", "good-2.png"]
    bad = table.iloc[0]
    assert bad["predicted"] == "" and "cannot read 'broken.png'" in bad["error"]
    good = table.iloc[1:]
    assert (good["error"] == "").all()
    assert good["predicted"].tolist() == [item["predicted"] for item in items]

    csv_out = tmp_path / "predictions.csv"
    result = CliRunner().invoke(
        app, ["predict", "folder-images@champion", str(folder), "--csv", str(csv_out)]
    )
    assert result.exit_code == 1, result.output  # one file could not be read
    assert "broken.png: error: cannot read" in result.output
    assert pd.read_csv(csv_out, keep_default_na=False).equals(table)


def test_table_rows_from_a_csv_upload(trained: Callable[[str], Job]) -> None:
    job = trained("table")
    predictor = registered(job, "rows-table")
    report = validation_report(job)
    rows = predictor.sample_rows([item["index"] for item in report["items"][:4]])
    data = rows.drop(columns=["style"]).to_csv(index=False).encode()
    out = predictor.predict_many([("new rows.csv", data)])
    assert out["file"].tolist() == [f"new rows.csv row {i}" for i in range(1, 5)]
    assert out["predicted"].tolist() == [item["predicted"] for item in report["items"][:4]]


def test_predictions_csv_opens_formula_like_cells_as_text() -> None:
    frame = pd.DataFrame({
        "file": ['=HYPERLINK("http://127.0.0.1:9/x","open")', "@SUM(A1:A9)", "+1", "plain.png"],
        "predicted": ["-cmd", "ink", "\tTAB", "ink"],
        "probability": [-0.5, 0.9, 0.1, 1.0],
    })  # fmt: skip
    table = pd.read_csv(io.BytesIO(predictions_csv(frame)), keep_default_na=False)
    assert table["file"].tolist() == ["'" + frame["file"][0], "'@SUM(A1:A9)", "'+1", "plain.png"]
    assert table["predicted"].tolist() == ["'-cmd", "ink", "'\tTAB", "ink"]
    assert table["probability"].tolist() == [-0.5, 0.9, 0.1, 1.0]  # numbers stay numbers
