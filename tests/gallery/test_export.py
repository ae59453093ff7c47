"""Export a model for use outside the studio: the bundle's ``predict.py``, run in a Python that cannot
import torch, MLflow, pandas, librosa or the studio, gives the studio's own predictions.

The tiny real runs of the session (``tests/conftest.py``) are registered, exported and compared with
the studio's ``Predictor`` on the same files: labels equal, probabilities within 1e-4.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image
from torchvision.transforms import v2
from typer.testing import CliRunner

from canvascraft.cli import app
from canvascraft.errors import ExportError
from canvascraft.gallery import export_runtime
from canvascraft.gallery.export import (
    BUNDLE_FILES,
    check_steps,
    export_bundle,
    export_problem,
    write_bundle,
)
from canvascraft.gallery.predict import Predictor
from canvascraft.gallery.registry import register
from canvascraft.recipe.compose import compose
from canvascraft.recipe.spec import validate_recipe
from canvascraft.services.datasets import item_bytes, set_dataset_licence
from canvascraft.services.gallery import download_zip, export_zip
from canvascraft.store.models import Job
from canvascraft.tracking.runs import tracking_client

PARITY = 1e-4
BLOCKED = ("torch", "torchvision", "mlflow", "canvascraft", "librosa", "pandas", "sklearn", "scipy")

SITECUSTOMIZE = f"""
import sys

class _Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ImportError(f"{{name}} is not available outside the studio")
        return None

sys.meta_path.insert(0, _Blocked())
"""


def outside_env(tmp_path: Path) -> dict[str, str]:
    """An environment whose Python cannot import the studio or its heavy libraries."""
    guard = tmp_path / "outside"
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(guard), "HOME": str(tmp_path)}


def run_bundle(bundle: Path, files: list[Path], env: dict[str, str] | None = None) -> list[dict[str, object]]:
    result = subprocess.run(
        [sys.executable, str(bundle / "predict.py"), *map(str, files), "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=bundle,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-2000:]
    return json.loads(result.stdout)


def validation_items(job: Job) -> list[dict[str, object]]:
    root = Path(tracking_client().get_run(job.mlflow_run_id).info.artifact_uri.removeprefix("file://"))
    return json.loads((root / "validation" / "predictions.json").read_text())["items"]


def exported(job: Job, name: str, out: Path, fmt: str = "onnx") -> tuple[Predictor, Path]:
    register(job.mlflow_run_id, name, alias="champion")
    write_bundle(export_bundle(f"{name}@champion", fmt), out)
    return Predictor.from_ref(f"{name}@champion"), out


def item_files(job: Job, modality: str, folder: Path) -> list[Path]:
    """The run's validation items as files, and a few made to test the steps: a picture of another
    size and shape (JPEG), a stereo clip longer and one shorter than the training clips."""
    folder.mkdir()
    suffix = {"image": "png", "audio": "wav"}[modality]
    paths = []
    for i, item in enumerate(validation_items(job)):
        path = folder / f"item-{i}.{suffix}"
        path.write_bytes(item_bytes(str(item["sha256"])))
        paths.append(path)
    if modality == "image":
        with Image.open(paths[0]) as picture:
            picture.convert("RGB").resize((91, 47)).save(folder / "wide.jpg", quality=90)
            picture.convert("RGB").resize((20, 23)).save(folder / "small.bmp")
        paths += [folder / "wide.jpg", folder / "small.bmp"]
    else:
        samples, rate = sf.read(paths[0], dtype="float32")
        stereo = np.stack([samples, 0.5 * samples[::-1]], axis=1)
        sf.write(folder / "long-stereo.flac", np.concatenate([stereo, stereo]), rate)
        sf.write(folder / "short.wav", samples[: rate // 3], rate)
        paths += [folder / "long-stereo.flac", folder / "short.wav"]
    return paths


def compare(predictor: Predictor, got: list[dict[str, object]], expected: np.ndarray) -> None:
    probabilities = np.array([[r["probabilities"][c] for c in predictor.classes] for r in got])  # type: ignore[index]
    assert probabilities.shape == expected.shape
    assert [r["label"] for r in got] == [predictor.classes[i] for i in expected.argmax(axis=1)]
    assert np.abs(probabilities - expected).max() < PARITY


def test_the_guard_keeps_the_studio_out(tmp_path: Path) -> None:
    """The parity tests mean something only if the bundle's Python really cannot reach the studio."""
    for module in ("torch", "mlflow", "canvascraft", "librosa", "pandas"):
        result = subprocess.run(
            [sys.executable, "-c", f"import {module}"],
            capture_output=True,
            text=True,
            env=outside_env(tmp_path),
        )
        assert result.returncode != 0 and "not available outside the studio" in result.stderr
    ok = subprocess.run(
        [sys.executable, "-c", "import numpy, onnxruntime, PIL, soundfile"], env=outside_env(tmp_path)
    )
    assert ok.returncode == 0


