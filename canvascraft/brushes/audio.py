"""Audio brushes (effects on clips) and feature steps (clip → mel spectrogram, MFCC, …).

An audio recipe starts from a ``Clip`` (``load_clip`` decodes one), applies effects that keep it a
clip, turns it into ``Features`` with ``mel_spectrogram`` or ``mfcc``, and may then rescale
(``log_scale``), mask (``time_mask``, ``freq_mask``) and standardize (``standardize``, per item) the
features. Each brush declares what it takes
(``input_kind``), so a step in the wrong place fails with a message naming the step that must come
first instead of a numpy shape error. The work itself lives in ``canvascraft.brushes.functional.audio``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import soundfile as sf
import torch

from canvascraft.brushes.base import PROBABILITY, Brush, Modality, Param
from canvascraft.brushes.functional import audio as F
from canvascraft.brushes.registry import register
from canvascraft.errors import CorruptItemError, RecipeError

SampleKind = Literal["clip", "features"]


@dataclass(frozen=True, eq=False)
class Clip:
    """A mono waveform: float32 samples shaped ``(n,)``, n >= 1, at ``sample_rate`` Hz.

    ``eq=False``: comparing numpy arrays with ``==`` is elementwise, so equality would be ambiguous.
    """

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self) -> None:
        samples = np.ascontiguousarray(self.samples, dtype=np.float32)
        if samples.ndim != 1 or samples.shape[0] == 0:
            raise ValueError(f"a clip holds mono samples shaped (n,) with n >= 1, got shape {samples.shape}")
        if int(self.sample_rate) <= 0:
            raise ValueError(f"sample_rate must be positive, got {self.sample_rate}")
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "sample_rate", int(self.sample_rate))

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / self.sample_rate


@dataclass(frozen=True, eq=False)
class Features:
    """A spectrogram-like array: float32 ``(bins, frames)``, one frame every ``hop_length`` samples.

    ``kind`` says what the values are (``mel`` power, ``log-mel`` decibels, ``mfcc``), which decides
    what may follow: ``log_scale`` only takes power features.
    """

    values: np.ndarray
    kind: str
    sample_rate: int
    hop_length: int

    def __post_init__(self) -> None:
        values = np.ascontiguousarray(self.values, dtype=np.float32)
        if values.ndim != 2:
            raise ValueError(f"features are shaped (bins, frames), got shape {values.shape}")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "sample_rate", int(self.sample_rate))
        object.__setattr__(self, "hop_length", int(self.hop_length))


def load_clip(data: bytes, target_rate: int | None = None) -> Clip:
    """Decode an audio file's bytes into a mono ``Clip`` (channels averaged), resampled if asked.

    Preview and training both load through here, so they see the same samples.
    """
    try:
        samples, sample_rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as error:
        detail = getattr(error, "error_string", None) or error
        raise CorruptItemError(f"undecodable audio: {detail}") from None
    if samples.shape[0] == 0:
        raise CorruptItemError("audio file holds no samples (0 s long)")
    mono = samples.mean(axis=1, dtype=np.float32)
    if target_rate is not None and target_rate != sample_rate:
        mono = F.resample(mono, sample_rate, target_rate)
        sample_rate = target_rate
    return Clip(mono, sample_rate)


FEATURE_STEPS = "mel_spectrogram or mfcc"


@dataclass(frozen=True)
class SampleSize:
    """A clip's or features' shape without the values: what ``AudioBrush.footprint`` takes and returns,
    so a recipe's memory per clip is known from a file's header, before anything is decoded."""

    kind: SampleKind
    sample_rate: int
    #: Samples of a clip, frames of features.
    length: int
    #: Rows of features (mel bands, coefficients); 1 for a clip.
    bins: int = 1

    @property
    def nbytes(self) -> int:
        """Bytes of the float32 array holding it."""
        return F.FLOAT32 * self.length * self.bins


@dataclass(frozen=True)
class Footprint:
    """What one brush makes of a sample, and the most bytes it holds at once while it runs."""

    size: SampleSize
    #: Input, output and everything in between alive together, at the costliest end of its ranges.
    peak_bytes: int
    #: The settings the peak grows with, named when a recipe is refused for its memory.
    driven_by: tuple[str, ...] = ()
    #: What lowers it, in the words of the settings (``raise hop_length or lower n_fft``).
    remedy: str = ""


class AudioBrush(Brush):
    """Base of the audio brushes: says which kind of sample (clip or features) each one takes.

    ``check_input`` turns a step in the wrong place into a message naming what must come first; the
    base class runs it before every ``make_params`` and ``transform``, and draws the ``p`` gate.
    """

    modality: ClassVar[Modality] = "audio"
    input_kind: ClassVar[SampleKind] = "clip"
    output_kind: ClassVar[SampleKind] = "clip"
    #: Feature kinds accepted (None: any); only meaningful when ``input_kind`` is "features".
    feature_kinds: ClassVar[tuple[str, ...] | None] = None
    #: The step to put before this brush, named in the wrong-input message.
    needs_before: ClassVar[str] = FEATURE_STEPS

    def footprint(self, size: SampleSize) -> Footprint:
        """What this brush makes of a sample of ``size`` and its peak memory, for the worst draw of its
        ranges; launches check a recipe with it before any clip is decoded (``recipe.memory``).

        The default fits a brush that returns one new array the size of its input (gain, a mask); a
        brush that changes the size or holds more overrides it, with the arithmetic beside its
        functional code (``functional.audio``, "sizes")."""
        return Footprint(size, 2 * size.nbytes)

    def check_input(self, sample: Any) -> None:
        """Refuse a sample this brush cannot take, saying what to change in the recipe."""
        name = self.name
        if self.input_kind == "clip":
            if isinstance(sample, Clip):
                return
            if isinstance(sample, Features):
                raise RecipeError(
                    [
                        f"{name} works on audio clips, but this item is already {sample.kind} features: "
                        f"move {name} before {FEATURE_STEPS}"
                    ]
                )
            raise RecipeError([f"{name} works on audio clips, got {type(sample).__name__}"])
        if isinstance(sample, Features):
            if self.feature_kinds is not None and sample.kind not in self.feature_kinds:
                raise RecipeError(
                    [
                        f"{name} works on {' or '.join(self.feature_kinds)} features, got {sample.kind}: "
                        f"put {name} right after {self.needs_before}"
                    ]
                )
            return
        if isinstance(sample, Clip):
            raise RecipeError(
                [
                    f"{name} works on features, but this item is still an audio clip: "
                    f"put {self.needs_before} before {name}"
                ]
            )
        raise RecipeError([f"{name} works on audio features, got {type(sample).__name__}"])


def uniform(low: float, high: float) -> float:
    """One float drawn uniformly from ``[low, high]`` with torch's global RNG."""
    return float(torch.empty(1).uniform_(low, high).item()) if high > low else float(low)


