"""Drift metrics against scipy loops and Evidently: ``python bench/drift_bench.py [--rows N] [--repeat R]``.

Numeric check: seeded reference and current tables of ``--rows`` × 20 float64 columns (normal, uniform,
exponential and integer-valued columns; the current one shifted by a different amount per column, some
not at all). Measured, interleaved and repeated:

* ours, the check path a drift check job runs: the model's stored reference (``StoredReference``, built
  once and saved as ``.npz`` beforehand, as watching a model does) loaded from disk with
  ``load_reference``, then ``StoredReference.compare`` of the current data frame (PSI + KS + Wasserstein
  on every column: sorts the current side, one merge per column, columns in threads);
* what-if rows: the same on one thread; the compare alone (reference already in memory); and
  ``numeric_drift``, which sorts both sides (what a check paid before references were stored);
* the baseline: a per-column loop of ``scipy.stats.ks_2samp`` + ``scipy.stats.wasserstein_distance`` +
  a numpy PSI (``np.quantile`` edges, ``np.searchsorted`` + ``np.bincount``);
* Evidently's ``DataDriftPreset`` on the same data, once, in its own virtual environment (it does not
  support pandas 3, which the studio uses): ``--evidently-python`` (default /tmp/evidently-venv). Its
  preset computes one test per column (normed Wasserstein above 1,000 rows), so it does less than ours.

MMD: ``mmd`` on 10,000 × 128 embeddings per side with 200 permutations (random Fourier features), against
a naive permutation test (full kernel matrix, each permutation re-indexing it) on 1,000 per side, where
the naive one is still feasible, beside ``mmd`` exact and with features on that same smaller set.

Prints rows/s (or seconds), the ratio to the baseline, the agreement with scipy, and targets met/missed.
"""

from __future__ import annotations

import argparse
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

import numpy as np
import pandas as pd
import scipy
from scipy import stats
from scipy.spatial.distance import cdist
from timing import run_interleaved

from canvascraft.drift import mmd, numeric_drift
from canvascraft.drift.metrics import resolve_thresholds
from canvascraft.drift.reference import StoredReference, load_reference, save_reference

SEED = 20261101
COLUMNS = 20
NUMERIC_TARGET_S = 1.0
EVIDENTLY_TARGET_RATIO = 50.0
MMD_TARGET_S = 3.0
EVIDENTLY_TIMEOUT_S = 1200

EVIDENTLY_SCRIPT = r"""
import json, sys, time
import numpy as np, pandas as pd
import evidently
from evidently import Report
from evidently.presets import DataDriftPreset
reference, current = np.load(sys.argv[1]), np.load(sys.argv[2])
names = [f"c{i}" for i in range(reference.shape[1])]
ref, cur = pd.DataFrame(reference, columns=names), pd.DataFrame(current, columns=names)
start = time.perf_counter()
snapshot = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
seconds = time.perf_counter() - start
values = {}
for metric in snapshot.dict()["metrics"]:
    config = metric["config"]
    if config.get("type", "").endswith("ValueDrift"):
        values[config["column"]] = [config["method"], float(metric["value"])]
print(json.dumps({"seconds": seconds, "version": evidently.__version__, "pandas": pd.__version__,
                  "values": values}))
"""


