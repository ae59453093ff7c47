"""An audio recipe whose settings are each in bounds but multiply to gigabytes per clip is refused before
a job exists (launch, CLI, study, preview), with the estimate, the limit and what to change; a normal
recipe still launches, and the estimate matches the arrays the brushes really make."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from canvascraft.brushes.audio import Clip, SampleSize
from canvascraft.brushes.functional.audio import FLOAT32
from canvascraft.cli import app
from canvascraft.config import get_settings
from canvascraft.errors import RecipeError
from canvascraft.recipe.memory import ClipHeader, clip_cost
from canvascraft.recipe.spec import validate_recipe
from canvascraft.services.brushes import preview_audio
from canvascraft.services.datasets import import_path
from canvascraft.services.jobs import launch_training, list_jobs
from canvascraft.services.recipes import save_recipe
from canvascraft.services.tuning import search_candidates, start_study
from canvascraft.tuning.space import SearchParam

RATE = 16000
SECONDS = 20.0
HEAVY = {
    "name": "heavy",
    "modality": "audio",
    "brushes": [
        {"brush": "time_stretch", "params": {"rate": [0.5, 0.5], "p": 1.0}},
        {"brush": "mel_spectrogram", "params": {"n_fft": 8192, "hop_length": 16}},
        {"brush": "log_scale"},
    ],
}
"""The probe's recipe: every setting inside its declared bounds."""


def tone(seconds: float, frequency: float) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def write_clips(folder: Path, seconds: float = SECONDS) -> Path:
    """Two labels of two clips each; each clip is 20 s of a tone (small as files, long as audio)."""
    for label, frequency in (("low", 220.0), ("high", 880.0)):
        (folder / label).mkdir(parents=True)
        for number in range(2):
            sf.write(folder / label / f"{number}.wav", tone(seconds, frequency + number), RATE)
    return folder


@pytest.fixture
def long_clips(sample_workspace: Path, tmp_path: Path) -> str:
    import_path(write_clips(tmp_path / "songs"), "songs")
    save_recipe(HEAVY)
    return "songs"


def test_the_probes_recipe_is_refused_at_launch_naming_the_cost_and_the_setting(long_clips: str) -> None:
    with pytest.raises(RecipeError) as refused:
        launch_training(long_clips, "heavy", "audio-cnn", epochs=1)
    message = str(refused.value)
    for part in ("recipe 'heavy'", "brushes[1] (mel_spectrogram)", "n_fft 8192", "hop_length 16",
                 "GB of memory per clip", "1,024 MB limit", "CANVASCRAFT_MAX_CLIP_MEMORY_MB",
                 "20.0 s at 16,000 Hz", "raise hop_length or lower n_fft", "use shorter clips"):  # fmt: skip
        assert part in message, message
    assert list_jobs() == []

    launch_training(long_clips, "audio-starter", "audio-cnn", epochs=1)  # a normal recipe still launches
    assert [job.spec["recipe"] for job in list_jobs()] == ["audio-starter"]


