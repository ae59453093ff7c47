"""Small, labelled, seeded sample datasets so the studio never opens empty.

Nothing can be downloaded on an artist's offline machine, so the samples are synthesised: drawn
shapes and textures, synthesised sounds and a table of paint mixtures. Each dataset draws from its
own child random stream, so the same seed always writes byte-identical files and changing how one
dataset is generated never changes the others.
"""

from __future__ import annotations

import colorsys
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import soundfile as sf
from PIL import Image, ImageDraw

SAMPLE_DATASETS: dict[str, str] = {
    "sample-images": "image",
    "sample-audio": "audio",
    "sample-table": "table",
}
SAMPLE_TABLE_LABEL = "style"
SAMPLE_TABLE_FILENAME = "paint-mixtures.csv"

IMAGE_SIZE = 64
IMAGES_PER_CLASS = 24
AUDIO_SAMPLE_RATE = 16_000
AUDIO_CLIPS_PER_CLASS = 12
TABLE_ROWS = 300

_SUPERSAMPLE = 4  # shapes are drawn 4x larger and box-filtered down, which gives soft antialiased edges
_CANVAS = IMAGE_SIZE * _SUPERSAMPLE

Rgb = tuple[int, int, int]


def write_sample_data(out_dir: Path, seed: int = 0) -> dict[str, Path]:
    """Write the three datasets under out_dir and return {dataset name: its folder}.

    Only the three sample folders are replaced; anything else in out_dir is left alone. Each folder
    is built beside its final place and swapped in, so a failure never leaves half a dataset.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    image_seq, audio_seq, table_seq = np.random.SeedSequence(seed).spawn(3)
    writers: dict[str, Callable[[Path], None]] = {
        "sample-images": lambda folder: _write_images(folder, np.random.default_rng(image_seq)),
        "sample-audio": lambda folder: _write_audio(folder, np.random.default_rng(audio_seq)),
        "sample-table": lambda folder: _write_table(folder, np.random.default_rng(table_seq)),
    }
    written: dict[str, Path] = {}
    for name, write in writers.items():
        target = out_dir / name
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=out_dir))
        try:
            staging.chmod(0o755)  # mkdtemp makes it private; the samples are ordinary shared files
            write(staging)
            _remove(target)
            os.replace(staging, target)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
        written[name] = target
    return written


def _remove(path: Path) -> None:
    """Delete a previous sample folder (or a stray file or link of the same name) before replacing it."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


# --- images -------------------------------------------------------------------------------------------

IMAGE_CLASSES = ("circle", "square", "triangle", "stripes", "checker")


def _write_images(folder: Path, rng: np.random.Generator) -> None:
    """Draw IMAGES_PER_CLASS PNGs per class into one sub-folder per class."""
    for label in IMAGE_CLASSES:
        class_dir = folder / label
        class_dir.mkdir(parents=True)
        for index in range(IMAGES_PER_CLASS):
            _draw_image(label, rng).save(class_dir / f"{label}-{index:03d}.png", format="PNG")


def _hsv(hue: float, saturation: float, value: float) -> Rgb:
    red, green, blue = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return round(red * 255), round(green * 255), round(blue * 255)


def _palette(rng: np.random.Generator) -> tuple[Rgb, Rgb, Rgb, Rgb]:
    """Two background colours and two foreground colours with enough contrast to see the subject."""
    dark_background = rng.random() < 0.5
    bg_value = rng.uniform(0.1, 0.35) if dark_background else rng.uniform(0.7, 0.95)
    fg_value = rng.uniform(0.75, 1.0) if dark_background else rng.uniform(0.05, 0.35)
    bg_hue, fg_hue = rng.random(), rng.random()
    bg_a = _hsv(bg_hue, rng.uniform(0.1, 0.6), bg_value)
    bg_b = _hsv(bg_hue + rng.uniform(-0.15, 0.15), rng.uniform(0.1, 0.6), np.clip(bg_value + 0.1, 0, 1))
    fg_a = _hsv(fg_hue, rng.uniform(0.4, 1.0), fg_value)
    fg_b = _hsv(fg_hue + 0.5, rng.uniform(0.2, 0.8), bg_value)
    return bg_a, bg_b, fg_a, fg_b