@pytest.mark.parametrize("modality", ["image", "audio"])
def test_files_predict_outside_the_studio_as_inside(
    trained: Callable[[str], Job], tmp_path: Path, modality: str
) -> None:
    job = trained(modality)
    predictor, bundle = exported(job, f"out-{modality}", tmp_path / "bundle")
    assert sorted(p.name for p in bundle.iterdir()) == sorted([*BUNDLE_FILES, "model.onnx"])
    assert json.loads((bundle / "labels.json").read_text()) == predictor.classes
    files = item_files(job, modality, tmp_path / "items")
    expected = np.array(
        [[predictor.predict_file(p.read_bytes(), p.name).probabilities[c] for c in predictor.classes]
         for p in files]
    )  # fmt: skip
    got = run_bundle(bundle, files, outside_env(tmp_path))
    assert [r["file"] for r in got] == [p.name for p in files]
    compare(predictor, got, expected)


def test_table_rows_predict_outside_the_studio_as_inside(
    trained: Callable[[str], Job], tmp_path: Path
) -> None:
    job = trained("table")
    predictor, bundle = exported(job, "out-table", tmp_path / "bundle")
    spec = json.loads((bundle / "preprocess.json").read_text())
    assert [s["brush"] for s in spec["steps"]] == ["impute_missing", "one_hot_encode", "standard_scale"]
    assert spec["steps"][2]["state"] == predictor.context.table_state[2]["state"]  # type: ignore[index]
    rows = predictor.sample_rows([int(item["index"]) for item in validation_items(job)])  # type: ignore[call-overload]
    rows = rows.drop(columns=["style"])
    rows.loc[0, "hue"] = np.nan  # imputed with the training mean
    rows.loc[1, "medium"] = "fresco"  # never seen in training: every medium indicator 0
    rows.loc[2, "canvas"] = None  # a missing category
    path = tmp_path / "rows.csv"
    rows.to_csv(path, index=False)
    expected = predictor.predict_rows(rows)[[f"p({c})" for c in predictor.classes]].to_numpy()
    got = run_bundle(bundle, [path], outside_env(tmp_path))
    assert [r["file"] for r in got] == [f"rows.csv row {i + 1}" for i in range(len(rows))]
    compare(predictor, got, expected)

    # A CSV without a column the model needs says which, as the studio does.
    (tmp_path / "short.csv").write_text("saturation,brightness\n0.5,0.5\n")
    result = subprocess.run(
        [sys.executable, str(bundle / "predict.py"), str(tmp_path / "short.csv")],
        capture_output=True, text=True, env=outside_env(tmp_path),
    )  # fmt: skip
    assert result.returncode == 1 and "lack the column(s) hue" in result.stdout


def test_a_torchscript_bundle_predicts_the_same(trained: Callable[[str], Job], tmp_path: Path) -> None:
    job = trained("table")
    predictor, bundle = exported(job, "ts-table", tmp_path / "bundle", fmt="torchscript")
    assert (bundle / "model.pt").is_file() and not (bundle / "model.onnx").exists()
    assert "torch" in (bundle / "requirements.txt").read_text()
    rows = predictor.sample_rows(list(range(7))).drop(columns=["style"])
    rows.to_csv(tmp_path / "rows.csv", index=False)
    expected = predictor.predict_rows(rows)[[f"p({c})" for c in predictor.classes]].to_numpy()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    compare(predictor, run_bundle(bundle, [tmp_path / "rows.csv"], env), expected)