def randint(low: int, high: int) -> int:
    """One integer drawn uniformly from ``[low, high]`` (both included) with torch's global RNG."""
    return int(torch.randint(low, high + 1, (1,)).item())


# --- effects: clip → clip -----------------------------------------------------------------------------


@register
class Gain(AudioBrush):
    name = "gain"
    summary = "Make the clip louder or quieter, so the model does not rely on recording level."
    params = (
        Param(
            "gain_db",
            "float_range",
            [-6.0, 6.0],
            "Volume change in dB: +6 doubles the waveform's height, -6 halves it.",
            -40.0,
            40.0,
        ),
        PROBABILITY,
    )

    def make_params(self, sample: Clip) -> dict[str, Any]:
        return {"gain_db": uniform(*self.settings["gain_db"])}

    def transform(self, sample: Clip, drawn: dict[str, Any]) -> Clip:
        return Clip(F.apply_gain(sample.samples, drawn["gain_db"]), sample.sample_rate)


@register
class TimeShift(AudioBrush):
    name = "time_shift"
    summary = "Start the sound a little earlier or later, so timing within the clip matters less."
    params = (
        Param("max_shift_s", "float", 0.1, "Largest shift in seconds, earlier or later.", 0.0, 10.0),
        Param(
            "mode",
            "choice",
            "roll",
            "roll: what falls off one end wraps round; pad: it is replaced by silence.",
            choices=("roll", "pad"),
        ),
        PROBABILITY,
    )

    def make_params(self, sample: Clip) -> dict[str, Any]:
        limit = self.settings["max_shift_s"]
        return {"shift_s": uniform(-limit, limit)}

    def transform(self, sample: Clip, drawn: dict[str, Any]) -> Clip:
        offset = round(drawn["shift_s"] * sample.sample_rate)
        return Clip(F.shift(sample.samples, offset, self.settings["mode"]), sample.sample_rate)


