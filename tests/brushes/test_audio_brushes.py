"""Audio brushes: the shared contract, plus the numbers an artist relies on (dB, SNR, mel vs librosa)."""

from __future__ import annotations

import io
from typing import Any, ClassVar

import librosa
import numpy as np
import pytest
import soundfile as sf

from canvascraft.brushes import Brush, all_brushes, get_brush
from canvascraft.brushes.audio import AudioBrush, Clip, Features, SampleSize, load_clip
from canvascraft.brushes.functional.audio import mel_chunk_size, mel_spectrogram_batch
from canvascraft.errors import CorruptItemError, RecipeError
from canvascraft.testing.brushes import BrushContract, seeded

RATE = 16000
AUDIO_BRUSHES = all_brushes("audio")
LENGTH_CHANGERS = {"trim_silence", "resample"}
RANDOM_EFFECTS = [b for b in AUDIO_BRUSHES if any(p.name == "p" for p in b.params)]


def tone_clip(seed: int = 0, frequency: float = 440.0) -> Clip:
    """1 s at 16 kHz: 0.2 s of quiet room noise, then a tone with noise (so trim_silence has work)."""
    rng = np.random.default_rng(seed)
    t = np.arange(RATE) / RATE
    samples = rng.normal(0.0, 1e-3, RATE)
    samples[RATE // 5 :] += 0.5 * np.sin(2 * np.pi * frequency * t[RATE // 5 :]) + rng.normal(0, 0.02, 12800)
    return Clip(samples.astype(np.float32), RATE)


def make_brush(name: str, **settings: Any) -> AudioBrush:
    made = get_brush(name)(**settings)
    assert isinstance(made, AudioBrush)
    return made


def sample_for(brush_class: type[Brush]) -> Clip | Features:
    """The seeded tone clip, or its mel spectrogram for brushes that take features."""
    clip = tone_clip()
    assert issubclass(brush_class, AudioBrush)
    return clip if brush_class.input_kind == "clip" else make_brush("mel_spectrogram")(clip)


def check_same_kind(brush: Brush, before: Any, after: Any) -> None:
    """Clips stay float32 mono at their rate and length (bar the resampling and trimming brushes);
    features have the kind and shape the step promises."""
    assert isinstance(brush, AudioBrush)
    if brush.output_kind == "clip":
        assert isinstance(after, Clip)
        assert after.samples.dtype == np.float32 and after.samples.ndim == 1
        assert np.isfinite(after.samples).all()
        rate = brush.settings["target_rate"] if brush.name == "resample" else before.sample_rate
        assert after.sample_rate == rate
        if brush.name not in LENGTH_CHANGERS:
            assert after.samples.shape == before.samples.shape
        return
    assert isinstance(after, Features) and after.values.dtype == np.float32
    assert np.isfinite(after.values).all()
    if isinstance(before, Clip):
        s = brush.settings
        rows = s["n_mfcc"] if brush.name == "mfcc" else s["n_mels"]
        assert after.kind == brush.name.replace("_spectrogram", "")
        assert after.values.shape == (rows, 1 + before.samples.shape[0] // s["hop_length"])
        assert (after.sample_rate, after.hop_length) == (before.sample_rate, s["hop_length"])
    else:
        assert after.values.shape == before.values.shape
        assert after.kind == ("log-mel" if brush.name == "log_scale" else before.kind)


def relative_error(ours: np.ndarray, reference: np.ndarray) -> float:
    """max|ours - reference| / max|reference|: elementwise ratios blow up on near-zero mel cells."""
    return float(np.abs(ours - reference).max() / np.abs(reference).max())


class TestAudioBrushContract(BrushContract):
    modality: ClassVar[str] = "audio"

    @pytest.fixture(params=AUDIO_BRUSHES, ids=[b.name for b in AUDIO_BRUSHES])
    def brush_class(self, request: pytest.FixtureRequest) -> type[Brush]:
        return request.param

    @pytest.fixture(autouse=True)
    def _remember_brush_class(self, brush_class: type[Brush]) -> None:
        # make_sample has no brush argument; pytest makes one instance per test, so remember it here.
        self.brush_class = brush_class

    def make_sample(self) -> Clip | Features:
        return sample_for(self.brush_class)

    def assert_same_kind(self, brush: Brush, before: Any, after: Any) -> None:
        check_same_kind(brush, before, after)

    def assert_equal(self, first: Any, second: Any) -> None:
        assert type(first) is type(second)
        if isinstance(first, Clip):
            assert first.sample_rate == second.sample_rate
            assert np.array_equal(first.samples, second.samples)
        else:
            assert first.kind == second.kind
            assert np.array_equal(first.values, second.values)


@pytest.mark.parametrize("brush_class", RANDOM_EFFECTS, ids=[b.name for b in RANDOM_EFFECTS])
def test_applied_effect_changes_the_clip_and_keeps_its_kind(brush_class: type[Brush]) -> None:
    """With p = 1 the random effects always run (with the defaults the contract may see them skip)."""
    sample = sample_for(brush_class)
    effect = brush_class(p=1.0)
    after, drawn = seeded(effect, sample, 3)
    assert drawn["applied"] is True
    check_same_kind(effect, sample, after)
    assert not np.array_equal(after.samples, sample.samples)


@pytest.mark.parametrize("brush_class", AUDIO_BRUSHES, ids=[b.name for b in AUDIO_BRUSHES])
def test_footprint_declares_the_size_the_brush_makes(brush_class: type[Brush]) -> None:
    """What ``footprint`` says a brush makes is what it makes (trimming only ever makes less), and its
    peak holds at least the input and the output: launches size a recipe's memory from it."""
    sample = sample_for(brush_class)
    brush = brush_class(**({"p": 1.0} if brush_class.gate_param else {}))
    assert isinstance(brush, AudioBrush)
    if isinstance(sample, Clip):
        size = SampleSize("clip", sample.sample_rate, sample.samples.shape[0])
    else:
        size = SampleSize("features", sample.sample_rate, sample.values.shape[1], sample.values.shape[0])
    footprint = brush.footprint(size)
    after, _ = seeded(brush, sample, 3)
    made = after.samples if isinstance(after, Clip) else after.values
    shape = (
        (footprint.size.length,)
        if footprint.size.kind == "clip"
        else (footprint.size.bins, footprint.size.length)
    )
    assert footprint.size.kind == brush.output_kind and footprint.size.sample_rate == after.sample_rate
    if brush.name == "trim_silence":
        assert made.shape[0] <= shape[0]
    else:
        assert made.shape == shape
    assert footprint.peak_bytes >= size.nbytes + made.nbytes
    assert all(name in brush.settings for name in footprint.driven_by)


def test_mel_matches_librosa_one_clip_and_batches() -> None:
    rng = np.random.default_rng(1)
    clips = [tone_clip(seed, 220.0 * (seed + 1)).samples for seed in range(4)]
    clips.append(rng.normal(0, 0.3, RATE).astype(np.float32))  # white noise fills every band
    batch = np.stack(clips)
    settings = [
        dict(n_fft=512, hop_length=160, n_mels=64, fmin=0.0, fmax=None),
        dict(n_fft=1024, hop_length=256, n_mels=40, fmin=60.0, fmax=6000.0),
    ]
    for s in settings:
        ours = mel_spectrogram_batch(batch, RATE, chunk_size=2, **s)  # chunks of 2, 2, 1
        for clip, mel in zip(batch, ours, strict=True):
            reference = librosa.feature.melspectrogram(y=clip, sr=RATE, **s)
            assert mel.shape == reference.shape and mel.dtype == np.float32
            assert relative_error(mel, reference) < 1e-4
    # The brush is the N = 1 case; MFCCs follow librosa too.
    clip = tone_clip()
    reference = librosa.feature.melspectrogram(y=clip.samples, sr=RATE, n_fft=512, hop_length=160, n_mels=64)
    assert relative_error(make_brush("mel_spectrogram")(clip).values, reference) < 1e-4
    mfcc = librosa.feature.mfcc(y=clip.samples, sr=RATE, n_mfcc=20, n_fft=512, hop_length=160, n_mels=64)
    assert relative_error(make_brush("mfcc")(clip).values, mfcc) < 1e-4


def test_batched_mel_picks_large_chunks_by_itself() -> None:
    # A few clips per torch.stft call spend most of the time in per-call overhead: the default chunk
    # holds many one-second clips from the first call, one long recording at a time, and any chunking
    # gives the same spectrograms.
    assert mel_chunk_size(RATE, 512, 160, 64) >= 64
    assert mel_chunk_size(RATE * 3600, 512, 160, 64) == 1
    rng = np.random.default_rng(3)
    batch = rng.normal(0, 0.3, (5, RATE // 4)).astype(np.float32)
    default = mel_spectrogram_batch(batch, RATE)
    one_by_one = mel_spectrogram_batch(batch, RATE, chunk_size=1)
    assert relative_error(default, one_by_one) < 1e-6
    with pytest.raises(ValueError, match="chunk_size"):
        mel_spectrogram_batch(batch, RATE, chunk_size=0)


def test_gain_of_6_db_doubles_the_amplitude() -> None:
    clip = tone_clip()
    louder, drawn = seeded(make_brush("gain", gain_db=[6.0, 6.0], p=1.0), clip, 0)
    assert drawn == {"applied": True, "gain_db": 6.0}
    ratio = np.abs(louder.samples).max() / np.abs(clip.samples).max()
    assert ratio == pytest.approx(1.995, rel=1e-3)


def test_add_noise_hits_the_asked_snr() -> None:
    clip = tone_clip()
    noisy, _ = seeded(make_brush("add_noise", snr_db=[10.0, 10.0], p=1.0), clip, 0)
    noise = noisy.samples.astype(np.float64) - clip.samples
    snr = 10 * np.log10(np.mean(clip.samples.astype(np.float64) ** 2) / np.mean(noise**2))
    assert snr == pytest.approx(10.0, abs=1.0)


def test_time_mask_zeroes_at_most_width_times_count_frames() -> None:
    mel = make_brush("mel_spectrogram")(tone_clip())
    assert (mel.values > 0).all(), "needs a spectrogram without zero cells to count masked frames"
    masking = make_brush("time_mask", max_width=5, count=3, fill="zero")
    for seed in range(20):
        masked, drawn = seeded(masking, mel, seed)
        zeroed = (masked.values == 0).all(axis=0)
        assert zeroed.sum() <= 15
        assert zeroed.sum() == len(
            {f for start, width in drawn["spans"] for f in range(start, start + width)}
        )
        assert np.array_equal(masked.values[:, ~zeroed], mel.values[:, ~zeroed])


def test_standardize_makes_each_spectrogram_zero_mean_unit_std() -> None:
    """Per item: a quiet take and the same take 40 dB louder reach the model as the same numbers."""
    mel, log_scale = make_brush("mel_spectrogram"), make_brush("log_scale")
    takes = [Clip(tone_clip(seed).samples * gain, RATE) for seed, gain in ((0, 1.0), (1, 0.01), (2, 3.0))]
    log_mel = [log_scale(mel(take)) for take in takes]
    standardize = make_brush("standardize")
    assert not standardize.augments  # it runs at evaluation too, so a model sees what it trained on
    outs = [standardize(features) for features in log_mel]
    for before, after in zip(log_mel, outs, strict=True):
        assert after.kind == before.kind == "log-mel" and after.values.shape == before.values.shape
        assert after.values.dtype == np.float32
        assert abs(float(after.values.mean(dtype=np.float64))) < 1e-5
        assert float(after.values.std(dtype=np.float64)) == pytest.approx(1.0, abs=1e-4)
    quiet, loud = (
        standardize(make_brush("mel_spectrogram")(Clip(tone_clip().samples * g, RATE))) for g in (0.1, 1.0)
    )
    assert np.allclose(quiet.values, loud.values, atol=1e-3)  # power scales by 100: the same after it
    silent = make_brush("mel_spectrogram")(Clip(np.zeros(RATE, np.float32), RATE))
    assert np.array_equal(standardize(silent).values, np.zeros_like(silent.values))  # no division by 0


def test_resample_changes_rate_and_length() -> None:
    slower = make_brush("resample", target_rate=8000)(tone_clip())
    assert slower.sample_rate == 8000 and slower.samples.shape == (8000,)


def test_steps_in_the_wrong_place_say_what_must_come_first() -> None:
    clip = tone_clip()
    with pytest.raises(RecipeError, match="put mel_spectrogram or mfcc before time_mask"):
        seeded(make_brush("time_mask"), clip, 0)
    with pytest.raises(RecipeError, match="move gain before mel_spectrogram or mfcc"):
        make_brush("gain").transform(make_brush("mel_spectrogram")(clip), {"applied": True, "gain_db": 1.0})
    with pytest.raises(RecipeError, match="log_scale works on mel features, got mfcc"):
        make_brush("log_scale")(make_brush("mfcc")(clip))
    with pytest.raises(RecipeError, match=r"mel_spectrogram\.fmax: must be above fmin"):
        make_brush("mel_spectrogram", fmin=500.0, fmax=300.0)
    with pytest.raises(RecipeError, match="below half the clip's sample rate"):
        make_brush("mel_spectrogram", fmax=12000.0)(clip)


def test_load_clip_mixes_down_and_resamples() -> None:
    stereo = np.stack([tone_clip().samples, np.zeros(RATE, np.float32)], axis=1)
    buffer = io.BytesIO()
    sf.write(buffer, stereo, RATE, format="WAV", subtype="FLOAT")
    clip = load_clip(buffer.getvalue())
    assert clip.sample_rate == RATE and np.allclose(clip.samples, stereo.mean(axis=1))
    assert load_clip(buffer.getvalue(), target_rate=8000).samples.shape == (8000,)
    with pytest.raises(CorruptItemError, match="undecodable audio"):
        load_clip(b"not audio at all")
