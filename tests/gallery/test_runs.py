"""The Gallery's read side: the grid (filters, sort, paging), a run's detail and comparisons.

Filter and paging cases use runs logged straight through ``MlflowClient`` (fast, exact values); the
detail and comparison of real figures use tiny real training jobs.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlflow.entities import Metric, Param
from PIL import Image
from typer.testing import CliRunner

from canvascraft.cli import app
from canvascraft.config import get_settings
from canvascraft.errors import GalleryError, RunNotFoundError
from canvascraft.gallery import runs as gallery_runs
from canvascraft.gallery.compare import compare_runs, curves_figure, recipe_diff, shown_value
from canvascraft.gallery.detail import (
    confusion_figure,
    embedding_figure,
    items_in_cell,
    metric_curves_figure,
    run_detail,
)
from canvascraft.gallery.runs import RunFilter, metric_rows, run_facets, search_runs
from canvascraft.tracking.runs import ensure_experiment, tracking_client
from tests.conftest import TrainedTemplate, use_workspace

DATASETS = ("alpha", "beta", "gamma")
TRAINERS = ("image-cnn", "table-mlp")
RUNS = 60
START = 1_700_000_000_000


@dataclass(frozen=True)
class Logged:
    run_id: str
    number: int
    dataset: str
    trainer: str
    status: str
    val_accuracy: list[float]  # per epoch 1..3
    val_loss: list[float]
    study: str | None
    card: bool


def _accuracy(number: int) -> list[float]:
    # Distinct final values; every 5th run peaks at epoch 2 and falls back (early-stopping shape).
    final = round(0.2 + number * 0.01, 4)
    return [final - 0.1, final + 0.05, final] if number % 5 == 0 else [final - 0.2, final - 0.1, final]


@pytest.fixture(scope="module")
def logged_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Logged]]:
    """A workspace with the 60 runs, logged once per module (about 10 s on a busy machine)."""
    path = tmp_path_factory.mktemp("gallery") / "workspace"
    with pytest.MonkeyPatch.context() as patch:
        use_workspace(patch, path)
        made = _log_runs(path.parent)
    get_settings.cache_clear()
    return path, made


@pytest.fixture
def logged(logged_template: tuple[Path, list[Logged]], workspace: Path) -> list[Logged]:
    """A private copy of the 60-run workspace (artifact URIs still point into the template's folder,
    which tests only read)."""
    shutil.copytree(logged_template[0], workspace)
    return logged_template[1]


def _log_runs(tmp_path: Path) -> list[Logged]:
    """60 finished-looking runs across 3 datasets, 2 trainers and 3 statuses, some with a card.png."""
    client = tracking_client()
    experiment = ensure_experiment()
    picture = tmp_path / "card.png"
    Image.new("RGB", (8, 8), (200, 100, 50)).save(picture)
    made = []
    for number in range(RUNS):
        dataset, trainer = DATASETS[number % 3], TRAINERS[number % 2]
        status = "FAILED" if number % 10 == 3 else "KILLED" if number % 10 == 7 else "FINISHED"
        study = "s1" if number % 6 == 0 else None
        tags = {"canvascraft.job_id": str(1000 + number), "canvascraft.modality": "image"}
        if study:
            tags["canvascraft.study"] = study
        run = client.create_run(
            experiment, start_time=START + number * 1000, tags=tags, run_name=f"run-{number:02d}"
        )
        accuracy = _accuracy(number)
        loss = [round(2.0 - a, 4) for a in accuracy]
        params = {
            "trainer": trainer,
            "dataset": dataset,
            "dataset_version": "1",
            "recipe": "image-starter",
            "recipe_version": "1",
            "hyper.lr": str(0.001 * (1 + number % 2)),
            "hyper.epochs": "3",
        }
        metrics = [
            Metric(key, value, START + epoch, epoch)
            for epoch in (1, 2, 3)
            for key, value in (("val_accuracy", accuracy[epoch - 1]), ("val_loss", loss[epoch - 1]))
        ]
        client.log_batch(run.info.run_id, metrics=metrics, params=[Param(k, v) for k, v in params.items()])
        card = number % 4 == 0
        if card:
            client.log_artifact(run.info.run_id, str(picture))
        client.set_terminated(run.info.run_id, status, end_time=START + number * 1000 + 500)
        made.append(Logged(run.info.run_id, number, dataset, trainer, status, accuracy, loss, study, card))
    return made


def _all_pages(run_filter: RunFilter | None = None, **kwargs: object) -> list[list[str]]:
    pages, token = [], None
    while True:
        page = search_runs(run_filter, page_token=token, **kwargs)  # type: ignore[arg-type]
        pages.append([card.run_id for card in page.cards])
        token = page.next_page_token
        if token is None:
            return pages


def test_pages_cover_every_run_once_newest_first(logged: list[Logged]) -> None:
    pages = _all_pages(page_size=24)
    assert [len(p) for p in pages] == [24, 24, 12]
    ids = [run_id for page in pages for run_id in page]
    assert ids == [r.run_id for r in reversed(logged)]  # newest first, no run twice


def test_sorting_by_a_metric_holds_across_pages(logged: list[Logged]) -> None:
    ids = [run_id for page in _all_pages(sort_metric="val_accuracy", page_size=24) for run_id in page]
    by_id = {r.run_id: r for r in logged}
    finals = [by_id[run_id].val_accuracy[-1] for run_id in ids]
    assert len(ids) == RUNS and finals == sorted(finals, reverse=True)

    ids = [
        run_id
        for page in _all_pages(sort_metric="val_loss", descending=False, page_size=7)
        for run_id in page
    ]
    losses = [by_id[run_id].val_loss[-1] for run_id in ids]
    assert len(ids) == RUNS and losses == sorted(losses)


def test_cards_carry_what_the_grid_shows(logged: list[Logged]) -> None:
    cards = {card.run_id: card for card in search_runs(page_size=RUNS).cards}
    for run in logged:
        card = cards[run.run_id]
        assert (card.name, card.dataset, card.trainer, card.status) == (
            f"run-{run.number:02d}", run.dataset, run.trainer, run.status,
        )  # fmt: skip
        assert card.metrics["val_accuracy"] == pytest.approx(run.val_accuracy[-1])
        best = max(run.val_accuracy)
        assert card.best_metric is not None and card.best_metric.value == pytest.approx(best)
        assert card.best_metric.step == run.val_accuracy.index(best) + 1
        assert card.job_id == 1000 + run.number and card.study == run.study
        assert (card.thumbnail is not None) == run.card
        if card.thumbnail is not None:
            assert Image.open(card.thumbnail).size == (8, 8)
    # Every fifth run peaked before its last epoch: the card's best is not its final value.
    peaked = cards[logged[5].run_id]
    assert peaked.best_metric is not None and peaked.best_metric.value > peaked.metrics["val_accuracy"]
    # For a loss, best means lowest.
    page = search_runs(sort_metric="val_loss", descending=False, page_size=1)
    lowest = min(logged, key=lambda r: r.val_loss[-1])
    assert page.cards[0].run_id == lowest.run_id and page.cards[0].best_metric is not None
    assert (page.cards[0].best_metric.name, page.cards[0].best_metric.value) == (
        "val_loss",
        min(lowest.val_loss),
    )


@pytest.mark.parametrize(
    ("run_filter", "keep"),
    [
        (RunFilter(dataset="beta"), lambda r: r.dataset == "beta"),
        (RunFilter(trainer="table-mlp"), lambda r: r.trainer == "table-mlp"),
        (RunFilter(status="failed"), lambda r: r.status == "FAILED"),
        (RunFilter(tag="canvascraft.study=s1"), lambda r: r.study == "s1"),
        (RunFilter(tag="canvascraft.study"), lambda r: r.study is not None),
        (RunFilter(metric="val_accuracy", metric_min=0.5, metric_max=0.6),
         lambda r: 0.5 <= r.val_accuracy[-1] <= 0.6),
        (RunFilter(dataset="alpha", trainer="image-cnn", status="FINISHED"),
         lambda r: r.dataset == "alpha" and r.trainer == "image-cnn" and r.status == "FINISHED"),
        (RunFilter(text="RUN-1"), lambda r: 10 <= r.number <= 19),
        (RunFilter(dataset="nowhere"), lambda r: False),
    ],
)  # fmt: skip
def test_filters_narrow_the_grid(
    logged: list[Logged], run_filter: RunFilter, keep: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = {r.run_id for r in logged if keep(r)}  # type: ignore[operator]
    found = [run_id for page in _all_pages(run_filter, page_size=10) for run_id in page]
    assert len(found) == len(set(found)) and set(found) == expected
    assert 0 < len(expected) < RUNS or run_filter.dataset == "nowhere"
    # Sorted by a metric, pages come from a query on MLflow's tables; MLflow's own search agrees.
    for descending in (True, False):
        order = {"sort_metric": "val_loss", "descending": descending, "page_size": 4}
        fast = [i for page in _all_pages(run_filter, **order) for i in page]
        with monkeypatch.context() as patch:
            patch.setattr(gallery_runs, "mlflow_engine", lambda: None)
            slow = [i for page in _all_pages(run_filter, **order) for i in page]
        assert fast == slow and set(fast) == expected


@pytest.mark.parametrize(
    ("run_filter", "message"),
    [
        (RunFilter(dataset="x' OR '1'='1"), "\"'\" is not allowed"),
        (RunFilter(trainer='a"b'), "is not allowed"),
        (RunFilter(dataset="back\\slash"), "is not allowed"),
        (RunFilter(tag="bad`key=1"), "is not a valid name"),
        (RunFilter(tag="canvascraft.study=it's"), "is not allowed"),
        (RunFilter(status="DONE"), "is not a run status"),
        (RunFilter(metric="val_accuracy", metric_min=0.9, metric_max=0.1), "range is empty"),
        (RunFilter(metric_min=0.5), "needs a metric name"),
        (RunFilter(metric="val_accuracy", metric_min=math.nan), "finite number"),
        (RunFilter(metric="val acc)uracy", metric_min=0.1), "is not a valid name"),
        (RunFilter(text="%' OR 1=1 --"), "is not allowed"),
        (RunFilter(dataset="x" * 300), "too long"),
    ],
)  # fmt: skip
def test_bad_filter_values_give_a_clear_error(
    logged: list[Logged], run_filter: RunFilter, message: str
) -> None:
    with pytest.raises(GalleryError, match=message.replace("(", r"\(")) as caught:
        search_runs(run_filter)
    assert "Traceback" not in str(caught.value) and "mlflow" not in str(caught.value).lower()


def test_bad_sort_page_token_and_size_give_clear_errors(logged: list[Logged]) -> None:
    with pytest.raises(GalleryError, match="sort metric 'val`x' is not a valid name"):
        search_runs(sort_metric="val`x")
    with pytest.raises(GalleryError, match="page token cannot be used"):
        search_runs(page_token="not-a-token")
    for token in ("W10=", "eyJvZmZzZXQiOiAtNX0=", "bm9wZQ=="):  # [], {"offset": -5}, "nope"
        for sort in (None, "val_accuracy"):
            with pytest.raises(GalleryError, match="page token cannot be used"):
                search_runs(sort_metric=sort, page_token=token)
    # Tokens are MLflow's offsets whichever way a page is ranked (share links build them from page numbers).
    sorted_first = search_runs(sort_metric="val_accuracy", page_size=24)
    assert sorted_first.next_page_token == search_runs(page_size=24).next_page_token
    with pytest.raises(GalleryError, match="page size must be"):
        search_runs(page_size=0)


def test_facets_list_what_the_runs_hold(logged: list[Logged]) -> None:
    facets = run_facets()
    assert facets.datasets == sorted(DATASETS) and facets.trainers == sorted(TRAINERS)
    assert facets.statuses == ["FAILED", "FINISHED", "KILLED"]
    assert facets.metrics == ["val_accuracy", "val_loss"]
    assert "canvascraft.study" in facets.tags and not any(t.startswith("mlflow.") for t in facets.tags)


def test_the_fast_metric_query_agrees_with_the_client(
    logged: list[Logged], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [r.run_id for r in logged[:6]]
    fast = metric_rows(ids, None)
    monkeypatch.setattr(gallery_runs, "mlflow_engine", lambda: None)
    assert metric_rows(ids, None) == fast
    assert fast[(ids[0], "val_accuracy")] == list(zip((1, 2, 3), logged[0].val_accuracy, strict=True))
    assert run_facets().datasets == sorted(DATASETS)  # the scan fallback gives the same facets


def test_unknown_deleted_or_malformed_run_ids_are_named(logged: list[Logged]) -> None:
    with pytest.raises(RunNotFoundError, match="run 0123456789abcdef0123456789abcdef does not exist"):
        run_detail("0123456789abcdef0123456789abcdef")
    with pytest.raises(RunNotFoundError, match="does not exist"):
        run_detail("../../etc/passwd")
    tracking_client().delete_run(logged[0].run_id)
    with pytest.raises(RunNotFoundError, match=r"does not exist \(deleted\?\)"):
        run_detail(logged[0].run_id)
    assert logged[0].run_id not in [c.run_id for c in search_runs(page_size=RUNS).cards]
    with pytest.raises(GalleryError, match="2 or more"):
        compare_runs([logged[1].run_id, logged[1].run_id])
    with pytest.raises(RunNotFoundError, match=logged[0].run_id):
        compare_runs([logged[1].run_id, logged[0].run_id])


def test_compare_flags_exactly_the_differing_params(logged: list[Logged]) -> None:
    first, second, third = logged[2], logged[4], logged[8]  # same trainer; datasets gamma, beta, gamma
    comparison = compare_runs([first.run_id, second.run_id, third.run_id])
    assert [card.run_id for card in comparison.runs] == [first.run_id, second.run_id, third.run_id]
    assert {row.key for row in comparison.differing_params} == {"dataset"}
    assert set(comparison.curves) == {"val_accuracy", "val_loss"}
    assert comparison.curves["val_loss"][second.run_id] == list(zip((1, 2, 3), second.val_loss, strict=True))
    figure = curves_figure(comparison, "val_accuracy")
    assert [trace.name for trace in figure.data] == ["run-02", "run-04", "run-08"]
    assert comparison.recipe_diff[0].kind == "unavailable"  # these runs logged no recipe.yaml
    with pytest.raises(GalleryError, match="no compared run logged 'f1'"):
        curves_figure(comparison, "f1")


def test_compare_shows_figures_in_their_metric_format_and_params_to_four_digits(logged: list[Logged]) -> None:
    """Compare showed ``0.27244159149844`` as logged; a figure follows its metric's declared format."""
    first, second = logged[2], logged[4]
    client = tracking_client()
    client.log_param(first.run_id, "lr", "0.27244159149844")
    client.log_param(second.run_id, "lr", "0.0003")
    comparison = compare_runs([first.run_id, second.run_id])
    (lr,) = [row for row in comparison.params if row.key == "lr"]
    assert lr.shown == {first.run_id: "0.2724", second.run_id: "0.0003"} and lr.differs
    assert next(row for row in comparison.params if row.key == "dataset_version").shown[first.run_id] == "1"
    assert [shown_value(v) for v in (0.1 + 0.2, 64, None, "bilinear", True, "1e-05")] == [
        "0.3", "64", "—", "bilinear", "True", "1e-05",
    ]  # fmt: skip
    accuracy = curves_figure(comparison, "val_accuracy")  # the objective declares accuracy a percentage
    assert accuracy.layout.yaxis.tickformat == ".1%"
    assert all("%{y:.1%}" in trace.hovertemplate for trace in accuracy.data)
    assert curves_figure(comparison, "val_loss").layout.yaxis.tickformat == ".2f"


