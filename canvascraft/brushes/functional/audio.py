"""Audio functions on float32 numpy arrays: effects on mono waveforms and spectrogram features.

They neither validate settings nor draw randomness (noise comes from a seed argument), so the brushes
stay thin and the same values always give the same output. librosa's submodules are imported on first
use, not here: the brush registry imports this module, and the CLI should not pay for librosa.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Literal

import librosa
import numpy as np
import torch

ShiftMode = Literal["roll", "pad"]
MaskFill = Literal["zero", "mean", "min"]


# --- effects on waveforms -----------------------------------------------------------------------------


def apply_gain(samples: np.ndarray, gain_db: float) -> np.ndarray:
    """Scale by ``gain_db`` decibels (+6 dB ≈ twice the amplitude); no clipping, floats may pass ±1."""
    return (samples * np.float32(10.0 ** (gain_db / 20.0))).astype(np.float32, copy=False)


def shift(samples: np.ndarray, offset: int, mode: ShiftMode) -> np.ndarray:
    """Move the waveform ``offset`` samples later (earlier if negative), keeping its length.

    ``roll`` wraps the part pushed off one end round to the other; ``pad`` drops it and fills the gap
    with silence.
    """
    length = samples.shape[0]
    offset = max(-length, min(length, int(offset)))
    if mode == "roll":
        return np.roll(samples, offset)
    out = np.zeros_like(samples)
    if offset >= 0:
        out[offset:] = samples[: length - offset]
    else:
        out[: length + offset] = samples[-offset:]
    return out


def add_white_noise(samples: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """Add Gaussian white noise scaled so the signal-to-noise ratio is exactly ``snr_db``.

    The noise is rescaled to the target power rather than drawn at it, so short clips get the SNR asked
    for too. A silent clip has no signal power to measure against and is returned unchanged.
    """
    signal_power = float(np.mean(np.square(samples, dtype=np.float64)))
    if signal_power == 0.0:
        return samples.copy()
    noise = np.random.default_rng(seed).standard_normal(samples.shape[0])
    noise_power = float(np.mean(np.square(noise)))
    noise *= math.sqrt(signal_power / 10.0 ** (snr_db / 10.0) / noise_power)
    return (samples + noise).astype(np.float32)


def fit_length(samples: np.ndarray, length: int) -> np.ndarray:
    """Cut the end off, or pad it with silence, to exactly ``length`` samples."""
    if samples.shape[0] >= length:
        return samples[:length].copy()
    return np.pad(samples, (0, length - samples.shape[0]))


def time_stretch(samples: np.ndarray, rate: float) -> np.ndarray:
    """Play faster (``rate`` > 1) or slower without changing pitch, keeping the original length.

    Keeping the length lets stretched and untouched clips share a batch: a slowed-down clip loses its
    end, a sped-up one ends in silence.
    """
    if rate == 1.0:
        return samples.copy()
    stretched = librosa.effects.time_stretch(samples, rate=rate)
    return fit_length(stretched.astype(np.float32, copy=False), samples.shape[0])


def pitch_shift(samples: np.ndarray, sample_rate: int, semitones: float) -> np.ndarray:
    """Raise or lower the pitch by ``semitones`` without changing the duration."""
    if semitones == 0.0:
        return samples.copy()
    shifted = librosa.effects.pitch_shift(samples, sr=sample_rate, n_steps=semitones)
    return fit_length(shifted.astype(np.float32, copy=False), samples.shape[0])


def trim_silence(samples: np.ndarray, top_db: float) -> np.ndarray:
    """Drop leading and trailing parts quieter than ``top_db`` below the loudest part.

    librosa judges loudness per 2,048-sample frame (hop 512), so a little quiet margin remains; an
    all-silent clip comes back whole rather than empty.
    """
    trimmed, _ = librosa.effects.trim(samples, top_db=top_db)
    if trimmed.shape[0] == 0:
        return samples.copy()
    return trimmed.astype(np.float32, copy=True)


def resample(samples: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Convert to another sample rate (soxr, high quality); the duration stays the same."""
    if orig_rate == target_rate:
        return samples.copy()
    out = librosa.resample(samples, orig_sr=orig_rate, target_sr=target_rate)
    return out.astype(np.float32, copy=False)


# --- features -----------------------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _mel_basis(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None) -> torch.Tensor:
    """librosa's Slaney mel filter bank, built once per parameter set (it costs more than a small STFT)."""
    basis = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    return torch.from_numpy(basis.astype(np.float32))