def _background(rng: np.random.Generator, colour_a: Rgb, colour_b: Rgb) -> np.ndarray:
    """A gradient at a random angle with a faint wavy texture, like a primed canvas.

    It is smooth, so it is computed at the final size and only enlarged for drawing on.
    """
    ys, xs = (np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE] + 0.5) / IMAGE_SIZE
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * (xs - 0.5) + np.sin(angle) * (ys - 0.5)) / np.sqrt(2) + 0.5
    texture = np.zeros_like(ramp)
    for _ in range(3):
        freq = rng.uniform(2, 9)
        direction = rng.uniform(0, 2 * np.pi)
        phase = rng.uniform(0, 2 * np.pi)
        texture += np.sin(2 * np.pi * freq * (np.cos(direction) * xs + np.sin(direction) * ys) + phase)
    mix = np.clip(ramp + 0.04 * texture, 0, 1)[..., None]
    small = (1 - mix) * np.array(colour_a) + mix * np.array(colour_b)
    return small.repeat(_SUPERSAMPLE, axis=0).repeat(_SUPERSAMPLE, axis=1)


def _rotated(points: np.ndarray, angle: float, centre: np.ndarray) -> list[tuple[float, float]]:
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return [(float(x), float(y)) for x, y in points @ rotation.T + centre]


def _pattern_mask(
    rng: np.random.Generator, label: str, centre: np.ndarray, half: float, angle: float
) -> np.ndarray:
    """Stripes or a checkerboard clipped to a rotated square patch, as a 0..1 mask."""
    ys, xs = np.mgrid[0:_CANVAS, 0:_CANVAS].astype(float)
    u = np.cos(angle) * (xs - centre[0]) + np.sin(angle) * (ys - centre[1])
    v = -np.sin(angle) * (xs - centre[0]) + np.cos(angle) * (ys - centre[1])
    inside = (np.abs(u) <= half) & (np.abs(v) <= half)
    period = rng.uniform(0.18, 0.4) * half
    offset = rng.uniform(0, period)
    if label == "stripes":
        pattern = np.floor((u + offset) / period) % 2 == 0
    else:
        pattern = (np.floor((u + offset) / period) + np.floor((v + offset) / period)) % 2 == 0
    return (inside & pattern).astype(float)


def _draw_image(label: str, rng: np.random.Generator) -> Image.Image:
    """One 64x64 RGB picture of the class: random colours, placement, size and rotation."""
    bg_a, bg_b, fg, accent = _palette(rng)
    canvas = _background(rng, bg_a, bg_b)
    size = rng.uniform(0.22, 0.4) * _CANVAS  # half-width of the subject
    margin = size * 0.9
    centre = rng.uniform(margin, _CANVAS - margin, size=2)
    angle = rng.uniform(0, 2 * np.pi)

    if label in ("stripes", "checker"):
        mask = _pattern_mask(rng, label, centre, size, angle)[..., None]
        canvas = (1 - mask) * canvas + mask * np.array(fg)
        image = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    else:
        image = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        outline = accent if rng.random() < 0.4 else None
        width = int(rng.integers(2, 4)) * _SUPERSAMPLE
        if label == "circle":
            aspect = rng.uniform(0.8, 1.0)  # a slightly squashed hand-drawn circle, rotated
            theta = np.linspace(0, 2 * np.pi, 96, endpoint=False)
            points = np.stack([size * np.cos(theta), size * aspect * np.sin(theta)], axis=1)
        elif label == "square":
            points = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=float) * size * 0.85
        else:
            corners = np.array([0, 2 * np.pi / 3, 4 * np.pi / 3]) + rng.uniform(-0.25, 0.25, size=3)
            points = np.stack([np.cos(corners), np.sin(corners)], axis=1) * size * 1.1
        draw.polygon(_rotated(points, angle, centre), fill=fg, outline=outline, width=width)

    small = np.asarray(image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BOX), dtype=float)
    noisy = small + rng.normal(0, 4.0, size=small.shape)
    return Image.fromarray(np.clip(np.rint(noisy), 0, 255).astype(np.uint8), mode="RGB")


# --- audio --------------------------------------------------------------------------------------------

AUDIO_CLASSES = ("tone", "chirp", "drum", "chord", "noise")