def test_recipe_diff_aligns_steps_by_brush() -> None:
    def recipe(*steps: tuple[str, dict[str, object]], seed: int = 0) -> dict[str, object]:
        return {"name": "r", "modality": "image", "seed": seed,
                "brushes": [{"brush": b, "enabled": True, "params": p} for b, p in steps]}  # fmt: skip

    base = recipe(("resize", {"size": 64}), ("blur", {"sigma": 1.0}), ("normalize", {}))
    more = recipe(("resize", {"size": 64}), ("flip", {"p": 0.5}), ("blur", {"sigma": 2.0}), ("normalize", {}))
    less = recipe(("resize", {"size": 32}), ("normalize", {}), seed=3)
    changes = recipe_diff({"a": base, "b": more, "c": less})
    described = {(c.kind, c.step, c.brush, c.param) for c in changes}
    assert described == {
        ("recipe", None, None, "seed"),
        ("param", 0, "resize", "size"),
        ("removed", 1, "blur", None),
        ("param", 1, "blur", "sigma"),
        ("added", 1, "flip", None),
    }
    sigma = next(c for c in changes if c.param == "sigma")
    assert sigma.values == {"a": 1.0, "b": 2.0, "c": None}
    assert next(c for c in changes if c.kind == "removed").values == {"c": None}


