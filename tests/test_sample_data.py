"""The built-in sample datasets: what an artist sees when the studio first opens."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from PIL import Image

from canvascraft.data.inspect import inspect_item
from canvascraft.data.sample import SAMPLE_DATASETS, SAMPLE_TABLE_LABEL, write_sample_data


def _hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under root, keyed by its path relative to root."""
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _class_dirs(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.is_dir())


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Generated once for the module: generation is the slow part."""
    return write_sample_data(tmp_path_factory.mktemp("samples"), seed=0)


def test_returns_the_three_dataset_folders(samples: dict[str, Path]) -> None:
    assert set(samples) == set(SAMPLE_DATASETS) == {"sample-images", "sample-audio", "sample-table"}
    assert SAMPLE_DATASETS == {"sample-images": "image", "sample-audio": "audio", "sample-table": "table"}
    for name, folder in samples.items():
        assert folder.is_dir()
        assert folder.name == name


def test_images_are_64px_rgb_pngs_in_class_folders(samples: dict[str, Path]) -> None:
    classes = _class_dirs(samples["sample-images"])
    assert len(classes) >= 4
    total = 0
    for class_dir in classes:
        pngs = sorted(class_dir.glob("*.png"))
        assert len(pngs) >= 10, class_dir.name
        assert [p for p in class_dir.iterdir() if p.suffix != ".png"] == []
        for png in pngs:
            assert png.name.startswith(f"{class_dir.name}-")
            with Image.open(png) as image:
                assert image.format == "PNG"
                assert image.size == (64, 64)
                assert image.mode == "RGB"
        total += len(pngs)
    assert total <= 150


def test_audio_is_one_second_16khz_mono_and_audible(samples: dict[str, Path]) -> None:
    classes = _class_dirs(samples["sample-audio"])
    assert len(classes) >= 4
    for class_dir in classes:
        wavs = sorted(class_dir.glob("*.wav"))
        assert len(wavs) >= 8, class_dir.name
        for wav in wavs:
            info = sf.info(wav)
            assert (info.format, info.subtype, info.channels) == ("WAV", "PCM_16", 1)
            data, rate = sf.read(wav)
            assert rate == 16_000
            assert data.shape == (16_000,)
            peak = np.max(np.abs(data))
            assert 0.1 < peak < 0.9, wav.name
            assert np.sqrt(np.mean(data**2)) > 0.01, f"{wav.name} is nearly silent"


def test_table_has_features_a_label_and_some_gaps(samples: dict[str, Path]) -> None:
    csvs = list(samples["sample-table"].glob("*.csv"))
    assert len(csvs) == 1
    frame = pd.read_csv(csvs[0], encoding="utf-8")
    assert 200 <= len(frame) <= 500
    assert SAMPLE_TABLE_LABEL in frame.columns
    labels = frame[SAMPLE_TABLE_LABEL]
    assert labels.notna().all()
    assert 3 <= labels.nunique() <= 4
    assert labels.value_counts().min() >= 30  # no class too rare to learn
    features = frame.drop(columns=[SAMPLE_TABLE_LABEL])
    numeric = features.select_dtypes("number").columns
    categorical = features.columns.difference(numeric)
    assert len(numeric) >= 3
    assert len(categorical) >= 2
    assert 0 < frame.isna().sum().sum() < 0.1 * frame.size  # a few gaps for imputation, not many
    assert (frame.isna().sum() > 0).sum() == 1


def test_every_file_passes_the_studio_import_checks(samples: dict[str, Path]) -> None:
    for name, folder in samples.items():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = inspect_item(
                path.name, path.read_bytes(), max_image_pixels=10_000, label_column=SAMPLE_TABLE_LABEL
            )
            assert info.modality == SAMPLE_DATASETS[name]


def test_image_classes_look_different(samples: dict[str, Path]) -> None:
    """Striped and checked pictures have far more edges than plain shapes, so a model can tell them apart."""

    def edge_energy(class_name: str) -> float:
        values = []
        for png in sorted((samples["sample-images"] / class_name).glob("*.png")):
            grey = np.asarray(Image.open(png).convert("L"), dtype=float)
            values.append(np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean())
        return float(np.mean(values))

    assert edge_energy("stripes") > 1.5 * edge_energy("circle")
    assert edge_energy("checker") > 1.5 * edge_energy("square")

    def mean_image(class_name: str) -> np.ndarray:
        pngs = sorted((samples["sample-images"] / class_name).glob("*.png"))
        return np.mean([np.asarray(Image.open(p), dtype=float) for p in pngs], axis=0)

    assert np.abs(mean_image("circle") - mean_image("stripes")).mean() > 1.0


def test_audio_classes_sound_different(samples: dict[str, Path]) -> None:
    """Noise is spectrally flat and a tone is not; drums are bursty and a chord is steady."""

    def flatness(clip: np.ndarray) -> float:
        power = np.abs(np.fft.rfft(clip)) ** 2 + 1e-12
        return float(np.exp(np.mean(np.log(power))) / np.mean(power))

    def burstiness(clip: np.ndarray) -> float:
        frames = np.sqrt(np.mean(clip.reshape(50, -1) ** 2, axis=1))
        return float(frames.std() / frames.mean())

    def average(class_name: str, feature: Callable[[np.ndarray], float]) -> float:
        wavs = sorted((samples["sample-audio"] / class_name).glob("*.wav"))
        return float(np.mean([feature(sf.read(w)[0]) for w in wavs]))

    assert average("noise", flatness) > 10 * average("tone", flatness)
    assert average("drum", burstiness) > 1.5 * average("chord", burstiness)


def test_table_label_depends_on_the_features(samples: dict[str, Path]) -> None:
    frame = pd.read_csv(next(samples["sample-table"].glob("*.csv")))
    by_style = frame.groupby(SAMPLE_TABLE_LABEL)[["saturation", "brightness", "thickness_mm"]].mean()
    spread = by_style.max() - by_style.min()
    assert (spread > 0.3).all(), by_style


def test_same_seed_writes_identical_bytes(samples: dict[str, Path], tmp_path: Path) -> None:
    again = write_sample_data(tmp_path / "again", seed=0)
    for name, folder in samples.items():
        first, second = _hashes(folder), _hashes(again[name])
        assert first, name
        assert first == second, name


def test_new_seed_in_same_folder_replaces_everything_and_keeps_user_files(
    samples: dict[str, Path], tmp_path: Path
) -> None:
    out_dir = tmp_path / "studio-data"
    out_dir.mkdir()
    (out_dir / "my-notes.txt").write_text("keep me", encoding="utf-8")
    (out_dir / "my-own-set").mkdir()
    (out_dir / "my-own-set" / "sketch.png").write_bytes(b"not really a png")

    write_sample_data(out_dir, seed=0)
    stray = out_dir / "sample-images" / "circle" / "circle-999.png"
    stray.write_bytes(b"left over from an older version")
    before = _hashes(out_dir)

    folders = write_sample_data(out_dir, seed=1)
    after = _hashes(out_dir)

    assert not stray.exists()
    assert set(after) == set(before) - {"sample-images/circle/circle-999.png"}
    assert (out_dir / "my-notes.txt").read_text(encoding="utf-8") == "keep me"
    assert (out_dir / "my-own-set" / "sketch.png").read_bytes() == b"not really a png"
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        ["my-notes.txt", "my-own-set", *SAMPLE_DATASETS]
    )
    for name, folder in folders.items():
        seed0, seed1 = _hashes(samples[name]), _hashes(folder)
        assert set(seed0) == set(seed1), name
        differing = [path for path in seed0 if seed0[path] != seed1[path]]
        assert differing == sorted(seed0), f"{name}: a new seed should change every file"
