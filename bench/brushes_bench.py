"""Image brushes against plain torchvision v2 and Albumentations: ``python bench/brushes_bench.py``.

Three figures, each printed beside its baseline, from one run (interleaved repetitions, medians):

1. Preview latency, as the Brushes page pays it: 4 images of 512×512, 4 variants each, with a 6-brush
   recipe (random_resized_crop 512 scale [0.6, 1], horizontal_flip, rotation ±15°, color_jitter,
   gaussian_blur k5, gaussian_noise). The page previews at display resolution (originals shrunk to
   ``PREVIEW_SIDE`` once per file and cached; pixel-measured settings scale with them), so the core
   call on a slider move is ``preview_images`` on cached originals. Target: at most 25 ms. Printed
   beside it: a first view (decode and shrink included) and the same previews at full resolution.
2. Throughput. The same recipe (crop 64) over 2,000 in-memory 64×64 uint8 tensors with
   ``compose(recipe, "train").apply(img, item_seed(seed, i))``, against a plain ``v2.Compose`` of the
   same transforms with the same parameters, seeded per image the same way (``item_seed`` inside
   ``seeded``) and also unseeded; the ratio ours / seeded baseline has a target of at least 0.95. Then
   again at 512×512 (200 images by default). Ours runs the OpenCV kernels (the default); on the
   torchvision reference kernels its outputs must equal the seeded baseline's, and the OpenCV outputs
   are compared with those (share of pixels within 3 grey levels).
3. Albumentations 2 as a second baseline on the same images, in a subprocess (it is not a dependency
   of the project). Set it up once, outside the repository::

       python3 -m venv /tmp/albu-venv
       /tmp/albu-venv/bin/pip install albumentations opencv-python-headless numpy   # no torch
       export CANVASCRAFT_ALBUMENTATIONS_PYTHON=/tmp/albu-venv/bin/python

   Without that variable the Albumentations rows are skipped with a note. The images go to the worker
   through a temporary ``.npy`` file (HWC uint8); the worker stays up and times the block of images
   it is asked for, so it interleaves with ours and its start-up is not counted. Target: ours at least
   1.0× Albumentations at both sizes.

Throughput repetitions are interleaved block by block (100 small or 5 large images): each block runs
every measure in turn, so a burst of load from other processes hits them alike.

Options: ``--repeat`` (default 3) and ``--preview-repeat`` (default 5); ``--images``/``--size`` and
``--large-images``/``--large-size`` for the throughput sections; ``--preview-items``/``--variants``;
``--skip-preview``/``--skip-large``; ``--threads`` sets torch's intra-op threads and OpenCV's threads,
ours and the Albumentations worker's alike (default: each library's own, one per core). On a 2-core
machine where another process keeps a core busy, 2 torch threads make small kernels wait at OpenMP
barriers and runs become erratic (10× swings); ``--threads 1`` is then the stable comparison.
Defaults take about 1.5–3 minutes on 2 idle cores.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torchvision
from PIL import Image
from timing import run_interleaved
from torchvision.transforms import v2

from canvascraft.brushes.functional.image import add_noise_uint8
from canvascraft.brushes.image import use_kernels
from canvascraft.recipe.compose import compose, item_seed, seeded
from canvascraft.recipe.preview import decode_image, downscale, preview_images
from canvascraft.recipe.spec import Recipe, validate_recipe
from canvascraft.services.brushes import PREVIEW_SIDE

PREVIEW_TARGET_MS = 25.0
TARGET_RATIO = 0.95
ALBU_TARGET = 1.0
SEED = 20261101
ALBU_ENV = "CANVASCRAFT_ALBUMENTATIONS_PYTHON"

# The recipe's settings, shared by the brushes, the v2 baseline and the Albumentations worker.
SCALE = (0.6, 1.0)
RATIO = (0.75, 1.333)
DEGREES = (-15.0, 15.0)
JITTER = {"brightness": 0.2, "contrast": 0.2, "saturation": 0.2, "hue": 0.02}
BLUR_KERNEL = 5
BLUR_SIGMA = (0.1, 2.0)
NOISE_SIGMA = (5.0, 20.0)


def make_recipe(crop_size: int) -> Recipe:
    return validate_recipe(
        {
            "name": "bench six brushes",
            "modality": "image",
            "seed": SEED % 2**32,
            "brushes": [
                {
                    "brush": "random_resized_crop",
                    "params": {"size": crop_size, "scale": list(SCALE), "ratio": list(RATIO)},
                },
                {"brush": "horizontal_flip", "params": {"p": 0.5}},
                {"brush": "rotation", "params": {"degrees": list(DEGREES)}},
                {"brush": "color_jitter", "params": JITTER},
                {"brush": "gaussian_blur", "params": {"kernel_size": BLUR_KERNEL, "sigma": list(BLUR_SIGMA)}},
                {"brush": "gaussian_noise", "params": {"sigma": list(NOISE_SIGMA)}},
            ],
        }
    )


def noise_like_brush(image: torch.Tensor) -> torch.Tensor:
    """The gaussian_noise brush's arithmetic as a v2.Lambda body: v2 has no uint8 noise with a drawn sigma."""
    low, high = NOISE_SIGMA
    sigma = torch.empty(1).uniform_(low, high).item()
    noise = torch.randn(image.shape[-3:]).mul_(sigma).round_().clamp_(-255, 255).to(torch.int16)
    return add_noise_uint8(image, noise)