def test_raising_the_setting_lets_the_recipe_launch(long_clips: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANVASCRAFT_MAX_CLIP_MEMORY_MB", "8192")
    get_settings.cache_clear()
    launch_training(long_clips, "heavy", "audio-cnn", epochs=1)
    assert [job.spec["recipe"] for job in list_jobs()] == ["heavy"]


def test_the_cli_prints_one_error_line(long_clips: str) -> None:
    result = CliRunner().invoke(
        app, ["train", "--dataset", long_clips, "--recipe", "heavy", "--trainer", "audio-cnn"]
    )
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: recipe 'heavy' needs about ") and "CANVASCRAFT_MAX_CLIP_MEMORY_MB" in line
    assert "Traceback" not in result.output
    assert list_jobs() == []


def test_a_study_whose_searched_ranges_reach_the_cost_is_refused(long_clips: str) -> None:
    candidates = {c.name: c for c in search_candidates("audio-starter", "audio-cnn")}
    hop = candidates["brush.3.mel_spectrogram.hop_length"]
    n_fft = candidates["brush.3.mel_spectrogram.n_fft"]
    wide = [
        SearchParam(hop.name, "int", 16.0, 160.0),
        SearchParam(n_fft.name, "int", 512.0, 8192.0),
    ]
    with pytest.raises(RecipeError) as refused:
        start_study(long_clips, "audio-starter", "audio-cnn", wide, trials=2)
    message = str(refused.value)
    assert "brush.3.mel_spectrogram.hop_length=16" in message and "n_fft=8192" in message
    assert "narrow the searched ranges" in message and "CANVASCRAFT_MAX_CLIP_MEMORY_MB" in message
    assert list_jobs() == []

    narrow = [SearchParam(hop.name, "int", 80.0, 320.0), SearchParam(n_fft.name, "int", 512.0, 1024.0)]
    start_study(long_clips, "audio-starter", "audio-cnn", narrow, trials=2)
    assert [job.kind for job in list_jobs()] == ["tune"]


def test_a_preview_of_a_long_clip_is_refused_before_it_is_decoded() -> None:
    buffer = io.BytesIO()
    sf.write(buffer, tone(SECONDS, 440.0), RATE, format="WAV")
    recipe = validate_recipe(HEAVY)
    with pytest.raises(RecipeError, match=r"on this clip \(song\.wav: 20\.0 s at 16,000 Hz, 1 channel\)"):
        preview_audio(recipe, "song.wav", buffer.getvalue(), 2, 0)


def test_the_estimate_follows_the_arrays_the_mel_step_makes() -> None:
    """One mel spectrogram on a 3 s clip: the estimated output is the real output's size, and the peak
    sits between the complex STFT alone and a few times it (the STFT, its squares and the power)."""
    n_fft, hop = 1024, 64
    recipe = validate_recipe(
        {"name": "mel", "modality": "audio",
         "brushes": [{"brush": "mel_spectrogram", "params": {"n_fft": n_fft, "hop_length": hop}}]}
    )  # fmt: skip
    samples = tone(3.0, 440.0)
    cost = clip_cost(recipe, ClipHeader("a.wav", 3.0, RATE, 1))
    (step,) = cost.steps

    brush = step.brush
    features = brush(Clip(samples, RATE))
    footprint = brush.footprint(SampleSize("clip", RATE, samples.shape[0]))
    assert (footprint.size.bins, footprint.size.length) == features.values.shape
    assert footprint.size.nbytes == features.values.nbytes

    spectrum = torch.stft(
        torch.from_numpy(samples), n_fft, hop_length=hop, window=torch.hann_window(n_fft), center=True,
        pad_mode="constant", return_complex=True,
    )  # fmt: skip
    stft_bytes = spectrum.numel() * spectrum.element_size()
    assert 2 * stft_bytes <= step.peak_bytes <= 4 * stft_bytes
    assert cost.peak_bytes == step.peak_bytes  # the STFT, not the decoding, is the peak
    assert cost.decode_bytes == 2 * FLOAT32 * samples.shape[0]


def test_the_train_page_shows_the_refusal(long_clips: str) -> None:
    from streamlit.testing.v1 import AppTest

    page = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=120)
    page.switch_page("pages/train.py").run()
    page.selectbox(key="train_dataset").set_value(long_clips).run()
    page.selectbox(key="train_recipe_audio_audio-cnn").set_value("heavy").run()
    next(b for b in page.button if b.label == "Launch training").click().run()
    assert not page.exception, [e.message for e in page.exception]
    (shown,) = [e.value for e in page.error]
    assert "recipe 'heavy' needs about" in shown and "CANVASCRAFT_MAX_CLIP_MEMORY_MB" in shown
    # The expected time is not measured on such a recipe: the same refusal shows in its place.
    assert any("recipe 'heavy' needs about" in w.value for w in page.warning)
    assert list_jobs() == []
