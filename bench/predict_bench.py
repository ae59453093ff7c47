"""Prediction latency for one image with a loaded model: ``Predictor.predict_file`` vs the bare forward pass.

Trains the tiny image run the tests use (sample images, ``image-starter``, ``image-cnn``, one epoch) in a
temporary workspace (``CANVASCRAFT_*`` variables set aside, so the user's workspace is never touched),
registers it, loads it once, then times, interleaved:

* ``predict_file``: PNG bytes → decode → the recipe's eval pipeline → the ``pt2`` model → top classes;
* ``forward``: the loaded ``pt2`` module on an already prepared ``(1, 3, 64, 64)`` tensor (baseline).

Prints the median and 90th percentile of each over ``--repeat`` calls. Target: ``predict_file`` median
under 30 ms on the CPU. Run: ``python bench/predict_bench.py [--repeat 200] [--threads N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from brushes_bench import describe_machine
from timing import run_interleaved, torch_threads

TARGET_MS = 30.0


@contextmanager
def temporary_workspace() -> Iterator[Path]:
    saved = {key: value for key, value in os.environ.items() if key.startswith("CANVASCRAFT_")}
    with tempfile.TemporaryDirectory() as temporary:
        for key in saved:
            del os.environ[key]
        os.environ["CANVASCRAFT_WORKSPACE"] = str(Path(temporary) / "workspace")
        os.environ["CANVASCRAFT_POOL_TICK_S"] = "0"
        from canvascraft.config import get_settings

        get_settings.cache_clear()
        try:
            yield Path(temporary) / "workspace"
        finally:
            for key in [k for k in os.environ if k.startswith("CANVASCRAFT_")]:
                del os.environ[key]
            os.environ.update(saved)
            get_settings.cache_clear()


def timed(call: Callable[[], object]) -> Callable[[], float]:
    def measure() -> float:
        start = time.perf_counter()
        call()
        return (time.perf_counter() - start) * 1000

    return measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()

    with temporary_workspace():
        from canvascraft.gallery.predict import Predictor
        from canvascraft.gallery.registry import register
        from canvascraft.services.datasets import item_bytes
        from canvascraft.services.jobs import launch_training, validation_items, wait_for
        from canvascraft.services.workspace import prepare

        prepare()
        job = wait_for(
            launch_training("sample-images", "image-starter", "image-cnn", epochs=1, max_items=30,
                            hyper={"batch_size": 8, "width": 8}),
            timeout_s=600,
        )  # fmt: skip
        if job.state != "succeeded" or not job.mlflow_run_id:
            raise SystemExit(f"training failed: {job.error_tail}")
        register(job.mlflow_run_id, "bench", alias="champion")
        started = time.perf_counter()
        predictor = Predictor.from_ref("bench@champion")
        load_ms = (time.perf_counter() - started) * 1000
        members, _ = validation_items("sample-images", max_items=30)
        data = item_bytes(members[0].sha256 or "")
        batch = predictor.prepare_file(data, "bench.png")

        with torch_threads(args.threads), torch.no_grad():
            results = run_interleaved(
                {
                    "predict_file": timed(lambda: predictor.predict_file(data, "bench.png")),
                    "forward": timed(lambda: predictor.model(batch)),
                },
                repeat=args.repeat,
                warm_ups=[lambda: predictor.predict_file(data, "bench.png")] * 5,
            )

    for line in describe_machine():
        print(line)
    print(f"model     image-cnn width 8 as pt2, input {tuple(batch.shape)}; loaded in {load_ms:.0f} ms")
    print(f"threads   {args.threads}; {args.repeat} calls each, interleaved")
    for name, values in results.items():
        ordered = sorted(values)
        p90 = ordered[int(0.9 * (len(ordered) - 1))]
        print(f"{name:<13} median {statistics.median(values):7.2f} ms   p90 {p90:7.2f} ms")
    median = statistics.median(results["predict_file"])
    verdict = "meets" if median < TARGET_MS else "misses"
    print(f"predict_file {verdict} the {TARGET_MS:g} ms target ({median:.2f} ms median)")


if __name__ == "__main__":
    main()