def make_v2_compose(crop_size: int) -> v2.Compose:
    """The same transforms as a plain v2.Compose; rotation bilinear, as the brush sets it."""
    return v2.Compose(
        [
            v2.RandomResizedCrop(crop_size, scale=SCALE, ratio=RATIO, antialias=True),
            v2.RandomHorizontalFlip(p=0.5),
            v2.RandomRotation(DEGREES, interpolation=v2.InterpolationMode.BILINEAR),
            v2.ColorJitter(**JITTER),
            v2.GaussianBlur(BLUR_KERNEL, sigma=BLUR_SIGMA),
            v2.Lambda(noise_like_brush),
        ]
    )


def generate_images(count: int, size: int, seed: int = SEED) -> torch.Tensor:
    """``count`` distinct uint8 ``(3, size, size)`` images: smooth colour fields plus a little noise."""
    generator = torch.Generator().manual_seed(seed)
    coarse = max(size // 8, 2)
    out = torch.empty((count, 3, size, size), dtype=torch.uint8)
    for start in range(0, count, 100):
        n = min(100, count - start)
        base = torch.randint(0, 256, (n, 3, coarse, coarse), generator=generator).float()
        smooth = torch.nn.functional.interpolate(
            base, size=(size, size), mode="bilinear", align_corners=False
        )
        grain = torch.randint(-12, 13, (n, 3, size, size), generator=generator)
        out[start : start + n] = (smooth.round() + grain).clamp_(0, 255).to(torch.uint8)
    return out


def encode_png(image: torch.Tensor) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image.permute(1, 2, 0).numpy()).save(buffer, format="PNG")
    return buffer.getvalue()