def mel_spectrogram_batch(
    waveforms: np.ndarray,
    sample_rate: int,
    n_fft: int = 512,
    hop_length: int = 160,
    n_mels: int = 64,
    fmin: float = 0.0,
    fmax: float | None = None,
    *,
    device: str | torch.device = "cpu",
    chunk_size: int | None = None,
) -> np.ndarray:
    """Mel power spectrograms of equal-length clips, shaped ``(N, n_mels, 1 + n // hop_length)``.

    Matches ``librosa.feature.melspectrogram`` with the same arguments (centred frames, zero padding
    — librosa's default ``pad_mode="constant"`` since 0.10 —, periodic Hann window, power 2, Slaney
    mel filters) to within 1e-6 of the largest value (the tests allow 1e-4). It is several times faster
    than a librosa loop because ``torch.stft`` runs on chunks of clips: one call on thousands of clips is
    allocation-bound, and a few clips per call leave the cost in torch's per-call overhead and in waking
    its worker threads for every operation (measured: chunks of 8 one-second clips took 5× the CPU time
    of chunks of 128). By default (``chunk_size`` None) a chunk holds as many clips as fit
    :data:`MEL_CHUNK_BYTES` of working memory (:func:`mel_chunk_size`), the same from the first call.
    ``fmax`` None or 0 means half the sample rate. ``device`` puts the work on a GPU (``"cuda"``) when
    there is one.
    """
    waveforms = np.asarray(waveforms, dtype=np.float32)
    if waveforms.ndim != 2:
        raise ValueError(f"waveforms must be shaped (clips, samples), got {waveforms.shape}")
    if not waveforms.flags.writeable:
        waveforms = waveforms.copy()  # torch.from_numpy warns on read-only arrays
    count, length = waveforms.shape
    frames = 1 + length // hop_length
    if chunk_size is None:
        chunk_size = mel_chunk_size(length, n_fft, hop_length, n_mels)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    basis = _mel_basis(int(sample_rate), int(n_fft), int(n_mels), float(fmin), fmax or None).to(device)
    window = torch.hann_window(n_fft, periodic=True, device=device)  # librosa's "hann": periodic
    out = np.empty((count, n_mels, frames), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, count, chunk_size):
            chunk = torch.from_numpy(waveforms[start : start + chunk_size]).to(device)
            spectrum = torch.stft(
                chunk,
                n_fft,
                hop_length=hop_length,
                win_length=n_fft,
                window=window,
                center=True,
                pad_mode="constant",
                return_complex=True,
            )
            # re² + im² on the interleaved view: 6× faster than .sum(-1) or .abs().square() on CPU.
            squares = torch.view_as_real(spectrum).square()
            power = squares[..., 0] + squares[..., 1]
            out[start : start + chunk.shape[0]] = torch.matmul(basis, power).cpu().numpy()
    return out


def power_to_db(values: np.ndarray, top_db: float | None = 80.0) -> np.ndarray:
    """Power to decibels (reference 1.0, floor 1e-10), clamped to ``top_db`` below the peak."""
    return librosa.power_to_db(values, ref=1.0, amin=1e-10, top_db=top_db).astype(np.float32, copy=False)


def mfcc_from_mel(mel: np.ndarray, n_mfcc: int) -> np.ndarray:
    """MFCCs from a mel power spectrogram, as ``librosa.feature.mfcc`` computes them (dB, DCT-II ortho)."""
    return librosa.feature.mfcc(S=power_to_db(mel), n_mfcc=n_mfcc).astype(np.float32, copy=False)


def mask(values: np.ndarray, axis: int, spans: list[list[int]], fill: MaskFill) -> np.ndarray:
    """A copy with each ``[start, width]`` span along ``axis`` (0 bins, 1 frames) overwritten.

    ``fill`` is zero (silence for power spectrograms), or the spectrogram's mean or minimum (the
    minimum is silence for log-scaled ones), taken before masking.
    """
    out = values.copy()
    value = {"zero": 0.0, "mean": float(values.mean()), "min": float(values.min())}[fill]
    for start, width in spans:
        index = [slice(None)] * values.ndim
        index[axis] = slice(start, start + width)
        out[tuple(index)] = value
    return out


def standardize(values: np.ndarray, min_std: float = 1e-5) -> np.ndarray:
    """A copy with mean 0 and standard deviation 1 over all its cells (one item's statistics, so a
    quiet recording and a loud one reach the model on the same scale). A flat array (std below
    ``min_std``: a silent clip) is only centred, which leaves it all zeros rather than dividing by ~0."""
    mean = float(values.mean(dtype=np.float64))
    std = float(values.std(dtype=np.float64))
    out = values - np.float32(mean)
    if std >= min_std:
        out /= np.float32(std)
    return out.astype(np.float32, copy=False)


# --- sizes: what the functions above hold at once, known before a clip is decoded ----------------------
# Each figure counts the arrays alive together at a function's busiest moment, its input included, so a
# recipe's memory per clip can be checked at launch (``canvascraft.recipe.memory``) rather than found out
# when a job is killed. They follow the code above; change them together.

