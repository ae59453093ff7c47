"""Import throughput against a plain file copy: ``python bench/import_bench.py [--files N] [--repeat R]``.

Generates small labelled PNG images in a temporary folder, then measures, interleaved and repeated:

* the baseline: ``shutil.copyfile`` of every file into a fresh folder (the floor any import pays);
* our import: ``canvascraft.services.datasets.import_path`` into a fresh workspace, which fully decodes,
  hashes, stores content-addressed and writes the manifest. The workspace's database migration runs
  before the clock starts and is not counted.

Prints the median files/s of each and the ratio ours / baseline; the target is a ratio of at least 0.5.
``CANVASCRAFT_IMPORT_WORKERS`` (and the other ``CANVASCRAFT_*`` settings) apply as usual.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import PIL
from PIL import Image

from canvascraft.config import get_settings
from canvascraft.services.datasets import import_path
from canvascraft.store.migrate import upgrade
from canvascraft.store.session import engine_for

TARGET_RATIO = 0.5
LABELS = ("cats", "dogs", "birds", "fish")
SEED = 20261101


def generate_images(root: Path, count: int, size: int, seed: int = SEED) -> int:
    """``count`` distinct ``size``×``size`` RGB PNGs spread over the label folders; returns total bytes."""
    rng = np.random.default_rng(seed)
    for label in LABELS:
        (root / label).mkdir(parents=True)
    coarse = max(size // 8, 2)
    total = 0
    for index in range(count):
        # Smooth colour fields plus a little noise: compresses like a drawing or photo, not like static.
        base = rng.integers(0, 256, size=(coarse, coarse, 3), dtype=np.uint8)
        image = Image.fromarray(base).resize((size, size), Image.Resampling.BILINEAR)
        noise = rng.integers(-12, 13, size=(size, size, 3))
        pixels = np.clip(np.asarray(image, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
        path = root / LABELS[index % len(LABELS)] / f"img_{index:05d}.png"
        Image.fromarray(pixels).save(path, format="PNG")
        total += path.stat().st_size
    return total


def copy_tree(source: Path, destination: Path) -> int:
    """The baseline: list the folder and copy each file with ``shutil.copyfile``; returns files copied."""
    copied = 0
    for path in sorted(source.rglob("*")):
        if not path.is_file():
            continue
        target = destination / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        copied += 1
    return copied


def use_fresh_workspace(workspace: Path) -> None:
    """Point the settings at an empty workspace and create its database (not timed)."""
    os.environ["CANVASCRAFT_WORKSPACE"] = str(workspace)
    os.environ.pop("CANVASCRAFT_DATABASE_URL", None)
    get_settings.cache_clear()
    upgrade()


def run_baseline(source: Path, scratch: Path, expected: int) -> float:
    destination = Path(tempfile.mkdtemp(prefix="copy-", dir=scratch))
    start = time.perf_counter()
    copied = copy_tree(source, destination)
    elapsed = time.perf_counter() - start
    if copied != expected:
        raise SystemExit(f"baseline copied {copied} files, expected {expected}")
    shutil.rmtree(destination)
    return copied / elapsed


def run_import(source: Path, scratch: Path, expected: int) -> float:
    # A new folder each time: engines are cached per database URL, so a URL is never reused.
    workspace = Path(tempfile.mkdtemp(prefix="workspace-", dir=scratch))
    use_fresh_workspace(workspace)
    start = time.perf_counter()
    report = import_path(source, "bench")
    elapsed = time.perf_counter() - start
    if report.added != expected or report.skipped:
        raise SystemExit(
            f"import added {report.added} of {expected} files and skipped {len(report.skipped)}: "
            f"{report.skipped[:3]}"
        )
    engine_for(get_settings().db_url).dispose()
    shutil.rmtree(workspace)
    return report.added / elapsed


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000, help="images to generate (default 2000)")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions of each measure (default 5)")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels (default 64)")
    args = parser.parse_args(argv)
    if args.files < 1 or args.repeat < 1 or args.size < 1:
        parser.error("--files, --repeat and --size must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    saved_env = {key: os.environ.get(key) for key in ("CANVASCRAFT_WORKSPACE", "CANVASCRAFT_DATABASE_URL")}
    with tempfile.TemporaryDirectory(prefix="canvascraft-bench-") as temporary:
        scratch = Path(temporary)
        source = scratch / "source"
        print(f"generating {args.files:,} {args.size}×{args.size} PNG images…", flush=True)
        total_bytes = generate_images(source, args.files, args.size)

        measures: dict[str, Callable[[Path, Path, int], float]] = {
            "copy (shutil.copyfile)": run_baseline,
            "import_path": run_import,
        }
        rates: dict[str, list[float]] = {name: [] for name in measures}
        # Warm-up (not reported): first-use costs such as lazy imports and the page cache.
        run_baseline(source, scratch, args.files)
        run_import(source, scratch, args.files)
        for repetition in range(args.repeat):
            # Alternate which goes first, so drift on a noisy machine does not favour either.
            order = list(measures) if repetition % 2 == 0 else list(reversed(measures))
            for name in order:
                rates[name].append(measures[name](source, scratch, args.files))
        workers = get_settings().import_workers

    for key, value in saved_env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()

    baseline = statistics.median(rates["copy (shutil.copyfile)"])
    ours = statistics.median(rates["import_path"])
    ratio = ours / baseline
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print()
    system = f"{platform.system()} {platform.machine()}"
    print(f"machine   {system}, {cores} cores usable ({os.cpu_count()} logical)")
    print(f"software  Python {platform.python_version()}, Pillow {PIL.__version__}")
    print(f"storage   {tempfile.gettempdir()} (both measures write here; set TMPDIR to try another disk)")
    print(
        f"settings  import_workers={workers}; {args.files:,} files, {args.size}×{args.size} PNG, "
        f"{total_bytes / 1e6:.1f} MB; median of {args.repeat} interleaved runs (after 1 warm-up)"
    )
    print()
    print(f"{'measure':<24}{'files/s (median)':>18}{'min':>10}{'max':>10}")
    for name, values in rates.items():
        print(f"{name:<24}{statistics.median(values):>18,.0f}{min(values):>10,.0f}{max(values):>10,.0f}")
    print()
    verdict = "meets" if ratio >= TARGET_RATIO else "misses"
    print(f"ratio import / copy: {ratio:.2f}  (target ≥ {TARGET_RATIO}: {verdict} it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