@register
class AddNoise(AudioBrush):
    name = "add_noise"
    summary = "Add white noise (hiss) at a chosen signal-to-noise ratio, like a noisy room or cheap mic."
    params = (
        Param(
            "snr_db",
            "float_range",
            [10.0, 30.0],
            "Signal-to-noise ratio in dB: lower means more noise.",
            -10.0,
            60.0,
        ),
        PROBABILITY,
    )

    def make_params(self, sample: Clip) -> dict[str, Any]:
        # The noise is made from a drawn seed in ``transform``: the drawn values stay small enough to log.
        return {"snr_db": uniform(*self.settings["snr_db"]), "noise_seed": randint(0, 2**31 - 1)}

    def transform(self, sample: Clip, drawn: dict[str, Any]) -> Clip:
        noisy = F.add_white_noise(sample.samples, drawn["snr_db"], drawn["noise_seed"])
        return Clip(noisy, sample.sample_rate)

    def footprint(self, size: SampleSize) -> Footprint:
        return Footprint(size, F.noise_peak_bytes(size.length))


@register
class TimeStretch(AudioBrush):
    """Keeps the clip's length (cut or padded with silence at the end) so batches stay aligned."""

    name = "time_stretch"
    summary = "Play the clip faster or slower without changing its pitch; the length stays the same."
    params = (
        Param(
            "rate", "float_range", [0.8, 1.25], "Speed factor: above 1 is faster, below 1 slower.", 0.5, 2.0
        ),
        PROBABILITY,
    )

    def make_params(self, sample: Clip) -> dict[str, Any]:
        return {"rate": uniform(*self.settings["rate"])}

    def transform(self, sample: Clip, drawn: dict[str, Any]) -> Clip:
        return Clip(F.time_stretch(sample.samples, drawn["rate"]), sample.sample_rate)

    def footprint(self, size: SampleSize) -> Footprint:
        """The slowest rate drawn stretches the clip longest before it is cut back."""
        peak = F.time_stretch_peak_bytes(size.length, self.settings["rate"][0])
        return Footprint(size, peak, ("rate",), "raise the low end of rate towards 1")


@register
class PitchShift(AudioBrush):
    name = "pitch_shift"
    summary = "Raise or lower the pitch without changing the speed, like a higher or lower voice."
    params = (
        Param(
            "semitones",
            "float_range",
            [-2.0, 2.0],
            "Pitch change in semitones (12 is one octave).",
            -12.0,
            12.0,
        ),
        PROBABILITY,
    )

    def make_params(self, sample: Clip) -> dict[str, Any]:
        return {"semitones": uniform(*self.settings["semitones"])}

    def transform(self, sample: Clip, drawn: dict[str, Any]) -> Clip:
        shifted = F.pitch_shift(sample.samples, sample.sample_rate, drawn["semitones"])
        return Clip(shifted, sample.sample_rate)

    def footprint(self, size: SampleSize) -> Footprint:
        """The highest shift drawn slows the inner time stretch most."""
        peak = F.pitch_shift_peak_bytes(size.length, max(self.settings["semitones"][1], 0.0))
        return Footprint(size, peak, ("semitones",), "lower the high end of semitones")


@register
class TrimSilence(AudioBrush):
    name = "trim_silence"
    summary = "Cut quiet parts at the start and end, so clips begin where the sound does."
    augments = False
    params = (
        Param(
            "top_db",
            "float",
            40.0,
            "How far below the loudest part counts as silence, in dB: lower trims more.",
            5.0,
            120.0,
        ),
    )

    def transform(self, sample: Clip, drawn: dict[str, Any]) -> Clip:
        return Clip(F.trim_silence(sample.samples, self.settings["top_db"]), sample.sample_rate)

    def footprint(self, size: SampleSize) -> Footprint:
        """A clip with nothing quiet to trim keeps its length: the worst case."""
        return Footprint(size, F.trim_peak_bytes(size.length))


