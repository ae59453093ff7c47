"""Audio: WAV, FLAC, Ogg (Vorbis, Opus) and MP3 clips, one per file, decoded to a mono ``Clip``;
recipes end in features (a spectrogram) of varying length, so batches are padded on the time axis.

soundfile, numpy and torch are imported inside the methods, so registering the modality costs nothing.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar

from canvascraft.errors import CanvasCraftError, CorruptItemError, DatasetError, DriftError
from canvascraft.modalities.base import PREVIEW_SIDE, ItemInfo
from canvascraft.modalities.files import FileModality
from canvascraft.modalities.registry import register_modality

if TYPE_CHECKING:
    import torch

    from canvascraft.brushes.audio import Clip
    from canvascraft.data.catalog import VersionView
    from canvascraft.recipe.memory import ClipCost
    from canvascraft.recipe.preview import AudioPreview
    from canvascraft.recipe.spec import Recipe

EXTENSIONS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".oga": "OGG", ".opus": "OGG", ".mp3": "MP3"}
"""What libsndfile (through soundfile, the one decoder of imports, training and Try) reads: Ogg holds
Vorbis or Opus; MP3 needs libsndfile 1.1 or later, which soundfile's wheels bundle."""
DECODES = "WAV, FLAC, Ogg (Vorbis or Opus) and MP3"
_CONVERT = "convert it to WAV or FLAC (for example `ffmpeg -i {name} {stem}.wav`) and import that"
UNDECODABLE = {
    suffix: f"{kind} audio cannot be decoded here: the studio's audio decoder (libsndfile) reads "
    f"{DECODES}, not {kind}; {_CONVERT.format(name='clip' + suffix, stem='clip')}"
    for suffix, kind in {
        ".m4a": "M4A (AAC)", ".aac": "AAC", ".wma": "WMA", ".amr": "AMR",
    }.items()
}  # fmt: skip
CONTAINERS = {"WAV": {"WAV", "WAVEX", "RF64"}}
"""The libsndfile formats each named format may hold (a .wav may be WAVE_FORMAT_EXTENSIBLE or RF64)."""


def _check_header(fmt: str, sample_rate: int, channels: int, frames: int, filename: str) -> None:
    """Refuse, from the header alone (before a sample is decoded), audio whose container does not match
    its name or whose size is beyond what the studio trains on (``CANVASCRAFT_MAX_AUDIO_*``)."""
    from canvascraft.config import get_settings

    named = EXTENSIONS.get(PurePosixPath(filename).suffix.lower())
    if named is not None and fmt not in CONTAINERS.get(named, {named}):
        raise CorruptItemError(f"the file is named {named} but holds {fmt} audio; rename or re-export it")
    settings = get_settings()
    if sample_rate > settings.max_audio_sample_rate:
        raise CorruptItemError(
            f"sample rate {sample_rate:,} Hz is over the {settings.max_audio_sample_rate:,} Hz accepted; "
            "resample it, or raise CANVASCRAFT_MAX_AUDIO_SAMPLE_RATE"
        )
    if channels > settings.max_audio_channels:
        raise CorruptItemError(
            f"{channels} channels are over the {settings.max_audio_channels} accepted; mix it down, or "
            "raise CANVASCRAFT_MAX_AUDIO_CHANNELS"
        )
    if sample_rate > 0 and frames / sample_rate > settings.max_audio_seconds:
        raise CorruptItemError(
            f"{frames / sample_rate:,.0f} s long, over the {settings.max_audio_seconds:g} s accepted; cut it "
            "into clips, or raise CANVASCRAFT_MAX_AUDIO_SECONDS"
        )


