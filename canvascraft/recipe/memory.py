"""Memory per clip of an audio recipe, known from a clip's header before anything is decoded.

Every setting of a recipe may be within its bounds while their product is not: a mel spectrogram with
n_fft 8192 and hop_length 16 holds a complex STFT of 4,097 rows × one frame per 16 samples, gigabytes
for a minute of audio. Each audio brush declares what it makes of a sample and what it holds while it
runs (``AudioBrush.footprint``); this walks a recipe's steps from a clip's length, sample rate and
channels to the peak, and ``ClipCost.check`` refuses a recipe whose peak is over
``CANVASCRAFT_MAX_CLIP_MEMORY_MB``. Launches (``training.launch``, studies) and previews call it through
the modality (``Modality.item_memory``), so the refusal comes before a job exists or a page hangs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from canvascraft.brushes.audio import AudioBrush, SampleSize
from canvascraft.brushes.functional.audio import FLOAT32
from canvascraft.config import get_settings
from canvascraft.errors import RecipeError
from canvascraft.recipe.compose import STAGES, Pipeline, compose
from canvascraft.recipe.spec import Recipe

MB = 1024 * 1024
SETTING = "CANVASCRAFT_MAX_CLIP_MEMORY_MB"


@dataclass(frozen=True)
class ClipHeader:
    """What an import records of a clip (or a file's header says): enough to size it."""

    name: str
    seconds: float
    sample_rate: int
    channels: int
    #: The encoded file, held in memory while it is decoded and trained on.
    file_bytes: int = 0

    @property
    def samples(self) -> int:
        return max(1, round(self.seconds * self.sample_rate))

    def describe(self) -> str:
        channels = f"{self.channels} channel{'s' if self.channels != 1 else ''}"
        return f"{self.name}: {self.seconds:,.1f} s at {self.sample_rate:,} Hz, {channels}"


@dataclass(frozen=True)
class StepCost:
    """One step of the walk: the brush's footprint and all that is held while it runs."""

    place: str
    brush: AudioBrush
    peak_bytes: int
    driven_by: tuple[str, ...]
    remedy: str

    def describe(self) -> str:
        settings = ", ".join(f"{name} {self.brush.settings[name]}" for name in self.driven_by)
        return f"{self.place}{f' with {settings}' if settings else ''} holds {shown(self.peak_bytes)}"


@dataclass(frozen=True)
class ClipCost:
    """The estimated peak memory of one clip through one recipe, and which step reaches it."""

    recipe: str
    clip: ClipHeader
    #: Where the clip comes from, as the refusal names it (``the longest clip of dataset 'birds'``).
    source: str
    peak_bytes: int
    #: Decoding: the file, every channel as float32 and the mono mix.
    decode_bytes: int
    steps: tuple[StepCost, ...]

    @property
    def drivers(self) -> list[StepCost]:
        """The steps that cost most, costliest first (those over the limit, or the single worst)."""
        limit = limit_bytes()
        ranked = sorted(self.steps, key=lambda s: s.peak_bytes, reverse=True)
        over = [s for s in ranked if s.peak_bytes > limit]
        return over or ranked[:1]

    def check(self, note: str = "") -> None:
        """Raise ``RecipeError`` saying what to change when the peak is over the limit."""
        limit = limit_bytes()
        if self.peak_bytes <= limit:
            return
        if self.decode_bytes > limit:  # the file alone is too large, whatever the brushes
            cause, remedies = f"decoding it holds {shown(self.decode_bytes)}", []
        else:
            cause = "; ".join(d.describe() for d in self.drivers)
            remedies = [d.remedy for d in self.drivers if d.remedy]
        todo = ", ".join([*dict.fromkeys(remedies), "use shorter clips", f"or raise {SETTING}"])
        raise RecipeError(
            [
                f"recipe {self.recipe!r} needs about {shown(self.peak_bytes)} of memory per clip on "
                f"{self.source} ({self.clip.describe()}){note}, over the {limit // MB:,} MB limit "
                f"({SETTING}): {cause}. To fix it: {todo}"
            ]
        )


def limit_bytes() -> int:
    return get_settings().max_clip_memory_mb * MB


def shown(nbytes: int) -> str:
    """``9.8 GB`` or ``310 MB`` (binary units, as the limit is given)."""
    return f"{nbytes / MB / 1024:,.1f} GB" if nbytes >= 1024 * MB else f"{max(nbytes / MB, 0.1):,.1f} MB"


def clip_cost(recipe: Recipe, clip: ClipHeader, source: str = "") -> ClipCost:
    """The costlier of the recipe's ``train`` and ``eval`` pipelines on ``clip``."""
    costs = [_walk(compose(recipe, stage), clip, source or "this clip") for stage in STAGES]
    return max(costs, key=lambda c: c.peak_bytes)


def costliest_clip(recipe: Recipe, clips: Iterable[ClipHeader], source: str) -> ClipCost | None:
    """The costliest of ``clips`` (the longest of each sample rate and channel count is enough: the
    cost grows with the length); None when there are none."""
    longest: dict[tuple[int, int], ClipHeader] = {}
    for clip in clips:
        key = (clip.sample_rate, clip.channels)
        known = longest.get(key)
        if known is None or (clip.seconds, clip.file_bytes) > (known.seconds, known.file_bytes):
            longest[key] = clip
    costs = [clip_cost(recipe, clip, source) for clip in longest.values()]
    return max(costs, key=lambda c: c.peak_bytes, default=None)


def _walk(pipeline: Pipeline, clip: ClipHeader, source: str) -> ClipCost:
    """Step by step, as ``ItemDataset`` runs it: the stored bytes and the decoded clip stay referenced
    while the brushes run, each step holds its footprint, and the last output is copied into a tensor."""
    decoded = FLOAT32 * clip.samples
    decode = clip.file_bytes + FLOAT32 * clip.samples * clip.channels + decoded
    size = SampleSize("clip", clip.sample_rate, clip.samples)
    steps: list[StepCost] = []
    for step in pipeline.steps:
        brush = step.brush
        if not isinstance(brush, AudioBrush):
            continue
        if brush.gate_param is not None and brush.settings[brush.gate_param] == 0.0:
            continue  # never applied
        footprint = brush.footprint(size)
        # The first step's input is the decoded clip itself; later ones hold it besides their own input.
        held = clip.file_bytes + (decoded if steps else 0) + footprint.peak_bytes
        steps.append(StepCost(step.place, brush, held, footprint.driven_by, footprint.remedy))
        size = footprint.size
    final = clip.file_bytes + decoded + 2 * size.nbytes
    peak = max([decode, final, *(s.peak_bytes for s in steps)])
    return ClipCost(pipeline.recipe.name, clip, source, peak, decode, tuple(steps))