def generate(rows: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current tables; column j of the current one is shifted by 0.004·j reference stds."""
    rng = np.random.default_rng(seed)
    kinds = [
        lambda size: rng.normal(size=size),
        lambda size: rng.uniform(-1.7, 1.7, size=size),
        lambda size: rng.exponential(size=size),
        lambda size: rng.integers(0, 50, size=size).astype(np.float64),
    ]
    reference = np.empty((rows, COLUMNS))
    current = np.empty((rows, COLUMNS))
    for j in range(COLUMNS):
        kind = kinds[j % len(kinds)]
        reference[:, j] = kind(rows)
        current[:, j] = kind(rows) + 0.004 * j * reference[:, j].std()
    return reference, current


def numpy_psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """The textbook PSI: quantile edges from the reference, shares floored at 1e-4."""
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    expected = np.bincount(np.searchsorted(edges, reference), minlength=edges.size + 1) / reference.size
    actual = np.bincount(np.searchsorted(edges, current), minlength=edges.size + 1) / current.size
    expected, actual = np.maximum(expected, 1e-4), np.maximum(actual, 1e-4)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def scipy_loop(reference: np.ndarray, current: np.ndarray) -> list[tuple[float, float, float, float]]:
    results = []
    for j in range(reference.shape[1]):
        test = stats.ks_2samp(reference[:, j], current[:, j])
        distance = stats.wasserstein_distance(reference[:, j], current[:, j])
        results.append(
            (float(test.statistic), float(test.pvalue), distance, numpy_psi(reference[:, j], current[:, j]))
        )
    return results


def naive_mmd_test(x: np.ndarray, y: np.ndarray, bandwidth: float, permutations: int, seed: int) -> float:
    """The textbook permutation test: one full kernel matrix, each permutation re-indexing it."""
    pooled = np.concatenate((x, y))
    kernel = np.exp(-cdist(pooled, pooled, "sqeuclidean") / (2 * bandwidth**2))
    n, m = len(x), len(y)

    def statistic(order: np.ndarray) -> float:
        first, second = order[:n], order[n:]
        kxx, kyy = kernel[np.ix_(first, first)], kernel[np.ix_(second, second)]
        return float(
            (kxx.sum() - n) / (n * (n - 1))
            + (kyy.sum() - m) / (m * (m - 1))
            - 2 * kernel[np.ix_(first, second)].mean()
        )

    rng = np.random.default_rng(seed)
    observed = statistic(np.arange(n + m))
    above = sum(statistic(rng.permutation(n + m)) >= observed for _ in range(permutations))
    return (1 + above) / (1 + permutations)


def run_evidently(python: str, reference: np.ndarray, current: np.ndarray) -> dict[str, object] | str:
    """Evidently's preset in its own interpreter on the same arrays; a reason string when it cannot run."""
    if not Path(python).exists():
        return f"no interpreter at {python} (create a venv with evidently and pandas<3 there)"
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(folder) / "reference.npy", Path(folder) / "current.npy"]
        np.save(paths[0], reference)
        np.save(paths[1], current)
        script = Path(folder) / "evidently_run.py"
        script.write_text(EVIDENTLY_SCRIPT)
        start = time.perf_counter()
        try:
            done = subprocess.run(
                [python, str(script), *map(str, paths)],
                capture_output=True,
                text=True,
                timeout=EVIDENTLY_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"Evidently did not finish within {EVIDENTLY_TIMEOUT_S} s"
        wall = time.perf_counter() - start
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
        return f"Evidently failed: {last}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = wall
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per table (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=2, help="interleaved repetitions (default 2)")
    parser.add_argument("--embeddings", type=int, default=10_000, help="MMD rows per side (default 10,000)")
    parser.add_argument("--naive-embeddings", type=int, default=1000, help="rows per side for naive MMD")
    parser.add_argument("--evidently-python", default="/tmp/evidently-venv/bin/python")
    parser.add_argument("--no-evidently", action="store_true", help="skip the Evidently row")
    args = parser.parse_args(argv)
    if args.rows < 100 or args.repeat < 1 or args.embeddings < 10 or args.naive_embeddings < 10:
        parser.error("--rows must be at least 100, --repeat 1, the embedding sizes 10")
    return args


def median_s(values: list[float]) -> float:
    return statistics.median(values)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"generating {args.rows:,} × {COLUMNS} reference and current tables…", flush=True)
    reference, current = generate(args.rows)
    names = [f"c{j}" for j in range(COLUMNS)]
    current_frame = pd.DataFrame(current, columns=names)
    limits = resolve_thresholds()
    store = tempfile.TemporaryDirectory()
    stored_path = Path(store.name) / "reference.npz"
    save_reference(stored_path, StoredReference.from_frame(pd.DataFrame(reference, columns=names), "bench"))
    prepared = load_reference(stored_path, "bench")
    assert prepared is not None
    stored_mb = stored_path.stat().st_size / 2**20

    def check_path(workers: int | None = None) -> dict[str, Any]:
        loaded = load_reference(stored_path, "bench")
        assert loaded is not None
        return loaded.compare(current_frame, names, limits, workers)

    last: dict[str, Any] = {}  # each measure's latest result, checked afterwards instead of recomputed

    def timed(function: Callable[[], object], keep: str | None = None) -> Callable[[], float]:
        def measure() -> float:
            start = time.perf_counter()
            result = function()
            seconds = time.perf_counter() - start
            if keep is not None:
                last[keep] = result
            return seconds

        return measure

    check_name = "check: stored reference loaded + compare"
    numeric = {
        check_name: timed(lambda: check_path(), "ours"),
        "what-if: the same, 1 thread": timed(lambda: check_path(workers=1)),
        "what-if: compare only (reference in memory)": timed(
            lambda: prepared.compare(current_frame, names, limits)
        ),
        "what-if: numeric_drift (sorts both sides)": timed(
            lambda: numeric_drift(reference, current, columns=names), "unstored"
        ),
        "scipy.stats loop (ks_2samp+wasserstein+numpy PSI)": timed(
            lambda: scipy_loop(reference, current), "scipy"
        ),
    }
    print(f"measuring the numeric check ({args.repeat} interleaved repetitions)…", flush=True)
    warm = [numeric[check_name]]
    numeric_times = run_interleaved(numeric, args.repeat, warm_ups=warm)

    ours, theirs = last["ours"], last["scipy"]
    assert ours == last["unstored"], "the stored reference gives exactly what numeric_drift gives"
    ks_error = max(abs(ours[c]["ks"].value - t[0]) for c, t in zip(names, theirs, strict=True))
    p_error = max(
        abs(ours[c]["ks"].p_value - t[1]) / max(t[1], 1e-300)  # type: ignore[operator]
        for c, t in zip(names, theirs, strict=True)
        if t[1] > 1e-6
    )
    w_error = max(
        abs(ours[c]["wasserstein"].detail["distance"] - t[2]) / t[2]
        for c, t in zip(names, theirs, strict=True)
    )
    psi_error = max(abs(ours[c]["psi"].value - t[3]) for c, t in zip(names, theirs, strict=True))
    drifted = {m: sum(ours[c][m].drifted for c in names) for m in ("psi", "ks", "wasserstein")}

    evidently: dict[str, object] | str = "skipped (--no-evidently)"
    if not args.no_evidently:
        print("running Evidently's DataDriftPreset once in its own venv…", flush=True)
        evidently = run_evidently(args.evidently_python, reference, current)

    print(f"measuring MMD ({args.embeddings:,} × 128 per side, 200 permutations)…", flush=True)
    rng = np.random.default_rng(SEED)
    x = rng.normal(size=(args.embeddings, 128))
    y = rng.normal(size=(args.embeddings, 128))
    y[:, :8] += 0.05
    small = args.naive_embeddings
    xs, ys = x[:small], y[:small]
    bandwidth = mmd(xs, ys, permutations=1).detail["bandwidth"]
    mmd_measures = {
        f"mmd {args.embeddings:,}/side, features": timed(
            lambda: mmd(x, y, permutations=200, method="features"), "large"
        ),
        f"mmd {small:,}/side, exact": timed(lambda: mmd(xs, ys, permutations=200, method="exact"), "exact"),
        f"mmd {small:,}/side, features": timed(
            lambda: mmd(xs, ys, permutations=200, method="features"), "features"
        ),
        f"naive full-kernel loop, {small:,}/side": timed(
            lambda: naive_mmd_test(xs, ys, bandwidth, permutations=200, seed=0), "naive"
        ),
    }
    mmd_times = run_interleaved(mmd_measures, args.repeat, warm_ups=[])
    large, exact_small, features_small, naive_p = (
        last["large"],
        last["exact"],
        last["features"],
        last["naive"],
    )

    load_after = os.getloadavg() if hasattr(os, "getloadavg") else None
    cells = args.rows * COLUMNS
    scipy_s = median_s(numeric_times["scipy.stats loop (ks_2samp+wasserstein+numpy PSI)"])
    print()
    print(
        f"Numeric drift — reference and current {args.rows:,} rows × {COLUMNS} float64 columns each, "
        f"PSI (10 quantile bins) + KS + Wasserstein; median of {args.repeat} interleaved runs"
    )
    print(f"{'measure':<52}{'s':>8}{'min':>8}{'max':>8}{'M values/s':>12}{'× scipy':>9}")
    for name, values in numeric_times.items():
        seconds = median_s(values)
        rate = 2 * cells / seconds / 1e6
        print(
            f"{name:<52}{seconds:>8.2f}{min(values):>8.2f}{max(values):>8.2f}"
            f"{rate:>12.1f}{scipy_s / seconds:>9.1f}"
        )
    if isinstance(evidently, dict):
        seconds = float(evidently["seconds"])  # type: ignore[arg-type]
        name = f"Evidently {evidently['version']} DataDriftPreset (once)"
        print(
            f"{name:<52}{seconds:>8.2f}{'':>8}{'':>8}"
            f"{2 * cells / seconds / 1e6:>12.1f}{scipy_s / seconds:>9.1f}"
        )
        values = evidently["values"]
        assert isinstance(values, dict)
        methods = sorted({method for method, _ in values.values()})
        gap = max(abs(values[name][1] - ours[name]["wasserstein"].value) for name in names)
        print(
            f"  Evidently: pandas {evidently['pandas']}, its process {evidently['process_s']:.1f} s in all "
            f"(import, load, run); per-column method(s): {', '.join(methods)}; "
            f"max |its value − our normalised Wasserstein| = {gap:.1e}"
        )
    else:
        print(f"  Evidently row skipped: {evidently}")
    ours_s = median_s(numeric_times[check_name])
    unstored_s = median_s(numeric_times["what-if: numeric_drift (sorts both sides)"])
    print(
        f"  agreement with scipy, worst column: |ΔKS| {ks_error:.1e}, KS p-value relative {p_error:.1e} "
        f"(p > 1e-6; Kolmogorov limit vs scipy's kstwo), Wasserstein relative {w_error:.1e}, "
        f"|ΔPSI| {psi_error:.1e}"
    )
    print(f"  columns flagged at the default thresholds: {drifted}")
    print(f"  stored reference file: {stored_mb:.0f} MB (.npz, {args.rows:,} sorted values per column)")
    verdict = "met" if ours_s <= NUMERIC_TARGET_S else "missed"
    print(
        f"target: the check path at most {NUMERIC_TARGET_S:g} s: {ours_s:.2f} s, {verdict}; "
        f"{scipy_s / ours_s:.1f}× the scipy loop; without a stored reference {unstored_s:.2f} s"
    )
    if isinstance(evidently, dict):
        ratio = float(evidently["seconds"]) / ours_s  # type: ignore[arg-type]
        verdict = "met" if ratio >= EVIDENTLY_TARGET_RATIO else "missed"
        print(f"target: at least {EVIDENTLY_TARGET_RATIO:g}× Evidently: {ratio:.0f}×, {verdict}")

    print()
    print(
        f"MMD — 128-dim embeddings, 200 permutations, RBF kernel (median heuristic); median of {args.repeat}"
    )
    naive_s = median_s(mmd_times[f"naive full-kernel loop, {small:,}/side"])
    print(f"{'measure':<52}{'s':>8}{'min':>8}{'max':>8}{'× naive':>9}")
    for name, values in mmd_times.items():
        seconds = median_s(values)
        print(f"{name:<52}{seconds:>8.2f}{min(values):>8.2f}{max(values):>8.2f}{naive_s / seconds:>9.1f}")
    print(
        f"  {small:,}/side: MMD² exact {exact_small.value:.3e} (p {exact_small.p_value:.3f}), features "
        f"{features_small.value:.3e} (p {features_small.p_value:.3f}, |Δ| "
        f"{abs(features_small.value - exact_small.value):.1e}), naive test's p {naive_p:.3f}"
    )
    print(
        f"  {args.embeddings:,}/side: MMD² {large.value:.3e}, p {large.p_value:.3f}, "
        f"{large.detail['features']} frequencies, bandwidth {large.detail['bandwidth']:.2f}"
    )
    mmd_s = median_s(mmd_times[f"mmd {args.embeddings:,}/side, features"])
    verdict = "met" if mmd_s < MMD_TARGET_S else "missed"
    print(
        f"target: {args.embeddings:,} × 128, 200 permutations under {MMD_TARGET_S:g} s: "
        f"{mmd_s:.2f} s, {verdict}"
    )

    print()
    load = " / ".join(" ".join(f"{v:.1f}" for v in x) for x in (load_before, load_after) if x is not None)
    print(
        f"machine   {platform.system()} {platform.machine()}, {cores} cores usable "
        f"({os.cpu_count()} logical); load average before / after: {load}"
    )
    print(f"software  Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}")
    print(f"whole run {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