def inspect_audio(data: bytes, filename: str = "") -> ItemInfo:
    """Every sample decoded; raises ``CorruptItemError`` for undecodable, empty, mislabelled or
    oversized audio."""
    import soundfile as sf

    named = EXTENSIONS.get(PurePosixPath(filename).suffix.lower())
    if named is not None and named not in sf.available_formats():
        raise CorruptItemError(
            f"this libsndfile ({sf.__libsndfile_version__}) cannot decode {named} audio; "
            f"{_CONVERT.format(name=filename, stem=PurePosixPath(filename).stem)}"
        )
    try:
        with sf.SoundFile(io.BytesIO(data)) as sound:
            fmt = sound.format
            sample_rate = sound.samplerate
            channels = sound.channels
            _check_header(fmt, sample_rate, channels, sound.frames, filename)
            samples = sound.read(dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as error:
        # libsndfile's own text, without the "Error opening <_io.BytesIO object at 0x…>" prefix.
        detail = getattr(error, "error_string", None) or error
        raise CorruptItemError(f"undecodable audio: {detail}") from None
    if samples.shape[0] == 0:
        raise CorruptItemError("audio file holds no samples (0 s long)")
    import numpy as np

    if not np.isfinite(samples).all():
        bad = int(np.count_nonzero(~np.isfinite(samples)))
        raise CorruptItemError(
            f"audio holds {bad:,} samples that are not numbers (NaN or infinite); they would turn every "
            "loss into NaN, so re-export the file"
        )
    return ItemInfo(
        modality="audio",
        format=fmt,
        sample_rate=sample_rate,
        channels=channels,
        duration_s=round(samples.shape[0] / sample_rate, 6),
    )


def audio_signals(data: bytes) -> dict[str, float]:
    """RMS level, spectral centroid in Hz (magnitude-weighted mean frequency of the whole clip),
    duration in seconds and zero-crossing rate (crossings per sample)."""
    import numpy as np

    # Imported here: the audio brushes pull in torch, which table and image profiles never need.
    from canvascraft.brushes.audio import load_clip

    try:
        clip = load_clip(data)
    except CorruptItemError as error:
        raise DriftError(f"cannot read the audio for its drift profile: {error}") from None
    samples = clip.samples.astype(np.float64)
    magnitude = np.abs(np.fft.rfft(samples))
    frequencies = np.fft.rfftfreq(samples.size, d=1.0 / clip.sample_rate)
    total = float(magnitude.sum())
    centroid = float((frequencies * magnitude).sum() / total) if total > 0 else 0.0
    signs = np.signbit(samples)
    crossings = float(np.count_nonzero(signs[1:] != signs[:-1]) / max(samples.size - 1, 1))
    return {
        "rms": float(np.sqrt(np.mean(samples**2))),
        "spectral_centroid_hz": centroid,
        "duration_s": float(clip.duration_s),
        "zero_crossing_rate": crossings,
    }


@register_modality
class AudioModality(FileModality):
    name: ClassVar[str] = "audio"
    extensions: ClassVar[dict[str, str]] = EXTENSIONS
    files: ClassVar[str] = "audio"
    reads: ClassVar[str] = f"a sound clip ({DECODES})"
    undecodable: ClassVar[dict[str, str]] = UNDECODABLE
    item_noun: ClassVar[str | None] = "clips"
    signals: ClassVar[dict[str, tuple[str, str]]] = {
        "rms": ("are louder", "are quieter"),
        "spectral_centroid_hz": ("sound higher-pitched or hissier", "sound lower-pitched or more muffled"),
        "duration_s": ("are longer", "are shorter"),
        "zero_crossing_rate": ("are noisier", "are smoother"),
    }

    def inspect(
        self, filename: str, data: bytes, *, max_image_pixels: int, label_column: str | None
    ) -> ItemInfo:
        return inspect_audio(data, filename)

    def decode(self, data: bytes, fmt: str = "") -> Clip:
        from canvascraft.brushes.audio import load_clip

        return load_clip(data)

    def read_file(self, data: bytes, filename: str) -> Clip:
        if (reason := self.cannot_read(filename)) is not None:
            raise CorruptItemError(reason)
        inspect_audio(data)
        return self.decode(data)

    def collate_fn(self) -> Callable[..., Any] | None:
        """Trimmed or stretched clips give spectrograms of different lengths: pad time with zeros."""
        from canvascraft.training.data import pad_frames

        return pad_frames

    def item_memory(self, recipe: Recipe, view: VersionView) -> ClipCost | None:
        """The recipe on the version's longest clip (per sample rate and channel count), sized from the
        durations, rates and channels the import recorded."""
        from canvascraft.recipe.memory import ClipHeader, costliest_clip

        clips = (
            ClipHeader(item.name, item.duration_s or 0.0, item.sample_rate or 1, item.channels or 1,
                       item.size_bytes)
            for item in view.items
            if item.sample_rate
        )  # fmt: skip
        return costliest_clip(recipe, clips, f"the longest clip of dataset {view.dataset!r}")

    def fit_input(self, x: torch.Tensor, want: tuple[int, ...]) -> torch.Tensor | None:
        """Pad with zeros (as training's ``pad_frames`` does) or crop the time axis to the frames the
        model was exported with; the other axes must already match."""
        import torch

        if x.ndim != len(want) or tuple(x.shape[:-1]) != want[:-1]:
            return None
        frames = want[-1]
        return (
            torch.nn.functional.pad(x, (0, frames - x.shape[-1])) if x.shape[-1] < frames else x[..., :frames]
        )

    def signal_features(self, data: bytes) -> dict[str, float]:
        return audio_signals(data)

    def baseline_features(self, x: torch.Tensor) -> torch.Tensor | None:
        """Each frequency band's mean and spread over time (the MFCC-statistics features of classical
        sound classifiers): the same length whatever the clip's length, and blind to when a sound
        starts, as a time shift would have it."""
        import torch

        bands = x.float().reshape(-1, x.shape[-1])
        return torch.cat([bands.mean(dim=1), bands.std(dim=1, correction=0)])

    def baseline_input(self, input_shape: tuple[int, ...]) -> str:
        return f"the mean and spread of {input_shape[-2]} frequency bands"

    def card_picture(self, data: bytes) -> bytes | None:
        from canvascraft.recipe.preview import spectrogram_png

        return spectrogram_png(data)

    def preview_file(
        self,
        recipe: Recipe,
        name: str,
        data: bytes,
        n_variants: int,
        seed: int,
        *,
        max_side: int = PREVIEW_SIDE,
    ) -> AudioPreview:
        """The clip after the effects (to listen to) and its features, for the original and each draw."""
        import soundfile as sf

        from canvascraft.recipe import preview
        from canvascraft.recipe.memory import ClipHeader, clip_cost

        try:
            info = sf.info(io.BytesIO(data))
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
            info = None  # preview_audio's decoder words the refusal
        if info is not None and info.samplerate > 0:
            seconds = info.frames / info.samplerate
            clip_cost(recipe, ClipHeader(name, seconds, info.samplerate, info.channels, len(data))).check()
        try:
            return preview.preview_audio(recipe, name, data, n_variants, seed)
        except (RuntimeError, ValueError) as error:
            if isinstance(error, CanvasCraftError):
                raise
            raise DatasetError(f"could not read {name} as audio: {error}") from None

    def grid_png(self, previews: list[Any]) -> bytes:
        from canvascraft.recipe.preview import audio_grid_png

        return audio_grid_png(previews)