FLOAT32 = 4
COMPLEX64 = 8
FLOAT64 = 8
STRETCH_N_FFT = 2048
"""The STFT window of ``librosa.effects.time_stretch`` (and so ``pitch_shift``): librosa's default."""
STRETCH_HOP = STRETCH_N_FFT // 4
TRIM_FRAME, TRIM_HOP = 2048, 512
"""The RMS frames ``librosa.effects.trim`` judges loudness on (its defaults)."""


def stft_frames(length: int, hop_length: int) -> int:
    """Frames of a centred STFT of ``length`` samples (``mel_spectrogram_batch``, librosa)."""
    return 1 + length // hop_length


def stft_bins(n_fft: int) -> int:
    """Frequency rows of a real STFT: ``n_fft // 2 + 1``."""
    return n_fft // 2 + 1


MEL_CHUNK_BYTES = 96 * 2**20
"""Working memory of one ``torch.stft`` chunk in :func:`mel_spectrogram_batch` (about 150 one-second
16 kHz clips at n_fft 512, hop 160): large enough that per-call costs vanish, small enough to stay a
small share of a training process's memory."""


def mel_chunk_size(length: int, n_fft: int, hop_length: int, n_mels: int) -> int:
    """Clips of ``length`` samples per chunk so that a chunk needs about :data:`MEL_CHUNK_BYTES`."""
    return max(1, MEL_CHUNK_BYTES // mel_peak_bytes(length, n_fft, hop_length, n_mels))


def mel_peak_bytes(length: int, n_fft: int, hop_length: int, n_mels: int) -> int:
    """``mel_spectrogram_batch`` on one clip: inside ``torch.stft`` the padded clip and the windowed
    frames (float32, frames × n_fft) meet the complex64 spectrum; after it, the spectrum, its squares
    (float32 pairs) and the power (float32) are alive at once beside the mel output and its copy."""
    frames = stft_frames(length, hop_length)
    bins = stft_bins(n_fft)
    spectrum = COMPLEX64 * bins * frames
    mel = FLOAT32 * n_mels * frames
    during = FLOAT32 * (length + n_fft) + FLOAT32 * frames * n_fft + spectrum
    after = spectrum + 2 * FLOAT32 * bins * frames + FLOAT32 * bins * frames + 2 * mel
    return FLOAT32 * length + max(during, after)


def stretched_length(length: int, rate: float) -> int:
    """Samples ``librosa.effects.time_stretch`` returns before ``fit_length`` cuts them back."""
    return max(1, round(length / rate))


def time_stretch_peak_bytes(length: int, rate: float) -> int:
    """``time_stretch``: librosa's STFT (complex64, 1025 rows), the phase vocoder's padded copy of it
    and the stretched spectrum (1/rate as many frames), then the inverse STFT's windowed blocks, output
    and window envelope, and finally the clip cut back to ``length`` (peak RSS measured within 15%)."""
    bins = stft_bins(STRETCH_N_FFT)
    frames = stft_frames(length, STRETCH_HOP)
    spectrum = COMPLEX64 * bins * frames
    stretched = COMPLEX64 * bins * math.ceil(frames / rate)
    out = stretched_length(length, rate)
    vocoder = 2 * spectrum + stretched
    inverse = spectrum + 2 * stretched + 2 * FLOAT32 * out
    return FLOAT32 * length + max(vocoder, inverse + FLOAT32 * length)


def pitch_shift_peak_bytes(length: int, semitones: float) -> int:
    """``pitch_shift`` is librosa's time stretch by ``2**(-semitones/12)`` followed by resampling back
    to ``length`` samples (and a copy of that length)."""
    rate = 2.0 ** (-semitones / 12.0)
    resampling = FLOAT32 * (length + stretched_length(length, rate) + 2 * length)
    return max(time_stretch_peak_bytes(length, rate), resampling)


def resampled_length(length: int, orig_rate: int, target_rate: int) -> int:
    """Samples ``resample`` returns (librosa rounds up)."""
    return length if orig_rate == target_rate else math.ceil(length * target_rate / orig_rate)


def resample_peak_bytes(length: int, orig_rate: int, target_rate: int) -> int:
    """``resample``: the clip, soxr's output and its float32 copy."""
    return FLOAT32 * (length + 2 * resampled_length(length, orig_rate, target_rate))


def trim_peak_bytes(length: int) -> int:
    """``trim_silence``: librosa squares every RMS frame (float32, 2048 × frames) of the padded clip."""
    squares = FLOAT32 * TRIM_FRAME * stft_frames(length, TRIM_HOP)
    return FLOAT32 * (length + length + TRIM_FRAME) + squares + FLOAT32 * length


def noise_peak_bytes(length: int) -> int:
    """``add_white_noise``: float64 noise and the float64 sum beside the clip and the float32 result."""
    return FLOAT32 * length + 2 * FLOAT64 * length + FLOAT32 * length
