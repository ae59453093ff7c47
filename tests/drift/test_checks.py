"""Drift checks of a registered model: its own data is stable, darker copies drift, bad files are listed."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from canvascraft.cli import app
from canvascraft.config import get_settings
from canvascraft.drift.checks import DriftCheckResult, run_check
from canvascraft.errors import DriftError
from canvascraft.gallery.registry import register
from canvascraft.services.datasets import item_bytes, open_version
from tests.conftest import TrainedTemplate, copy_trained, use_workspace

DATASET = "sample-images"
MODEL = "drift-images@champion"

_REGISTERED: set[str] = set()
"""Models registered in the module's workspace (each once)."""


@pytest.fixture(scope="module")
def drift_workspace(trained_runs_template: TrainedTemplate, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the session's trained workspace for this module's checks."""
    return copy_trained(trained_runs_template, tmp_path_factory.mktemp("drift") / "workspace")


def registered(
    name: str, key: str, template: TrainedTemplate, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """``NAME@champion`` on the session's ``key`` run, registered in the module's workspace once."""
    use_workspace(monkeypatch, workspace)
    if name not in _REGISTERED:
        register(template.run_ids[key], name, alias="champion")
        _REGISTERED.add(name)
    return f"{name}@champion"


@pytest.fixture
def image_model(
    drift_workspace: Path, trained_runs_template: TrainedTemplate, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """``drift-images@champion``: the session's tiny image model trained on the sample images."""
    yield registered("drift-images", "image", trained_runs_template, drift_workspace, monkeypatch)
    get_settings.cache_clear()


def darker_copies(folder: Path, count: int = 12, factor: float = 0.15) -> Path:
    """PNG copies of the first stored sample images with every pixel scaled towards black."""
    folder.mkdir()
    for index, item in enumerate(open_version(DATASET).items[:count]):
        with Image.open(io.BytesIO(item_bytes(item.sha256))) as image:
            dark = image.convert("RGB").point(lambda value: int(value * factor))
        dark.save(folder / f"dark-{index:02d}.png")
    return folder


def test_own_dataset_does_not_drift_in_brightness(
    image_model: str, trained_runs_template: TrainedTemplate
) -> None:
    result = run_check(image_model, DATASET)
    assert isinstance(result, DriftCheckResult)
    assert result.run_id == trained_runs_template.run_ids["image"]
    assert result.n_current == result.n_reference > 0
    assert set(result.results) >= {"brightness", "contrast", "saturation"}
    assert not any(r.drifted for r in result.results["brightness"].values())
    assert "brightness" not in result.drifted_features
    assert not any("darker" in s or "brighter" in s for s in result.sentences)
    assert result.prediction is not None
    payload = json.loads(result.to_json())
    assert payload["results"]["brightness"]["ks"]["drifted"] is False
    assert payload["n_current"] == result.n_current


def test_darker_copies_drift_in_brightness(image_model: str, tmp_path: Path) -> None:
    folder = darker_copies(tmp_path / "dark")
    result = run_check(image_model, str(folder))
    assert result.n_current == 12 and result.skipped == []
    assert result.drifted
    assert "brightness" in result.drifted_features
    assert result.results["brightness"]["ks"].drifted
    assert "new photos are darker than the training photos" in result.sentences


def test_a_corrupt_file_is_skipped_and_listed(image_model: str, tmp_path: Path) -> None:
    folder = darker_copies(tmp_path / "dark", count=6)
    (folder / "broken.png").write_bytes(b"not a picture at all")
    result = run_check(image_model, str(folder))
    assert result.n_current == 6
    assert [name for name, _ in result.skipped] == ["broken.png"]
    assert "brightness" in result.drifted_features


def test_cli_prints_the_verdict_and_the_sentence(image_model: str, tmp_path: Path) -> None:
    folder = darker_copies(tmp_path / "dark")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    outcome = CliRunner().invoke(app, ["drift", "check", image_model, "--current", str(folder)])
    assert outcome.exit_code == 0, outcome.output
    assert outcome.output.startswith("DRIFT:")
    assert "drifted: brightness:" in outcome.output
    assert "new photos are darker than the training photos" in outcome.output
    assert "broken.png" in outcome.output

    as_json = CliRunner().invoke(app, ["drift", "check", image_model, "--current", DATASET, "--json"])
    assert as_json.exit_code == 0, as_json.output
    stored = json.loads(as_json.output)
    assert stored["verdict"] in {"drift", "no drift"} and stored["state"] == "done"
    psi = next(m for m in stored["metrics"] if m["feature"] == "brightness" and m["metric"] == "psi")
    assert psi["drifted"] is False


def test_unknown_model_empty_folder_and_unknown_dataset_are_clear_errors(
    image_model: str, tmp_path: Path
) -> None:
    with pytest.raises(DriftError, match=r"cannot check drift of 'no-such-model@champion'"):
        run_check("no-such-model@champion", DATASET)
    with pytest.raises(DriftError, match="holds no files"):
        run_check(image_model, str(tmp_path))
    with pytest.raises(DriftError, match="neither a folder nor a dataset"):
        run_check(image_model, "no-such-dataset")
    with pytest.raises(DriftError, match="unknown drift metric"):
        run_check(image_model, DATASET, {"psy": 0.3})

    outcome = CliRunner().invoke(app, ["drift", "check", "no-such-model@champion", "--current", DATASET])
    assert outcome.exit_code == 1
    assert "error: cannot check drift of 'no-such-model@champion'" in outcome.output


@pytest.fixture
def table_model(
    drift_workspace: Path, trained_runs_template: TrainedTemplate, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """``drift-table@champion``: the session's tiny table model trained on the sample table."""
    yield registered("drift-table", "table", trained_runs_template, drift_workspace, monkeypatch)
    get_settings.cache_clear()


def test_table_model_checks_its_dataset_and_csv_files(table_model: str, tmp_path: Path) -> None:
    from canvascraft.services.datasets import table_rows

    own = run_check(table_model, "sample-table")
    assert not own.drifted_features and own.n_current == own.n_reference > 0
    rows = table_rows(open_version("sample-table"))
    numeric = [c for c in rows.columns if c in own.results and "ks" in own.results[c]]
    assert numeric
    shifted = rows.copy()
    shifted[numeric[0]] = shifted[numeric[0]] * 10 + 100
    folder = tmp_path / "rows"
    folder.mkdir()
    shifted.to_csv(folder / "new.csv", index=False)
    (folder / "broken.csv").write_bytes(b"\x00\x01\x02 not, a\ntable\x00")
    result = run_check(table_model, str(folder))
    assert numeric[0] in result.drifted_features
    assert f"column {numeric[0]} has higher values than in training" in result.sentences
    assert [name for name, _ in result.skipped] == ["broken.csv"]