def _write_audio(folder: Path, rng: np.random.Generator) -> None:
    """Synthesise AUDIO_CLIPS_PER_CLASS one-second 16-bit WAV clips per class."""
    synths: dict[str, Callable[[np.random.Generator, np.ndarray], np.ndarray]] = {
        "tone": _tone,
        "chirp": _chirp,
        "drum": _drum,
        "chord": _chord,
        "noise": _noise_bursts,
    }
    t = np.arange(AUDIO_SAMPLE_RATE) / AUDIO_SAMPLE_RATE
    for label in AUDIO_CLASSES:
        class_dir = folder / label
        class_dir.mkdir(parents=True)
        for index in range(AUDIO_CLIPS_PER_CLASS):
            signal = synths[label](rng, t)
            signal = signal + rng.normal(0, 1e-3, size=t.size)  # a quiet room, never digital silence
            signal = signal / np.max(np.abs(signal)) * rng.uniform(0.5, 0.85)
            path = class_dir / f"{label}-{index:03d}.wav"
            sf.write(path, signal, AUDIO_SAMPLE_RATE, subtype="PCM_16", format="WAV")


def _envelope(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """A note that starts and stops at random times with soft attack and release."""
    start = rng.uniform(0.0, 0.2)
    stop = rng.uniform(0.7, 1.0)
    attack = rng.uniform(0.01, 0.08)
    release = rng.uniform(0.05, 0.2)
    rise = np.clip((t - start) / attack, 0, 1)
    fall = np.clip((stop - t) / release, 0, 1)
    return rise * fall


def _tone(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """A steady sine with vibrato and a touch of second harmonic, like a whistle or flute."""
    f0 = np.exp(rng.uniform(np.log(220), np.log(880)))
    vibrato = 1 + rng.uniform(0.003, 0.015) * np.sin(2 * np.pi * rng.uniform(4, 7) * t)
    phase = 2 * np.pi * np.cumsum(f0 * vibrato) / AUDIO_SAMPLE_RATE
    return (np.sin(phase) + rng.uniform(0, 0.2) * np.sin(2 * phase)) * _envelope(rng, t)


def _chirp(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """An exponential upward sweep, like a bird call or a rising siren."""
    start, stop = rng.uniform(0.0, 0.25), rng.uniform(0.6, 1.0)
    f_low = np.exp(rng.uniform(np.log(200), np.log(600)))
    f_high = f_low * rng.uniform(2.5, 6.0)
    progress = np.clip((t - start) / (stop - start), 0, 1)
    freq = f_low * (f_high / f_low) ** progress
    phase = 2 * np.pi * np.cumsum(freq) / AUDIO_SAMPLE_RATE
    gate = np.clip((t - start) / 0.02, 0, 1) * np.clip((stop - t) / 0.03, 0, 1)
    return np.sin(phase) * gate


def _drum(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """A few percussive hits: a pitch-dropping thump plus a noisy snap, each decaying fast."""
    signal = np.zeros_like(t)
    hits = np.sort(rng.uniform(0.0, 0.8, size=int(rng.integers(2, 6))))
    body = rng.uniform(55, 150)
    snap = rng.uniform(0.2, 0.8)
    for hit in hits:
        local = np.clip(t - hit, 0, None)
        on = t >= hit
        decay = np.exp(-local / rng.uniform(0.03, 0.12)) * on
        freq = body * (1 + 1.5 * np.exp(-local / 0.02))
        thump = np.sin(2 * np.pi * np.cumsum(freq * on) / AUDIO_SAMPLE_RATE)
        rattle = rng.normal(0, 1, size=t.size) * np.exp(-local / 0.02) * on
        signal += rng.uniform(0.6, 1.0) * decay * (thump + snap * rattle)
    return signal


def _chord(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Three or four notes of a major or minor chord, each with decaying harmonics, like an organ."""
    root = np.exp(rng.uniform(np.log(130), np.log(440)))
    intervals = [0, 4, 7, 12] if rng.random() < 0.5 else [0, 3, 7, 12]
    notes = intervals[: int(rng.integers(3, 5))]
    signal = np.zeros_like(t)
    for semitones in notes:
        freq = root * 2 ** (semitones / 12)
        for harmonic in range(1, 5):
            if freq * harmonic < AUDIO_SAMPLE_RATE / 2:
                phase = rng.uniform(0, 2 * np.pi)
                signal += np.sin(2 * np.pi * freq * harmonic * t + phase) / harmonic**1.5
    return signal * _envelope(rng, t)


def _noise_bursts(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Band-passed noise swelling in and out, like wind or surf."""
    spectrum = np.fft.rfft(rng.normal(0, 1, size=t.size))
    freqs = np.fft.rfftfreq(t.size, 1 / AUDIO_SAMPLE_RATE)
    centre = np.exp(rng.uniform(np.log(400), np.log(5000)))
    width = centre * rng.uniform(0.3, 1.0)
    band = np.fft.irfft(spectrum * np.exp(-0.5 * ((freqs - centre) / width) ** 2), n=t.size)
    swell = np.zeros_like(t)
    for _ in range(int(rng.integers(1, 4))):
        swell += np.exp(-0.5 * ((t - rng.uniform(0.15, 0.85)) / rng.uniform(0.05, 0.2)) ** 2)
    return band * swell


# --- table --------------------------------------------------------------------------------------------

TABLE_STYLES = ("impressionist", "minimalist", "expressionist", "pop")
TABLE_MEDIA = ("oil", "acrylic", "watercolor", "gouache")
TABLE_CANVASES = ("linen", "cotton", "paper")


class _StyleProfile(NamedTuple):
    """How one style tends to be painted; styles overlap so the label is learnable but not trivial."""

    hue: float  # centre in degrees
    saturation: tuple[float, float]  # mean, spread
    brightness: tuple[float, float]
    thickness_mm: tuple[float, float]
    strokes: float  # mean stroke count
    medium: tuple[float, float, float, float]  # odds over TABLE_MEDIA
    canvas: tuple[float, float, float]  # odds over TABLE_CANVASES


_STYLE_PROFILES: dict[str, _StyleProfile] = {
    "impressionist": _StyleProfile(
        200, (0.55, 0.12), (0.7, 0.1), (1.2, 0.4), 900, (0.55, 0.1, 0.2, 0.15), (0.5, 0.4, 0.1)
    ),
    "minimalist": _StyleProfile(
        30, (0.2, 0.1), (0.8, 0.1), (0.4, 0.2), 60, (0.15, 0.55, 0.1, 0.2), (0.3, 0.5, 0.2)
    ),
    "expressionist": _StyleProfile(
        350, (0.7, 0.15), (0.4, 0.12), (2.6, 0.8), 500, (0.6, 0.2, 0.0, 0.2), (0.45, 0.45, 0.1)
    ),
    "pop": _StyleProfile(
        60, (0.9, 0.07), (0.85, 0.08), (0.7, 0.3), 200, (0.05, 0.6, 0.05, 0.3), (0.1, 0.4, 0.5)
    ),
}


def _write_table(folder: Path, rng: np.random.Generator) -> None:
    """Write the paint-mixture table: each style has its own overlapping feature profile."""
    folder.mkdir(parents=True, exist_ok=True)
    styles = rng.choice(TABLE_STYLES, size=TABLE_ROWS, p=[0.3, 0.25, 0.25, 0.2])
    rows = []
    for style in styles:
        p = _STYLE_PROFILES[str(style)]
        rows.append(
            {
                "hue": round(float((p.hue + rng.normal(0, 45)) % 360), 1),
                "saturation": round(float(np.clip(rng.normal(*p.saturation), 0, 1)), 3),
                "brightness": round(float(np.clip(rng.normal(*p.brightness), 0, 1)), 3),
                "thickness_mm": round(float(np.clip(rng.normal(*p.thickness_mm), 0.05, None)), 2),
                "stroke_count": int(rng.poisson(p.strokes * rng.lognormal(0, 0.5))),
                "medium": str(rng.choice(TABLE_MEDIA, p=p.medium)),
                "canvas": str(rng.choice(TABLE_CANVASES, p=p.canvas)),
                SAMPLE_TABLE_LABEL: str(style),
            }
        )
    frame = pd.DataFrame(rows)
    missing = rng.choice(TABLE_ROWS, size=TABLE_ROWS // 25, replace=False)
    frame.loc[missing, "thickness_mm"] = np.nan  # gaps for the imputation brushes to fill
    frame.to_csv(folder / SAMPLE_TABLE_FILENAME, index=False, encoding="utf-8", lineterminator="\n")
