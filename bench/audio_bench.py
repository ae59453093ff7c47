"""Mel spectrograms against a librosa loop: ``python bench/audio_bench.py [--clips N] [--repeat R]``.

Synthesises seeded one-second 16 kHz clips (tones with vibrato, a decaying envelope and a little
noise), then measures, interleaved and repeated, with n_fft 512, hop 160 and 64 mels:

* the baseline: ``librosa.feature.melspectrogram`` called once per clip, after a warm-up call (numba
  compiles, or loads its cache, on the first one; that time is printed, not counted);
* ours, batched: ``canvascraft.brushes.functional.audio.mel_spectrogram_batch`` on all clips at once
  (the feature step of training), with its default chunking (``mel_chunk_size``: as many clips per
  ``torch.stft`` call as fit 96 MB of working memory, 158 one-second clips here);
* ours per clip: the ``mel_spectrogram`` brush called on each ``Clip`` (what a per-item pipeline pays),
  and ``compose(recipe, "train").apply`` per clip (the brush plus the per-item seeding);
* what-if rows: the batched call with other ``chunk_size`` values (8 was the old default), and with one
  torch thread.

Prints clips/s, the ratio to librosa (target: at least 8× for the batched path in every round, each
round's batched rate over the same round's librosa rate) and the largest error against librosa: per
clip, max |ours − librosa| / max |librosa|, worst clip.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import librosa
import numpy as np
import torch
from timing import run_interleaved, torch_threads

from canvascraft.brushes.audio import Clip, MelSpectrogram
from canvascraft.brushes.functional.audio import mel_chunk_size, mel_spectrogram_batch
from canvascraft.recipe.compose import compose, item_seed
from canvascraft.recipe.spec import validate_recipe

TARGET_RATIO = 8.0
SEED = 20261101
MEL = {"n_fft": 512, "hop_length": 160, "n_mels": 64}


def generate_clips(count: int, sample_rate: int, seconds: float, seed: int = SEED) -> np.ndarray:
    """``count`` float32 clips: 1–4 partials with vibrato, a decaying envelope, noise; peak about 0.5."""
    rng = np.random.default_rng(seed)
    length = round(sample_rate * seconds)
    t = np.arange(length) / sample_rate
    clips = np.empty((count, length), dtype=np.float32)
    for index in range(count):
        signal = np.zeros(length)
        for _ in range(rng.integers(1, 5)):
            frequency = rng.uniform(80.0, 4000.0)
            vibrato = rng.uniform(0.0, 0.01) * np.sin(2 * np.pi * rng.uniform(2.0, 8.0) * t)
            phase = 2 * np.pi * frequency * (t + vibrato / (2 * np.pi * 5.0))
            signal += rng.uniform(0.1, 1.0) * np.sin(phase + rng.uniform(0, 2 * np.pi))
        signal *= np.exp(-t * rng.uniform(0.0, 4.0))
        signal += rng.normal(0.0, rng.uniform(0.001, 0.05), length)
        clips[index] = 0.5 * signal / max(np.abs(signal).max(), 1e-9)
    return clips


def worst_relative_error(ours: np.ndarray, reference: np.ndarray) -> float:
    """Per clip, max |ours − reference| / max |reference|; the worst clip's value."""
    difference = np.abs(ours.astype(np.float64) - reference).reshape(len(reference), -1).max(axis=1)
    scale = np.abs(reference).reshape(len(reference), -1).max(axis=1)
    return float((difference / np.maximum(scale, 1e-30)).max())