def median_min_max(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


# --- 1. preview latency -------------------------------------------------------------------------------


def first_view(
    recipe: Recipe, items: list[tuple[str, bytes]], n_variants: int, side: int
) -> tuple[float, float, float]:
    """What a first look at these items costs: decode, shrink to ``side``, then the brushes.

    Returns the wall-clock seconds, those spent preparing, and the process's CPU seconds (on a shared
    machine the wall clock also counts the time other processes held the cores)."""
    start, cpu = time.perf_counter(), time.process_time()
    originals = [(name, *downscale(decode_image(data), side)) for name, data in items]
    prepared = time.perf_counter() - start
    preview_images(recipe, originals, n_variants, recipe.seed)
    return time.perf_counter() - start, prepared, time.process_time() - cpu


def rerun(
    recipe: Recipe, originals: list[tuple[str, torch.Tensor, float]], n_variants: int
) -> tuple[float, float, float]:
    """What moving a slider costs: the originals are cached (as the service caches them per file)."""
    start, cpu = time.perf_counter(), time.process_time()
    preview_images(recipe, originals, n_variants, recipe.seed)
    return time.perf_counter() - start, 0.0, time.process_time() - cpu


def preview_section(args: argparse.Namespace) -> bool:
    size = 512
    recipe = make_recipe(size)
    images = generate_images(args.preview_items, size, seed=SEED + 1)
    items = [(f"item_{i}.png", encode_png(image)) for i, image in enumerate(images)]
    n = args.variants
    cached = [(name, *downscale(decode_image(data), PREVIEW_SIDE)) for name, data in items]
    full = [(name, decode_image(data), 1.0) for name, data in items]
    core = f"page rerun: cached {PREVIEW_SIDE}-px originals (the core call)"
    measures: dict[str, Callable[[], tuple[float, float, float]]] = {
        core: lambda: rerun(recipe, cached, n),
        f"first view: decode + shrink to {PREVIEW_SIDE} px + brushes": lambda: first_view(
            recipe, items, n, PREVIEW_SIDE
        ),
        f"baseline: full resolution ({size} px), decoded originals": lambda: rerun(recipe, full, n),
    }
    print(
        f"[1/3] preview latency: {len(items)} PNG items {size}×{size} × {n} variants, 6 brushes…", flush=True
    )
    results = run_interleaved(measures, args.preview_repeat)

    print()
    print(
        f"Preview latency — {len(items)} items {size}×{size} × {n} variants, shown at {PREVIEW_SIDE} px; "
        f"median of {args.preview_repeat}; target ≤ {PREVIEW_TARGET_MS:.0f} ms"
    )
    print(f"{'measure':<58}{'total ms':>9}{'min':>7}{'max':>7}{'prepare':>9}{'cpu ms':>8}")
    for name, values in results.items():
        median, low, high = median_min_max([t * 1000 for t, _, _ in values])
        prepare = statistics.median(p * 1000 for _, p, _ in values)
        cpu = statistics.median(c * 1000 for _, _, c in values)
        print(f"{name:<58}{median:>9.0f}{low:>7.0f}{high:>7.0f}{prepare:>9.0f}{cpu:>8.0f}")
    core_ms = statistics.median(t * 1000 for t, _, _ in results[core])
    core_cpu = statistics.median(c * 1000 for _, _, c in results[core])
    full_ms = statistics.median(t * 1000 for t, _, _ in results[list(results)[-1]])
    met = core_ms <= PREVIEW_TARGET_MS
    print(
        f"preview on a slider move: {core_ms:.0f} ms, {core_cpu:.0f} ms of CPU (target ≤ "
        f"{PREVIEW_TARGET_MS:.0f} ms: {'meets' if met else 'misses'} it); "
        f"{full_ms / core_ms:.1f}× faster than previewing at full size"
    )
    return met


# --- 2 and 3. throughput ------------------------------------------------------------------------------

ALBU_WORKER = r"""
import json, sys, time
import cv2
import numpy as np
import albumentations as A

images = np.load(sys.argv[1])
if int(sys.argv[3]) > 0:
    cv2.setNumThreads(int(sys.argv[3]))
size = images.shape[1]
pipeline = A.Compose(
    [
        A.RandomResizedCrop(size=(size, size), scale=(0.6, 1.0), ratio=(0.75, 1.333),
                            interpolation=cv2.INTER_LINEAR, p=1.0),
        A.HorizontalFlip(p=0.5),
        A.Rotate(limit=(-15, 15), interpolation=cv2.INTER_LINEAR, border_mode=cv2.BORDER_CONSTANT,
                 fill=0, p=1.0),
        A.ColorJitter(brightness=(0.8, 1.2), contrast=(0.8, 1.2), saturation=(0.8, 1.2),
                      hue=(-0.02, 0.02), p=1.0),
        A.GaussianBlur(blur_limit=(5, 5), sigma_limit=(0.1, 2.0), p=1.0),
        A.GaussNoise(std_range=(5 / 255, 20 / 255), mean_range=(0.0, 0.0), per_channel=True, p=1.0),
    ],
    seed=int(sys.argv[2]),
)
for image in images[: min(len(images), 20)]:
    pipeline(image=image)
print(json.dumps({"ready": True, "albumentations": A.__version__, "opencv": cv2.__version__,
                  "opencv_threads": cv2.getNumThreads()}), flush=True)
for line in sys.stdin:
    first, stop = map(int, line.split())
    start = time.perf_counter()
    for image in images[first:stop]:
        out = pipeline(image=image)["image"]
    elapsed = time.perf_counter() - start
    assert out.shape == image.shape and out.dtype == np.uint8
    print(json.dumps({"seconds": elapsed}), flush=True)
"""


class AlbumentationsWorker:
    """The Albumentations pipeline in another interpreter; ``seconds(block)`` times it on those images."""

    def __init__(self, python: str, images: torch.Tensor, scratch: Path, threads: int) -> None:
        path = scratch / f"images_{images.shape[-1]}.npy"
        np.save(path, images.permute(0, 2, 3, 1).contiguous().numpy())
        self.process = subprocess.Popen(
            [python, "-c", ALBU_WORKER, str(path), str(SEED), str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.info = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the Albumentations worker exited with {self.process.wait()}")
        return json.loads(line)

    def seconds(self, block: range) -> float:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{block.start} {block.stop}\n")
        self.process.stdin.flush()
        return float(self._read()["seconds"])

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


def albumentations_python() -> str | None:
    python = os.environ.get(ALBU_ENV)
    if not python:
        return None
    if not Path(python).is_file():
        print(f"note: {ALBU_ENV}={python} is not a file; Albumentations rows skipped")
        return None
    return python


def throughput_section(
    label: str, images: torch.Tensor, block_size: int, args: argparse.Namespace, scratch: Path
) -> str:
    size = images.shape[-1]
    recipe = make_recipe(size)
    pipeline = compose(recipe, "train")
    baseline = make_v2_compose(size)
    seed = recipe.seed
    listed = list(images)
    count = len(listed)
    blocks = [range(start, min(start + block_size, count)) for start in range(0, count, block_size)]

    # Each measure returns the seconds it took on one block of images (their global indices).
    def ours(block: range) -> float:
        start = time.perf_counter()
        for index in block:
            pipeline.apply(listed[index], item_seed(seed, index))
        return time.perf_counter() - start

    def v2_seeded(block: range) -> float:
        start = time.perf_counter()
        for index in block:
            with seeded(item_seed(seed, index)):
                baseline(listed[index])
        return time.perf_counter() - start

    def v2_unseeded(block: range) -> float:
        start = time.perf_counter()
        for index in block:
            baseline(listed[index])
        return time.perf_counter() - start

    def seeding_only() -> float:
        start = time.perf_counter()
        for index in range(count):
            with seeded(item_seed(seed, index)):
                pass
        return count / (time.perf_counter() - start)

    names = {
        "ours": "compose(recipe).apply, item_seed per image",
        "seeded": "v2.Compose, seeded per image the same way",
        "unseeded": "v2.Compose, no per-image seeding",
        "albu": "Albumentations 2 (subprocess)",
    }
    measures: dict[str, Callable[[range], float]] = {
        names["ours"]: ours,
        names["seeded"]: v2_seeded,
        names["unseeded"]: v2_unseeded,
    }
    worker = None
    python = albumentations_python()
    if python is None:
        note = f"Albumentations skipped: set {ALBU_ENV} (how: see the top of bench/brushes_bench.py)"
    else:
        worker = AlbumentationsWorker(python, images, scratch, args.threads)
        measures[names["albu"]] = worker.seconds
        note = (
            f"Albumentations {worker.info['albumentations']}, OpenCV {worker.info['opencv']} "
            f"({worker.info['opencv_threads']} threads), own RNG seeded once (no per-image seeding)"
        )
    print(f"[{label}] throughput: {count:,} images {size}×{size} uint8, in memory…", flush=True)
    # Warm-up on the first block (first-call costs), then repetitions interleaved block by block: every
    # block runs each measure in turn, the order rotating, so a burst of load on a shared machine hits
    # all of them alike. A repetition's rate is its images over the sum of its block times.
    for measure in measures.values():
        measure(blocks[0])
    rates: dict[str, list[float]] = {name: [] for name in measures}
    order = list(measures)
    for repetition in range(args.repeat):
        spent = dict.fromkeys(measures, 0.0)
        for number, block in enumerate(blocks):
            shift = (repetition + number) % len(order)
            for name in order[shift:] + order[:shift]:
                spent[name] += measures[name](block)
        for name in measures:
            rates[name].append(count / spent[name])
    if worker is not None:
        worker.close()
    seeding_rate = statistics.median(seeding_only() for _ in range(3))

    checked = min(count, 32)
    with use_kernels("torchvision"):
        reference = [pipeline.apply(listed[i], item_seed(seed, i)) for i in range(checked)]
    same = sum(torch.equal(reference[i], seeded_call(baseline, listed[i], seed, i)) for i in range(checked))
    fast = torch.stack([pipeline.apply(listed[i], item_seed(seed, i)) for i in range(checked)])
    close = float(((fast.int() - torch.stack(reference).int()).abs() <= 3).float().mean())

    ours_rate = statistics.median(rates[names["ours"]])
    seeded_rate = statistics.median(rates[names["seeded"]])
    unseeded_rate = statistics.median(rates[names["unseeded"]])
    lines = [
        f"Throughput — {count:,} images {size}×{size} uint8 (pre-decoded), 6 brushes, crop {size}; "
        f"median of {args.repeat}, interleaved in blocks of {block_size}",
        f"{'measure':<46}{'images/s':>10}{'min':>9}{'max':>9}{'ours ÷ it':>11}",
    ]
    for name, values in rates.items():
        median, low, high = median_min_max(values)
        lines.append(f"{name:<46}{median:>10,.0f}{low:>9,.0f}{high:>9,.0f}{ours_rate / median:>11.2f}")
    lines.append(f"  {note}")
    lines.append(
        f"  seeding alone (item_seed + fork_rng + manual_seed): {1e6 / seeding_rate:.0f} µs/image; "
        f"ours on torchvision's kernels = seeded v2 on {same}/{checked} images checked; ours on "
        f"OpenCV's within 3 levels of that on {close:.1%} of pixels"
    )
    ratio = ours_rate / seeded_rate
    verdict = "meets" if ratio >= TARGET_RATIO else "misses"
    lines.append(
        f"ratio ours / v2 seeded the same way: {ratio:.2f} (target ≥ {TARGET_RATIO}: {verdict} it); "
        f"ours / v2 unseeded: {ours_rate / unseeded_rate:.2f}"
    )
    if worker is not None:
        albu = ours_rate / statistics.median(rates[names["albu"]])
        lines.append(
            f"ratio ours / Albumentations: {albu:.2f} (target ≥ {ALBU_TARGET}: "
            f"{'meets' if albu >= ALBU_TARGET else 'misses'} it)"
        )
    return "\n".join(lines)


def seeded_call(transform: v2.Compose, image: torch.Tensor, seed: int, index: int) -> torch.Tensor:
    with seeded(item_seed(seed, index)):
        return transform(image)


# --- main ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repetitions (default 3)")
    parser.add_argument(
        "--preview-repeat", type=int, default=5, help="repetitions of the (cheaper) preview measures (5)"
    )
    parser.add_argument("--images", type=int, default=2000, help="small images for throughput (2000)")
    parser.add_argument("--size", type=int, default=64, help="side of the small images (64)")
    parser.add_argument("--large-images", type=int, default=200, help="large images for throughput (200)")
    parser.add_argument("--large-size", type=int, default=512, help="side of the large images (512)")
    parser.add_argument("--block", type=int, default=100, help="small images per interleaved block (100)")
    parser.add_argument("--large-block", type=int, default=5, help="large images per interleaved block (5)")
    parser.add_argument("--preview-items", type=int, default=4, help="items in the preview (4)")
    parser.add_argument("--variants", type=int, default=4, help="variants per preview item (4)")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch and OpenCV threads for the run, ours and Albumentations' (default: the libraries' own)",
    )
    parser.add_argument("--skip-preview", action="store_true", help="skip the preview latency section")
    parser.add_argument("--skip-large", action="store_true", help="skip the large-image throughput section")
    args = parser.parse_args(argv)
    if (
        min(
            args.repeat,
            args.preview_repeat,
            args.images,
            args.size,
            args.large_images,
            args.preview_items,
            args.variants,
        )
        < 1
    ):
        parser.error("counts and sizes must be at least 1")
    if min(args.size, args.large_size) < 8:
        parser.error("image sides must be at least 8 (the crop brush's minimum)")
    return args


def describe_machine() -> list[str]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = "n/a"
    if hasattr(os, "getloadavg"):
        load = " ".join(f"{v:.1f}" for v in os.getloadavg())
    return [
        f"machine   {platform.system()} {platform.machine()}, {cores} cores usable "
        f"({os.cpu_count()} logical); load average {load}",
        f"software  Python {platform.python_version()}, torch {torch.__version__}, torchvision "
        f"{torchvision.__version__}, OpenCV {cv2.__version__}; {torch.get_num_threads()} torch threads, "
        f"{cv2.getNumThreads()} OpenCV threads",
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    started = time.perf_counter()
    before = describe_machine()
    reports = []
    if not args.skip_preview:
        preview_section(args)
    with tempfile.TemporaryDirectory(prefix="canvascraft-brushes-bench-") as temporary:
        scratch = Path(temporary)
        small = generate_images(args.images, args.size)
        reports.append(throughput_section("2/3", small, args.block, args, scratch))
        del small
        if not args.skip_large:
            large = generate_images(args.large_images, args.large_size, seed=SEED + 2)
            reports.append(throughput_section("3/3", large, args.large_block, args, scratch))
    for report in reports:
        print()
        print(report)
    print()
    print("\n".join(before))
    load_after = describe_machine()[0].split("; ")[-1]
    print(f"at the end: {load_after}; whole run {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
