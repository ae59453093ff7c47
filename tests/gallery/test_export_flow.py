"""Export a generator for use outside the studio: the bundle's ``generate.py``, run in a Python that
cannot import torch, MLflow or the studio, makes the studio's pictures from the studio's noise.

The session's tiny real ``image-flow`` run (two epochs, 16 pixels, registered as ``shapes-maker``) is
exported once through ``canvascraft models export``; its pictures are compared with the studio's own
sampling on the same noise: values within 1e-3 before rounding, pixels within one level.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from canvascraft.cli import app
from canvascraft.config import get_settings
from canvascraft.errors import ExportError
from canvascraft.gallery.export import GENERATOR_FILES, export_bundle, export_formats, export_problem
from canvascraft.gallery.generate import Picture, load_generator
from canvascraft.services.gallery import export_zip
from canvascraft.training.flow import FlowNet, sample, sample_values, seeded_noise
from tests.conftest import FLOW_MODEL, use_workspace
from tests.gallery.test_export import outside_env

VALUES = 1e-3
MODEL = FLOW_MODEL


@pytest.fixture(scope="module")
def flow_workspace(flow_template: tuple[Path, int, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy, for the module, of the session's workspace with one finished image-flow run registered
    as shapes-maker@champion (the module reads it; the copy keeps the shared one untouched)."""
    path = tmp_path_factory.mktemp("export-flow") / "workspace"
    shutil.copytree(flow_template[0], path)
    return path


