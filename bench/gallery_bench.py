"""The Gallery on a large MLflow store: ``python bench/gallery_bench.py``.

Two figures, each printed beside a baseline measured in the same run, in a temporary workspace
(``CANVASCRAFT_*`` variables are cleared, so the user's workspace and MLflow store are never touched):

1. First grid page with ``--runs`` (10,000) runs in the studio's experiment: ``search_runs`` (24 cards:
   filter, order and paging done by MLflow's store; thumbnails and each card's best value) plus
   ``run_facets`` (the filter pickers), newest first, and a harder page (a dataset filter, sorted by
   ``val_accuracy``), and a page of every run sorted by ``val_loss``. Baselines: ``MlflowClient.search_runs``
   returning every run (what a grid without store paging would load before showing its first page),
   and MLflow's own ``order_by`` on a metric for one page of 24 (which ``search_runs`` replaces with one
   query on MLflow's tables when sorting by a metric). Target: under 1.5 s.
2. A comparison of 10 runs with ``--steps`` (1,000) steps of each of the 7 metrics a training run logs
   (``compare_runs``: cards, every curve, the parameter table, the recipe diff from each run's
   ``recipe.yaml``). Baseline: the client's way to the same curves, ``get_run`` plus one
   ``get_metric_history`` per run and metric (70 calls). Target: under 1 s.

The store is filled by bulk inserts into MLflow's own tables (its SQLAlchemy models from
``mlflow.store.tracking.dbmodels``), for this fixture only: logging 10,000 runs through the client
takes several minutes on two cores, and the gallery only reads. Each run carries what a real training
run logs (the params, tags, 7 metrics per epoch at ``step=epoch``); every 10th has a ``card.png`` and
the 10 compared runs a ``recipe.yaml``. The runs are read back through ``MlflowClient`` before timing,
so a fixture MLflow could not read would fail here, not skew the figures.

Timings are warm (the studio's server process keeps its engines and mappers), the median of
``--rounds`` interleaved rounds (``timing.run_interleaved``); the very first call of the process, which
pays for SQLAlchemy's mapper set-up and the connection, is printed as "cold".
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlflow
import sqlalchemy
import yaml
from PIL import Image
from timing import run_interleaved

from canvascraft.config import get_settings

GRID_TARGET_S = 1.5
COMPARE_TARGET_S = 1.0
METRICS = ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "train_f1", "val_f1", "epoch_seconds")
DATASETS = ("sample-images", "sample-audio", "sample-table", "sketches", "drums", "palettes")
TRAINERS = {"sample-images": "image-cnn", "sketches": "image-cnn", "sample-audio": "audio-cnn",
            "drums": "audio-cnn", "sample-table": "table-mlp", "palettes": "table-mlp"}  # fmt: skip
MODALITY = {"image-cnn": "image", "audio-cnn": "audio", "table-mlp": "table"}
START_MS = 1_760_000_000_000
COMPARED = 10


def describe_machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"machine   {platform.system()} {platform.machine()}, {cores} cores usable\n"
        f"software  Python {platform.python_version()}, MLflow {mlflow.__version__}, "
        f"SQLAlchemy {sqlalchemy.__version__}, SQLite {sqlite3.sqlite_version}"
    )


def _use_temporary_workspace(folder: Path) -> None:
    for name in [n for n in os.environ if n.startswith("CANVASCRAFT_")]:
        del os.environ[name]
    os.environ["CANVASCRAFT_WORKSPACE"] = str(folder)
    get_settings.cache_clear()


def _metric_values(number: int, epochs: int) -> dict[str, list[float]]:
    """Plausible curves: losses falling, scores rising towards a per-run plateau."""
    plateau = 0.55 + (number * 7919 % 400) / 1000
    out: dict[str, list[float]] = {name: [] for name in METRICS}
    for epoch in range(1, epochs + 1):
        progress = 1 - 0.8**epoch
        out["train_accuracy"].append(min(1.0, plateau * progress + 0.05))
        out["val_accuracy"].append(plateau * progress)
        out["train_f1"].append(min(1.0, plateau * progress))
        out["val_f1"].append(plateau * progress - 0.02)
        out["train_loss"].append(1.6 * (1 - progress) + 0.1)
        out["val_loss"].append(1.7 * (1 - progress) + 0.2 + 0.01 * (number % 5))
        out["epoch_seconds"].append(2.0 + (number + epoch) % 7 / 10)
    return out


def _card_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (196, 196), (237, 233, 254)).save(buffer, "PNG")
    return buffer.getvalue()


def _recipe_yaml(number: int) -> str:
    data = {"name": "image-starter", "modality": "image", "seed": 0, "description": "",
            "brushes": [{"brush": "resize", "enabled": True, "params": {"size": 64}},
                        {"brush": "gaussian_blur", "enabled": True, "params": {"sigma": 0.5 + number % 3}},
                        {"brush": "normalize", "enabled": True, "params": {}}]}  # fmt: skip
    if number % 2:
        data["brushes"].insert(1, {"brush": "horizontal_flip", "enabled": True, "params": {"p": 0.5}})  # type: ignore[attr-defined]
    return yaml.safe_dump(data, sort_keys=False)


def fill_store(runs: int, epochs: int, steps: int) -> list[str]:
    """Insert ``runs`` runs (the last ``COMPARED`` with ``steps`` epochs); returns the compared ids."""
    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag

    from canvascraft.gallery.runs import mlflow_engine
    from canvascraft.tracking.runs import ensure_experiment, tracking_client

    experiment = ensure_experiment()
    location = Path(tracking_client().get_experiment(experiment).artifact_location.removeprefix("file://"))
    engine = mlflow_engine()
    assert engine is not None
    card = _card_png()
    compared: list[str] = []
    batch: dict[str, list[dict[str, Any]]] = {
        "runs": [],
        "tags": [],
        "params": [],
        "metrics": [],
        "latest": [],
    }
    tables = {"runs": SqlRun.__table__, "tags": SqlTag.__table__, "params": SqlParam.__table__,
              "metrics": SqlMetric.__table__, "latest": SqlLatestMetric.__table__}  # fmt: skip

    def flush() -> None:
        with engine.begin() as connection:
            for name, rows in batch.items():
                if rows:
                    connection.execute(tables[name].insert(), rows)
                    rows.clear()

    for number in range(runs):
        run_id = uuid.UUID(int=number + 1).hex
        dataset = DATASETS[number % len(DATASETS)]
        trainer = TRAINERS[dataset]
        long_run = number >= runs - COMPARED
        count = steps if long_run else epochs
        status = "FAILED" if number % 17 == 0 else "KILLED" if number % 23 == 0 else "FINISHED"
        start = START_MS + number * 60_000
        folder = location / run_id / "artifacts"
        name = f"job-{number + 1}-{trainer}-{dataset}"
        batch["runs"].append(
            dict(run_uuid=run_id, name=name, source_type="LOCAL", source_name="", entry_point_name="",
                 user_id="bench", status=status, start_time=start, end_time=start + 50_000, source_version="",
                 lifecycle_stage="active", artifact_uri=folder.as_uri(), experiment_id=int(experiment))
        )  # fmt: skip
        tags = {"mlflow.runName": name, "mlflow.user": "bench", "canvascraft.job_id": str(number + 1),
                "canvascraft.modality": MODALITY[trainer]}  # fmt: skip
        if number % 50 == 0:
            tags |= {"canvascraft.study": f"study-{number // 500}", "canvascraft.trial": str(number % 500)}
        batch["tags"] += [{"key": k, "value": v, "run_uuid": run_id} for k, v in tags.items()]
        params = {"trainer": trainer, "hyper.epochs": str(count), "hyper.batch_size": str(16 << number % 3),
                  "hyper.lr": str(0.001 * (1 + number % 4)), "hyper.width": "16", "hyper.patience": "5",
                  "recipe": f"{MODALITY[trainer]}-starter", "recipe_version": str(1 + number % 3),
                  "dataset": dataset, "dataset_version": "1", "val_fraction": "0.2", "split_seed": "0",
                  "max_items": "None", "classes": "a,b,c,d,e"}  # fmt: skip
        batch["params"] += [{"key": k, "value": v, "run_uuid": run_id} for k, v in params.items()]
        for key, values in _metric_values(number, count).items():
            for epoch, value in enumerate(values, start=1):
                batch["metrics"].append({"key": key, "value": value, "timestamp": start + epoch * 1000,
                                         "step": epoch, "is_nan": False, "run_uuid": run_id})  # fmt: skip
            batch["latest"].append({"key": key, "value": values[-1], "timestamp": start + count * 1000,
                                    "step": count, "is_nan": False, "run_uuid": run_id})  # fmt: skip
        if number % 10 == 0 or long_run:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "card.png").write_bytes(card)
        if long_run:
            (folder / "recipe.yaml").write_text(_recipe_yaml(number))
            compared.append(run_id)
        if len(batch["metrics"]) > 50_000:
            flush()
    flush()
    return compared


def check_store(runs: int, compared: list[str], steps: int) -> None:
    """Read the fixture back through MLflow's client: it must look like runs MLflow wrote itself."""
    from canvascraft.tracking.runs import DEFAULT_EXPERIMENT, tracking_client

    client = tracking_client()
    run = client.get_run(compared[0])
    assert run.data.params["dataset"] in DATASETS and run.data.metrics["val_accuracy"] > 0
    assert len(client.get_metric_history(compared[0], "val_loss")) == steps
    experiment = client.get_experiment_by_name(DEFAULT_EXPERIMENT)
    assert experiment is not None
    found = client.search_runs([experiment.experiment_id], "params.dataset = 'sketches'", max_results=50_000)
    assert len(found) == len(range(DATASETS.index("sketches"), runs, len(DATASETS)))


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _timed(function: Callable[[], Any]) -> Callable[[], float]:
    def measure() -> float:
        started = time.perf_counter()
        function()
        return time.perf_counter() - started

    return measure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=10, help="Epochs of the grid's runs.")
    parser.add_argument("--steps", type=int, default=1000, help="Steps per metric of the compared runs.")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline-rounds", type=int, default=2, help="Rounds of the full-scan baseline.")
    args = parser.parse_args(argv)
    print(describe_machine())
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="gallery-bench-") as tmp:
        _use_temporary_workspace(Path(tmp) / "workspace")
        from canvascraft.gallery.compare import compare_runs
        from canvascraft.gallery.runs import RunFilter, run_facets, search_runs
        from canvascraft.tracking.runs import DEFAULT_EXPERIMENT, tracking_client

        started = time.perf_counter()
        compared = fill_store(args.runs, args.epochs, args.steps)
        check_store(args.runs, compared, args.steps)
        took = time.perf_counter() - started
        print(f"fixture: {args.runs:,} runs ({args.epochs} epochs × {len(METRICS)} metrics; {COMPARED} of "
              f"them {args.steps:,} steps) inserted and read back in {took:.1f} s")  # fmt: skip

        client = tracking_client()
        experiment = client.get_experiment_by_name(DEFAULT_EXPERIMENT)
        assert experiment is not None

        def first_page() -> None:
            page = search_runs(page_size=24)
            assert len(page.cards) == 24 and page.next_page_token
            run_facets()

        def sorted_page() -> None:
            page = search_runs(RunFilter(dataset="sketches", status="FINISHED"), sort_metric="val_accuracy")
            assert len(page.cards) == 24

        def sorted_all() -> None:
            page = search_runs(sort_metric="val_loss", descending=False)
            assert len(page.cards) == 24

        def mlflow_sorted() -> None:
            found = client.search_runs(
                [experiment.experiment_id], max_results=24, order_by=["metrics.val_loss ASC"]
            )
            assert len(found) == 24

        def all_runs() -> None:
            assert len(client.search_runs([experiment.experiment_id], max_results=50_000)) == args.runs

        def comparison() -> None:
            result = compare_runs(compared)
            assert len(result.curves["val_loss"][compared[0]]) == args.steps and result.recipe_diff

        def histories() -> None:
            for run_id in compared:
                for key in client.get_run(run_id).data.metrics:
                    assert len(client.get_metric_history(run_id, key)) == args.steps

        cold = {}
        for name, function in (("first page", first_page), ("comparison", comparison)):
            cold[name] = _timed(function)()
        pages = run_interleaved(
            {"first page": _timed(first_page), "sorted page": _timed(sorted_page),
             "search page": _timed(lambda: search_runs(page_size=24)), "facets": _timed(run_facets),
             "sorted all": _timed(sorted_all)},
            repeat=args.rounds,
        )  # fmt: skip
        full = run_interleaved(
            {"all runs": _timed(all_runs), "mlflow sorted": _timed(mlflow_sorted)},
            repeat=args.baseline_rounds,
            warm_ups=[],
        )
        compare = run_interleaved(
            {"compare_runs": _timed(comparison), "get_metric_history ×70": _timed(histories)},
            repeat=args.rounds,
        )

    grid, baseline = _median(pages["first page"]), _median(full["all runs"])
    print(f"\n1. first grid page of {args.runs:,} runs (24 cards + facets), median of {args.rounds} rounds")
    print(f"   gallery first page      {grid:8.3f} s   (cold, first call: {cold['first page']:.3f} s)")
    print(f"     search_runs page      {_median(pages['search page']):8.3f} s")
    print(f"     run_facets            {_median(pages['facets']):8.3f} s")
    print(f"   filtered + sorted page  {_median(pages['sorted page']):8.3f} s   (2 filters, by val_accuracy)")
    print(f"   page sorted by val_loss {_median(pages['sorted all']):8.3f} s   (no filter: every run ranked)")
    print(f"   baseline: every run     {baseline:8.3f} s   (MlflowClient.search_runs, all {args.runs:,})")
    print(
        f"   baseline: MLflow sort   {_median(full['mlflow sorted']):8.3f} s   (its order_by metric, 24 runs)"
    )
    print(f"   ratio baseline / ours   {baseline / grid:8.1f}×")
    print(f"   target < {GRID_TARGET_S} s: {'met' if grid < GRID_TARGET_S else 'MISSED'}")
    ours, theirs = _median(compare["compare_runs"]), _median(compare["get_metric_history ×70"])
    size = f"{COMPARED} runs × {len(METRICS)} metrics × {args.steps:,} steps"
    print(f"\n2. comparison of {size}, median of {args.rounds} rounds")
    print(f"   compare_runs            {ours:8.3f} s   (cold: {cold['comparison']:.3f} s)")
    print(f"   baseline: get_run + get_metric_history per run and metric  {theirs:8.3f} s")
    print(f"   ratio baseline / ours   {theirs / ours:8.1f}×")
    print(f"   target < {COMPARE_TARGET_S} s: {'met' if ours < COMPARE_TARGET_S else 'MISSED'}")
    print(f"\nload average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if grid < GRID_TARGET_S and ours < COMPARE_TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