def worst_cell_error(ours: np.ndarray, reference: np.ndarray, within_db: float = 80.0) -> float:
    """Elementwise |ours − reference| / reference over the cells within ``within_db`` dB of their clip's
    peak (what a log-mel with top_db 80 keeps); the largest value."""
    peak = reference.reshape(len(reference), -1).max(axis=1)[:, None, None]
    kept = reference >= peak * 10 ** (-within_db / 10)
    difference = np.abs(ours.astype(np.float64) - reference)
    return float((difference[kept] / reference[kept]).max())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1000, help="clips to synthesise (default 1000)")
    parser.add_argument("--seconds", type=float, default=1.0, help="clip length in seconds (default 1)")
    parser.add_argument("--sample-rate", type=int, default=16000, help="sample rate in Hz (default 16000)")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved repetitions (default 5)")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch intra-op threads for the run (default: torch's own)"
    )
    args = parser.parse_args(argv)
    if args.clips < 1 or args.repeat < 1 or args.sample_rate < 1000:
        parser.error("--clips and --repeat must be at least 1, --sample-rate at least 1000")
    if round(args.seconds * args.sample_rate) < MEL["n_fft"]:
        parser.error(f"clips must hold at least n_fft = {MEL['n_fft']} samples")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    rate = args.sample_rate
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"synthesising {args.clips:,} clips of {args.seconds:g} s at {rate} Hz…", flush=True)
    clips = generate_clips(args.clips, rate, args.seconds)
    clip_objects = [Clip(samples, rate) for samples in clips]
    brush = MelSpectrogram(**MEL)
    pipeline = compose(
        validate_recipe(
            {
                "name": "bench mel",
                "modality": "audio",
                "brushes": [{"brush": "mel_spectrogram", "params": MEL}],
            }
        ),
        "train",
    )

    start = time.perf_counter()
    reference_first = librosa.feature.melspectrogram(y=clips[0], sr=rate, **MEL)
    librosa_first_s = time.perf_counter() - start

    def librosa_loop() -> float:
        start = time.perf_counter()
        for samples in clips:
            librosa.feature.melspectrogram(y=samples, sr=rate, **MEL)
        return len(clips) / (time.perf_counter() - start)

    def batched(chunk_size: int | None = None, threads: int | None = None) -> Callable[[], float]:
        def measure() -> float:
            with torch_threads(threads or torch.get_num_threads()):
                start = time.perf_counter()
                mel_spectrogram_batch(clips, rate, **MEL, chunk_size=chunk_size)
                return len(clips) / (time.perf_counter() - start)

        return measure

    def brush_per_clip() -> float:
        start = time.perf_counter()
        for clip in clip_objects:
            brush(clip)
        return len(clips) / (time.perf_counter() - start)

    def pipeline_per_clip() -> float:
        start = time.perf_counter()
        for index, clip in enumerate(clip_objects):
            pipeline.apply(clip, item_seed(0, index))
        return len(clips) / (time.perf_counter() - start)

    threads = torch.get_num_threads()
    other = 1 if threads > 1 else 2
    everything = max(len(clips), 1)
    auto = mel_chunk_size(clips.shape[1], MEL["n_fft"], MEL["hop_length"], MEL["n_mels"])
    batched_name = f"mel_spectrogram_batch (chunks of {auto}, {threads} thr)"
    measures: dict[str, Callable[[], float]] = {
        "librosa.feature.melspectrogram, loop": librosa_loop,
        batched_name: batched(),
        "mel_spectrogram brush, per clip": brush_per_clip,
        "compose(recipe).apply, per clip": pipeline_per_clip,
        "what-if: batch, chunks of 8 (the old default)": batched(8),
        "what-if: batch, chunks of 64": batched(64),
        f"what-if: batch, one chunk of {everything:,}": batched(everything),
        f"what-if: batch, default chunks, {other} torch thr": batched(threads=other),
    }
    print(f"measuring ({args.repeat} interleaved repetitions)…", flush=True)
    results = run_interleaved(measures, args.repeat)

    # Accuracy: every clip, ours against librosa.
    reference = np.stack([librosa.feature.melspectrogram(y=samples, sr=rate, **MEL) for samples in clips])
    ours = mel_spectrogram_batch(clips, rate, **MEL)
    from_brush = np.stack([brush(clip).values for clip in clip_objects[: min(len(clips), 100)]])
    error_batched = worst_relative_error(ours, reference)
    error_brush = worst_relative_error(from_brush, reference[: len(from_brush)])
    assert np.allclose(reference[0], reference_first)

    librosa_rate = statistics.median(results["librosa.feature.melspectrogram, loop"])
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load_after = os.getloadavg() if hasattr(os, "getloadavg") else None
    print()
    print(
        f"Mel spectrograms — {len(clips):,} clips × {args.seconds:g} s at {rate} Hz, n_fft {MEL['n_fft']}, "
        f"hop {MEL['hop_length']}, {MEL['n_mels']} mels, float32; median of {args.repeat} interleaved runs"
    )
    print(f"{'measure':<48}{'clips/s':>10}{'min':>10}{'max':>10}{'× librosa':>11}")
    for name, values in results.items():
        median = statistics.median(values)
        print(
            f"{name:<48}{median:>10,.0f}{min(values):>10,.0f}{max(values):>10,.0f}"
            f"{median / librosa_rate:>11.2f}"
        )
    print(
        f"  librosa's first call (numba compile or cache load), not counted: {librosa_first_s:.2f} s; "
        f"its output shape {reference_first.shape}"
    )
    print(
        f"  worst error vs librosa, per clip max|Δ| / max|librosa|: batched {error_batched:.1e} "
        f"({len(clips):,} clips), brush {error_brush:.1e} ({len(from_brush)} clips)"
    )
    print(
        f"  worst elementwise |Δ| / librosa over cells within 80 dB of the clip's peak: "
        f"batched {worst_cell_error(ours, reference):.1e}"
    )
    batched_ratio = statistics.median(results[batched_name]) / librosa_rate
    brush_ratio = statistics.median(results["mel_spectrogram brush, per clip"]) / librosa_rate
    rounds = [
        ours_rate / theirs
        for ours_rate, theirs in zip(
            results[batched_name], results["librosa.feature.melspectrogram, loop"], strict=True
        )
    ]
    verdict = "meets" if min(rounds) >= TARGET_RATIO else "misses"
    print(
        f"ratio batched / librosa: {batched_ratio:.1f}× (median); per round "
        f"{', '.join(f'{r:.1f}×' for r in rounds)} (target ≥ {TARGET_RATIO:g}× in every round: "
        f"{verdict} it); brush per clip / librosa: {brush_ratio:.1f}×"
    )
    print()
    load = " / ".join(" ".join(f"{v:.1f}" for v in x) for x in (load_before, load_after) if x is not None)
    print(
        f"machine   {platform.system()} {platform.machine()}, {cores} cores usable "
        f"({os.cpu_count()} logical); load average before / after: {load}"
    )
    print(
        f"software  Python {platform.python_version()}, torch {torch.__version__} ({threads} threads), "
        f"librosa {librosa.__version__}, numpy {np.__version__}"
    )
    print(f"whole run {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