@register
class Resample(AudioBrush):
    name = "resample"
    summary = "Convert every clip to one sample rate, so features line up across recordings."
    augments = False
    params = (
        Param(
            "target_rate",
            "int",
            16000,
            "Samples per second after conversion (16000 suits speech).",
            1000,
            192000,
        ),
    )

    def transform(self, sample: Clip, drawn: dict[str, Any]) -> Clip:
        target = self.settings["target_rate"]
        return Clip(F.resample(sample.samples, sample.sample_rate, target), target)

    def footprint(self, size: SampleSize) -> Footprint:
        target = self.settings["target_rate"]
        out = SampleSize("clip", target, F.resampled_length(size.length, size.sample_rate, target))
        peak = F.resample_peak_bytes(size.length, size.sample_rate, target)
        return Footprint(out, peak, ("target_rate",), "lower target_rate")


# --- features: clip → features ------------------------------------------------------------------------

MEL_PARAMS = (
    Param(
        "n_fft", "int", 512, "Window length in samples: longer gives finer pitch, blurrier timing.", 32, 8192
    ),
    Param(
        "hop_length", "int", 160, "Samples between frames (160 at 16 kHz = one frame per 10 ms).", 16, 4096
    ),
    Param("n_mels", "int", 64, "Number of mel bands (rows of the spectrogram).", 8, 256),
    Param("fmin", "float", 0.0, "Lowest frequency in Hz.", 0.0, 48000.0),
    Param("fmax", "float", 0.0, "Highest frequency in Hz; 0 means half the sample rate.", 0.0, 96000.0),
)


class MelStep(AudioBrush):
    """Shared by ``mel_spectrogram`` and ``mfcc``: validates the mel settings and computes the mel power."""

    augments = False
    output_kind: ClassVar[SampleKind] = "features"

    def setup(self) -> None:
        s = self.settings
        errors = []
        if s["hop_length"] > s["n_fft"]:
            errors.append(f"{self.name}.hop_length: must be <= n_fft ({s['n_fft']}), or samples are skipped")
        if s["fmax"] and s["fmax"] <= s["fmin"]:
            errors.append(f"{self.name}.fmax: must be above fmin ({s['fmin']:g} Hz), or 0 for the top")
        errors.extend(self.check_more())
        if errors:
            raise RecipeError(errors)

    def check_more(self) -> list[str]:
        return []

    #: Rows of this step's output, by setting name.
    rows_setting: ClassVar[str] = "n_mels"

    def footprint(self, size: SampleSize) -> Footprint:
        """The complex STFT is the cost: (n_fft/2 + 1) rows × (samples/hop_length) frames."""
        s = self.settings
        frames = F.stft_frames(size.length, s["hop_length"])
        out = SampleSize("features", size.sample_rate, frames, s[self.rows_setting])
        peak = F.mel_peak_bytes(size.length, s["n_fft"], s["hop_length"], s["n_mels"])
        # mfcc then holds the mel power, its decibels and their full DCT beside the coefficients.
        peak = max(peak, size.nbytes + 3 * F.FLOAT32 * s["n_mels"] * frames + out.nbytes)
        return Footprint(out, peak, ("n_fft", "hop_length"), "raise hop_length or lower n_fft")

    def mel(self, sample: Clip) -> np.ndarray:
        s = self.settings
        nyquist = sample.sample_rate / 2
        fmax = s["fmax"] or None
        if (fmax or nyquist) > nyquist or s["fmin"] >= nyquist:
            raise RecipeError(
                [
                    f"{self.name}: fmin/fmax ({s['fmin']:g}–{s['fmax']:g} Hz) must lie below half the clip's "
                    f"sample rate ({nyquist:g} Hz); lower them, set fmax to 0, or resample first"
                ]
            )
        waveform = sample.samples[np.newaxis]
        return F.mel_spectrogram_batch(
            waveform, sample.sample_rate, s["n_fft"], s["hop_length"], s["n_mels"], s["fmin"], fmax
        )[0]


@register
class MelSpectrogram(MelStep):
    name = "mel_spectrogram"
    summary = "Turn the sound into a picture of energy per pitch band over time (mel power)."
    params = MEL_PARAMS

    def transform(self, sample: Clip, drawn: dict[str, Any]) -> Features:
        return Features(self.mel(sample), "mel", sample.sample_rate, self.settings["hop_length"])