def test_cli_lists_sorts_filters_and_compares(logged: list[Logged]) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["runs", "list", "--json", "--dataset", "gamma", "--sort", "val_accuracy"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    expected = sorted((r for r in logged if r.dataset == "gamma"), key=lambda r: -r.val_accuracy[-1])
    assert [row["run_id"] for row in rows] == [r.run_id for r in expected]
    assert {"run_id", "status", "dataset", "recipe", "trainer", "metrics"} <= set(rows[0])

    result = runner.invoke(app, ["runs", "list", "--sort", "val_loss"])
    assert result.exit_code == 0 and result.output.splitlines()[1].startswith(logged[-1].run_id)

    result = runner.invoke(app, ["runs", "list", "--dataset", "x'y"])
    assert result.exit_code == 1 and "error: dataset" in result.output and "Traceback" not in result.output

    ids = [logged[2].run_id, logged[4].run_id]
    result = runner.invoke(app, ["runs", "compare", *ids, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert [row["key"] for row in payload["params"] if row["differs"]] == ["dataset"]
    assert payload["metrics"]["val_accuracy"][ids[1]]["final"] == pytest.approx(logged[4].val_accuracy[-1])
    result = runner.invoke(app, ["runs", "compare", *ids])
    assert result.exit_code == 0 and "parameters that differ (1 of 7)" in result.output
    result = runner.invoke(app, ["runs", "compare", ids[0]])
    assert result.exit_code == 1 and "2 or more" in result.output


def _predictions(run_id: str) -> dict[str, object]:
    folder = Path(tracking_client().get_run(run_id).info.artifact_uri.removeprefix("file://"))
    return json.loads((folder / "validation" / "predictions.json").read_text())


def test_detail_and_compare_of_real_training_runs(trained_runs_workspace: TrainedTemplate) -> None:
    """The session's tiny runs: two table runs whose recipes differ in one setting, and an image run."""
    ids = trained_runs_workspace.run_ids
    table_run, median_run, image_run = ids["table"], ids["median"], ids["image"]

    detail = run_detail(table_run)
    logged = _predictions(table_run)
    items = logged["items"]  # type: ignore[index]
    assert detail.classes == logged["classes"]
    assert sum(map(sum, detail.confusion)) == len(items) == len(detail.items)
    for i, truth in enumerate(detail.classes):
        for j, guess in enumerate(detail.classes):
            behind = [it for it in items if it["label"] == truth and it["predicted"] == guess]  # type: ignore[index]
            assert detail.confusion[i][j] == len(behind)
            cell = items_in_cell(detail, truth, guess)
            assert [it.index for it in cell] == [it["index"] for it in behind]  # type: ignore[index]
            assert all(it.confidence == max(b["probabilities"]) for it, b in zip(cell, behind, strict=True))  # type: ignore[index]
    assert [row.support for row in detail.per_class] == [sum(row) for row in detail.confusion]
    correct = sum(detail.confusion[i][i] for i in range(len(detail.classes)))
    assert sum(r.recall * r.support for r in detail.per_class) == pytest.approx(correct)
    assert set(detail.metric_history) >= {"val_accuracy", "val_loss", "train_loss", "epoch_seconds"}
    assert [step for step, _ in detail.metric_history["val_loss"]] == [1, 2]
    assert [c.name for c in detail.checkpoints] == ["best", "last"]
    assert {"recipe.yaml", "card.png", "validation/predictions.json", "validation/embeddings.npy",
            "table_state.json"} <= {a.path for a in detail.artifacts}  # fmt: skip
    assert all(a.size > 0 for a in detail.artifacts) and detail.model_uris
    lineage = detail.lineage
    assert (lineage.dataset, lineage.dataset_version, lineage.recipe, lineage.recipe_version) == (
        "sample-table", "1", "table-starter", "1",
    )  # fmt: skip
    assert lineage.study is None and lineage.parent_run_id is None and lineage.forked_from_run is None
    assert detail.card.thumbnail is not None and detail.card.thumbnail.is_file()
    assert detail.card.best_metric is not None and detail.card.best_metric.name == "val_accuracy"
    heat = confusion_figure(detail).data[0]
    assert list(heat.customdata[0][1]) == [detail.classes[0], detail.classes[1]]
    assert {trace.name for trace in metric_curves_figure(detail).data} >= {"val_loss", "val_accuracy"}
    with pytest.raises(GalleryError, match="is not a class"):
        items_in_cell(detail, "nope", detail.classes[0])

    image_detail = run_detail(image_run)
    points = embedding_figure(image_detail).data
    assert sum(len(trace.x) for trace in points) == len(image_detail.items) > 0
    by_index = {it.index: it for it in image_detail.items}
    for trace in points:
        for x, y, custom in zip(trace.x, trace.y, trace.customdata, strict=True):
            item = by_index[int(custom[0])]
            assert (item.x, item.y, item.label, item.sha256) == (x, y, trace.name, custom[2])

    comparison = compare_runs([table_run, median_run])
    runs = [tracking_client().get_run(run_id).data.params for run_id in (table_run, median_run)]
    expected = {key for key in runs[0].keys() | runs[1].keys() if runs[0].get(key) != runs[1].get(key)}
    assert {row.key for row in comparison.differing_params} == expected and "recipe" in expected
    assert [(c.kind, c.step, c.brush, c.param) for c in comparison.recipe_diff] == [
        ("recipe", None, None, "name"),
        ("param", 0, "impute_missing", "strategy"),
    ]
    assert comparison.recipe_diff[1].values == {table_run: "mean", median_run: "median"}
    assert set(comparison.curves["val_accuracy"]) == {table_run, median_run}

    page = search_runs(RunFilter(dataset="sample-table"), sort_metric="val_accuracy")
    assert {card.run_id for card in page.cards} == {table_run, median_run}
    assert all(card.thumbnail is not None and card.modality == "table" for card in page.cards)