@pytest.fixture
def workspace_of_flow(flow_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    use_workspace(monkeypatch, flow_workspace)
    yield flow_workspace
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def cli_export(flow_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """``canvascraft models export maker@champion --out DIR`` once for the module: its output and DIR."""
    out = tmp_path_factory.mktemp("bundle") / "maker-bundle"
    with pytest.MonkeyPatch.context() as patch:
        use_workspace(patch, flow_workspace)
        result = CliRunner().invoke(app, ["models", "export", f"{MODEL}@champion", "--out", str(out)])
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result.output, out


def studio_net() -> FlowNet:
    """The registered generator as the studio loads it, on the CPU (the studio samples in bfloat16 on
    a GPU; the bundle's parity is with its float32 sampling)."""
    net = load_generator(f"{MODEL}@champion").net
    copy = FlowNet.from_config(net.config())
    copy.load_state_dict({k: v.cpu() for k, v in net.state_dict().items()})
    return copy.eval()


def run_generate(bundle: Path, args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(bundle / "generate.py"), *args],
        capture_output=True,
        text=True,
        env=outside_env(tmp_path),
        cwd=tmp_path,
        timeout=300,
    )


def pixels_of(folder: Path, names: list[str]) -> np.ndarray:
    pictures = []
    for name in names:
        with Image.open(folder / name) as image:
            pictures.append(np.asarray(image.convert("RGB")))
    return np.stack(pictures)


def test_the_cli_exports_a_generator_with_its_sampling_loop(
    cli_export: tuple[str, Path], workspace_of_flow: Path
) -> None:
    output, bundle = cli_export
    assert f"exported {MODEL}@champion (onnx)" in output and "generate.py --seed 0" in output
    assert sorted(p.name for p in bundle.iterdir()) == sorted(
        [*GENERATOR_FILES, "model.onnx", "MODEL_CARD.md"]
    )
    card = (bundle / "MODEL_CARD.md").read_text()  # a generator's card: what it makes, no per-class table
    assert "model that generates pictures" in card and "## Licence and consent of its data" in card
    net = studio_net()
    labels = json.loads((bundle / "labels.json").read_text())
    assert labels == load_generator(f"{MODEL}@champion").classes and len(labels) == net.n_classes
    spec = json.loads((bundle / "sampling.json").read_text())
    assert (spec["steps"], spec["guidance"], spec["null_label"]) == (20, 2.0, len(labels))
    assert (spec["channels"], spec["resolution"]) == (3, 16)
    assert spec["pixels"]["low"] == -1.0 and spec["pixels"]["high"] == 1.0
    assert spec["source"] == {"model": MODEL, "version": 1, "ref": f"{MODEL}/1"}
    assert (bundle / "requirements.txt").read_text().split() == [
        "numpy>=1.24", "onnxruntime>=1.17", "Pillow>=10"
    ]  # fmt: skip
    readme = (bundle / "README.md").read_text()
    assert "python generate.py --label" in readme and "Seeds differ from the studio's" in readme

    refused = CliRunner().invoke(
        app, ["models", "export", MODEL, "--format", "torchscript", "--out", str(bundle.parent / "ts")]
    )
    assert refused.exit_code == 1 and "generators export as onnx only" in refused.output
    assert not (bundle.parent / "ts").exists()


def test_generate_py_outside_the_studio_makes_the_studios_pictures_from_its_noise(
    cli_export: tuple[str, Path], workspace_of_flow: Path, tmp_path: Path
) -> None:
    _, bundle = cli_export
    net = studio_net()
    classes = json.loads((bundle / "labels.json").read_text())
    label, seeds, steps, guidance = classes[1], [0, 1, 2, 3], 6, 2.5
    noise_file = tmp_path / "noise.npy"
    np.save(noise_file, seeded_noise(net, seeds).numpy())

    result = run_generate(
        bundle,
        ["--label", label, "--seed", "0", "--count", "4", "--steps", str(steps),
         "--guidance", str(guidance), "--noise", str(noise_file),
         "--values", str(tmp_path / "values.npy"), "--out", str(tmp_path / "out")],
        tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    names = [Picture(label, s, b"").file_name for s in seeds]  # the studio's own file names
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(names)

    index = classes.index(label)
    want = sample_values(net, [index] * 4, seeds, steps=steps, guidance=guidance).numpy()
    got = np.load(tmp_path / "values.npy")
    assert got.shape == want.shape == (4, 3, 16, 16)
    assert np.abs(got - want).max() <= VALUES
    studio = np.stack(sample(net, [index] * 4, seeds, steps=steps, guidance=guidance))
    assert np.abs(pixels_of(tmp_path / "out", names).astype(int) - studio.astype(int)).max() <= 1

    # Each label in turn (no --label) and guidance off take the studio's other paths through the loop.
    seeds = list(range(10, 10 + len(classes) + 1))
    np.save(noise_file, seeded_noise(net, seeds).numpy())
    result = run_generate(
        bundle, ["--seed", "10", "--steps", "4", "--guidance", "1", "--noise", str(noise_file),
                 "--out", str(tmp_path / "turns")], tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    labels = [i % len(classes) for i in range(len(seeds))]
    names = [Picture(classes[i], s, b"").file_name for i, s in zip(labels, seeds, strict=True)]
    studio = np.stack(sample(net, labels, seeds, steps=4, guidance=1.0))
    assert np.abs(pixels_of(tmp_path / "turns", names).astype(int) - studio.astype(int)).max() <= 1


def test_without_noise_a_seed_is_numpys_and_bad_requests_say_what_to_do(
    cli_export: tuple[str, Path], tmp_path: Path
) -> None:
    _, bundle = cli_export
    for folder in ("a", "b"):
        result = run_generate(
            bundle, ["--no-label", "--count", "3", "--steps", "3", "--out", folder], tmp_path
        )
        assert result.returncode == 0, result.stderr[-3000:]
    names = [f"unlabelled-{s}.png" for s in range(3)]
    first, again = pixels_of(tmp_path / "a", names), pixels_of(tmp_path / "b", names)
    assert np.array_equal(first, again)  # the same seed, the same picture
    assert not np.array_equal(first[0], first[1])  # another seed, another picture

    unknown = run_generate(bundle, ["--label", "unicorn", "--out", "c"], tmp_path)
    assert unknown.returncode == 1 and "knows no label 'unicorn'; its labels:" in unknown.stderr
    np.save(tmp_path / "wrong.npy", np.zeros((2, 1, 16, 16), np.float32))
    wrong = run_generate(bundle, ["--noise", "wrong.npy", "--out", "d"], tmp_path)
    assert wrong.returncode == 1 and "is shaped (2, 1, 16, 16)" in wrong.stderr
    assert "(count, 3, 16, 16)" in wrong.stderr
    no_steps = run_generate(bundle, ["--steps", "0", "--out", "e"], tmp_path)
    assert no_steps.returncode == 1 and "sampling steps run from 1 to 500" in no_steps.stderr
    assert not (tmp_path / "c").exists() and not (tmp_path / "d").exists()


def test_the_gallery_offers_a_generator_for_download(workspace_of_flow: Path) -> None:
    from tests.test_gallery_page import open_gallery

    assert export_problem(f"{MODEL}/1") is None
    assert export_formats(f"{MODEL}@champion") == ("onnx",)
    with pytest.raises(ExportError, match="generators export as onnx only"):
        export_bundle(f"{MODEL}/1", "torchscript")

    app = open_gallery(view="models", model=MODEL)
    assert "Download for use outside the studio" in [d.label for d in app.get("download_button")]
    (fmt,) = [s for s in app.selectbox if s.label == "export format"]
    assert fmt.options == ["onnx"]
    assert not [c for c in app.caption if "Not exportable" in c.value]

    data = export_zip(MODEL, 1, "onnx")  # what the button hands over
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = sorted(archive.namelist())
        assert names == sorted(
            f"{MODEL}-v1-onnx/{n}" for n in [*GENERATOR_FILES, "model.onnx", "MODEL_CARD.md"]
        )
        assert "python generate.py" in archive.read(f"{MODEL}-v1-onnx/README.md").decode()