@register
class Mfcc(MelStep):
    name = "mfcc"
    summary = "Compact description of the sound's timbre per frame (MFCCs), classic for speech."
    params = (
        Param("n_mfcc", "int", 20, "Number of coefficients per frame (at most n_mels).", 1, 128),
        *MEL_PARAMS,
    )
    rows_setting: ClassVar[str] = "n_mfcc"

    def check_more(self) -> list[str]:
        if self.settings["n_mfcc"] > self.settings["n_mels"]:
            return [f"mfcc.n_mfcc: must be <= n_mels ({self.settings['n_mels']})"]
        return []

    def transform(self, sample: Clip, drawn: dict[str, Any]) -> Features:
        values = F.mfcc_from_mel(self.mel(sample), self.settings["n_mfcc"])
        return Features(values, "mfcc", sample.sample_rate, self.settings["hop_length"])


# --- features → features ------------------------------------------------------------------------------


@register
class LogScale(AudioBrush):
    name = "log_scale"
    summary = "Convert power to decibels, closer to how loud we hear it; models learn better from it."
    augments = False
    input_kind: ClassVar[SampleKind] = "features"
    output_kind: ClassVar[SampleKind] = "features"
    feature_kinds: ClassVar[tuple[str, ...] | None] = ("mel",)
    needs_before: ClassVar[str] = "mel_spectrogram"
    params = (
        Param(
            "top_db",
            "float",
            80.0,
            "Quietest level kept, in dB below the loudest; quieter is clamped.",
            10.0,
            200.0,
        ),
    )

    def transform(self, sample: Features, drawn: dict[str, Any]) -> Features:
        values = F.power_to_db(sample.values, self.settings["top_db"])
        return Features(values, f"log-{sample.kind}", sample.sample_rate, sample.hop_length)

    def footprint(self, size: SampleSize) -> Footprint:
        """librosa's ``power_to_db`` keeps two temporaries beside its input and output."""
        return Footprint(size, 4 * size.nbytes)


@register
class Standardize(AudioBrush):
    name = "standardize"
    summary = "Put each spectrogram on one scale (mean 0, spread 1): loud and quiet takes look alike."
    augments = False
    finishing = True
    input_kind: ClassVar[SampleKind] = "features"
    output_kind: ClassVar[SampleKind] = "features"

    def transform(self, sample: Features, drawn: dict[str, Any]) -> Features:
        values = F.standardize(sample.values)
        return Features(values, sample.kind, sample.sample_rate, sample.hop_length)


MASK_FILL = Param(
    "fill",
    "choice",
    "min",
    "What hidden cells become: zero, the spectrogram's mean, or its minimum (silence after log_scale).",
    choices=("zero", "mean", "min"),
)


class Mask(AudioBrush):
    """SpecAugment masking: hide ``count`` random bands of up to ``max_width`` along one axis.

    Each width is drawn from 0..max_width (as in the SpecAugment paper), so masks may overlap or be
    empty; at most ``max_width × count`` rows or columns change.
    """

    input_kind: ClassVar[SampleKind] = "features"
    output_kind: ClassVar[SampleKind] = "features"
    axis: ClassVar[int]

    def make_params(self, sample: Features) -> dict[str, Any]:
        size = sample.values.shape[self.axis]
        limit = min(self.settings["max_width"], size)
        spans = []
        for _ in range(self.settings["count"]):
            width = randint(0, limit)
            spans.append([randint(0, size - width), width])
        return {"spans": spans}

    def transform(self, sample: Features, drawn: dict[str, Any]) -> Features:
        values = F.mask(sample.values, self.axis, drawn["spans"], self.settings["fill"])
        return Features(values, sample.kind, sample.sample_rate, sample.hop_length)


@register
class TimeMask(Mask):
    name = "time_mask"
    summary = "Hide short stretches of time, so the model copes with dropouts and overlapping sounds."
    axis = 1
    params = (
        Param(
            "max_width",
            "int",
            10,
            "Widest hidden stretch, in frames (10 frames ≈ 0.1 s at hop 160).",
            1,
            1000,
        ),
        Param("count", "int", 2, "How many stretches to hide.", 1, 20),
        MASK_FILL,
    )


@register
class FreqMask(Mask):
    name = "freq_mask"
    summary = "Hide a few pitch bands, so the model does not depend on any single band."
    axis = 0
    params = (
        Param("max_width", "int", 8, "Widest hidden band, in rows (mel bands or coefficients).", 1, 256),
        Param("count", "int", 2, "How many bands to hide.", 1, 20),
        MASK_FILL,
    )