def test_cli_exports_the_latest_version_and_keeps_a_full_folder(
    trained: Callable[[str], Job], tmp_path: Path
) -> None:
    job = trained("table")
    register(job.mlflow_run_id, "cli-table")
    out = tmp_path / "bundle"
    runner = CliRunner()
    result = runner.invoke(app, ["models", "export", "cli-table", "--format", "onnx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "exported cli-table (onnx)" in result.output
    spec = json.loads((out / "preprocess.json").read_text())
    assert spec["source"] == {"model": "cli-table", "version": 1, "ref": "cli-table/1"}
    card = (out / "MODEL_CARD.md").read_text()  # the card and its data's terms travel with the model
    assert "sample-table" in card and "own work" in card
    assert "warning" not in result.output  # the sample data is the studio's own, consented
    (out / "notes.txt").write_text("mine")

    again = runner.invoke(app, ["models", "export", "cli-table/1", "--out", str(out)])
    assert again.exit_code == 1 and "is not empty" in again.output and "--force" in again.output
    set_dataset_licence("sample-table", licence="", consent="no")
    forced = runner.invoke(app, ["models", "export", "cli-table/1", "--out", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert (out / "notes.txt").read_text() == "mine"  # only the bundle's own files are replaced
    assert "warning: trained on data without a licence or consent: " in forced.output
    assert "sample-table" in forced.output.split("warning:", 1)[1]
    assert "**Warning:" in (out / "MODEL_CARD.md").read_text()  # made anew: the terms as they are now

    wrong = runner.invoke(
        app, ["models", "export", "cli-table", "--format", "tflite", "--out", str(tmp_path / "x")]
    )
    assert wrong.exit_code == 1 and "format must be one of onnx, torchscript" in wrong.output
    unknown = runner.invoke(app, ["models", "export", "nobody@champion", "--out", str(tmp_path / "y")])
    assert unknown.exit_code == 1 and "error:" in unknown.output


def test_extra_files_join_the_bundle_by_plain_name(trained: Callable[[str], Job], tmp_path: Path) -> None:
    job = trained("table")
    register(job.mlflow_run_id, "card-table")
    files = export_bundle("card-table/1", extra_files={"CARD.md": "# card\n", "LICENSES.md": "CC-BY\n"})
    assert files["CARD.md"] == b"# card\n" and files["LICENSES.md"] == b"CC-BY\n"
    for bad in ("../CARD.md", "sub/CARD.md", "README.md"):
        with pytest.raises(ExportError, match="extra file"):
            export_bundle("card-table/1", extra_files={bad: "x"})


def test_a_step_without_export_is_refused_by_name() -> None:
    for modality, brushes, named in (
        ("table", ["impute_missing", "quantile_transform"], "step 2 `quantile_transform`"),
        ("audio", ["trim_silence", "gain", "mel_spectrogram"], "step 1 `trim_silence`"),
    ):
        recipe = validate_recipe(
            {"name": f"{modality}-odd", "modality": modality, "brushes": [{"brush": b} for b in brushes]}
        )
        with pytest.raises(ExportError, match=rf"{named} of recipe '{modality}-odd' has no export yet"):
            check_steps(compose(recipe, "eval"))
    # Augmenting steps never run at evaluation, so they need no export.
    recipe = validate_recipe(
        {"name": "aug", "modality": "image", "brushes": [{"brush": "rotation"}, {"brush": "normalize"}]}
    )
    check_steps(compose(recipe, "eval"))


def test_exportable_versions_have_no_problem(trained: Callable[[str], Job]) -> None:
    register(trained("audio").mlflow_run_id, "fine-audio")
    assert export_problem("fine-audio/1") is None


def test_the_runtime_resizes_pictures_as_torchvision_does() -> None:
    """The bundle's numpy resize is torchvision's uint8 antialiased resize to the bit, shrinking and
    growing, for the interpolations a resize brush offers."""
    rng = np.random.default_rng(0)
    for kind in ("bilinear", "bicubic", "nearest"):
        for height, width, side in ((100, 80, 64), (17, 200, 32), (31, 97, 64), (20, 23, 64), (64, 64, 64)):
            pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            tensor = torch.from_numpy(pixels.copy()).permute(2, 0, 1)
            want = (
                v2.Resize((side, side), interpolation=kind, antialias=True)(tensor).permute(1, 2, 0).numpy()
            )
            got = export_runtime.resize_uint8(pixels, side, side, kind)
            assert np.array_equal(got, want), (kind, height, width, side)


def test_the_runtime_mel_filters_are_librosas() -> None:
    import librosa

    for rate, n_fft, n_mels, fmin, fmax in ((16000, 512, 64, 0.0, None), (22050, 1024, 40, 50.0, 8000.0)):
        want = librosa.filters.mel(sr=rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
        got = export_runtime.mel_basis(rate, n_fft, n_mels, fmin, fmax)
        assert np.abs(got - want).max() < 1e-6


def test_download_button_on_the_models_view(trained: Callable[[str], Job]) -> None:
    from streamlit.testing.v1 import AppTest

    register(trained("image").mlflow_run_id, "button-images", alias="champion")
    app = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=120)
    app.query_params["view"] = "models"
    app.query_params["model"] = "button-images"
    app.switch_page("pages/gallery.py")
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    labels = [d.label for d in app.get("download_button")]
    assert "Download for use outside the studio" in labels
    assert [s.label for s in app.selectbox if s.label == "export format"] == ["export format"]

    data = export_zip("button-images", 1, "onnx")  # what the button hands over
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = sorted(archive.namelist())
        assert names == sorted(
            f"button-images-v1-onnx/{n}" for n in [*BUNDLE_FILES, "model.onnx", "MODEL_CARD.md"]
        )
        card = archive.read("button-images-v1-onnx/MODEL_CARD.md").decode()
        assert "## Licence and consent of its data" in card
        assert "An image-cnn model that classifies image items" in card
        assert "python predict.py" in archive.read("button-images-v1-onnx/README.md").decode()
    with zipfile.ZipFile(io.BytesIO(download_zip("button-images", 1))) as archive:  # MLflow's folder too
        assert "button-images-v1/MODEL_CARD.md" in archive.namelist()
