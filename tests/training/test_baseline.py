"""The classical baseline every classification run fits on its own split: fitted on real data, logged
in MLflow for each modality, shown beside the model's figure on the job panel, the jobs table, Home and
the Gallery, and a warning when a model does not beat it.

The logged runs are the session's tiny real runs (``tests/conftest.py::TINY_RUNS``), which fit their
baselines as any run does; the run that does not beat its baseline is trained here.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from streamlit.testing.v1 import AppTest
from torch.utils.data import TensorDataset

from canvascraft.gallery.detail import metric_curves_figure, run_detail
from canvascraft.services.jobs import TrainingJobView, launch_training, training_view, wait_for
from canvascraft.store.models import Job
from canvascraft.tracking.runs import tracking_client
from canvascraft.training.baseline import Baseline, fit_baseline
from canvascraft.training.progress import TrainingProgress
from canvascraft.training.split import SplitData, stratified_split
from tests.conftest import TrainedTemplate

APP = str(Path(__file__).resolve().parent.parent.parent / "app.py")
DESCRIBED = {
    "image": "logistic regression on 16×16 pixels",
    "audio": "logistic regression on the mean and spread of",
    "table": "logistic regression on the",
}


def digits_split(images: np.ndarray, target: np.ndarray) -> SplitData:
    """scikit-learn's bundled handwritten digits as an image split (8×8 grey pictures, 10 classes)."""
    x = torch.from_numpy(images / 16.0).float()[:, None]
    y = torch.from_numpy(target).long()
    train, val = stratified_split([str(t) for t in target], 0.2, 0)
    classes = [str(c) for c in range(10)]
    return SplitData("image", classes, TensorDataset(x[train], y[train]), TensorDataset(x[val], y[val]),
                     (1, 8, 8), train, val)  # fmt: skip


def test_fits_real_handwritten_digits_well() -> None:
    digits = load_digits()
    split = digits_split(digits.images, digits.target)
    baseline = fit_baseline(split)
    assert baseline is not None
    assert baseline.model == "logistic regression on 8×8 pixels"  # smaller than 16 px: kept as it is
    assert baseline.figures["accuracy"] > 0.9 and baseline.figures["f1"] > 0.9
    assert baseline.train_items == len(split.train) and baseline.val_items == len(split.val)
    again = fit_baseline(split)
    assert again is not None and again.figures == baseline.figures  # deterministic


def test_big_training_sets_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    import canvascraft.training.baseline as module

    monkeypatch.setattr(module, "MAX_TRAIN_ITEMS", 300)
    digits = load_digits()
    baseline = fit_baseline(digits_split(digits.images, digits.target))
    assert baseline is not None and 290 <= baseline.train_items <= 310  # a stratified subset
    assert baseline.figures["accuracy"] > 0.8


def test_a_baseline_that_cannot_be_fitted_is_none_with_the_reason(caplog: pytest.LogCaptureFixture) -> None:
    digits = load_digits()
    one_class = digits.target == 3
    with caplog.at_level(logging.WARNING):
        split = digits_split(digits.images[one_class], digits.target[one_class])
        assert fit_baseline(split) is None
    assert "only one class" in caplog.text
    caplog.clear()
    broken = digits.images.copy()
    broken[0, 0, 0] = np.nan
    with caplog.at_level(logging.WARNING):
        assert fit_baseline(digits_split(broken, digits.target)) is None
    assert "not finite" in caplog.text


@pytest.mark.parametrize("kind", ["image", "audio", "table"])
def test_every_modality_logs_its_baseline_on_the_runs_own_split(
    trained_runs_workspace: TrainedTemplate, kind: str
) -> None:
    run = tracking_client().get_run(trained_runs_workspace.run_ids[kind])
    assert run.data.params["baseline"].startswith(DESCRIBED[kind])
    for key in ("baseline_accuracy", "baseline_f1"):
        assert 0.0 <= run.data.metrics[key] <= 1.0
    view = training_view(trained_runs_workspace.job_ids[kind])
    assert view.baseline is not None and view.baseline.model == run.data.params["baseline"]
    assert view.baseline.figures["accuracy"] == pytest.approx(run.data.metrics["baseline_accuracy"])
    # The same validation items as the model's own predictions, and every training item.
    assert view.baseline.val_items == len(run_detail(run.info.run_id).items)
    assert view.baseline.train_items > 0
    assert view.baseline_figure is not None and view.baseline_figure.endswith("%")


def test_rows_written_before_baselines_still_read() -> None:
    old = {"epochs": 2, "phase": "done", "epoch": 2, "history": []}
    progress = TrainingProgress.from_dict(old)
    assert progress is not None and progress.baseline is None
    assert Baseline.from_dict(progress.baseline) is None


def open_page(page: str, **query: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        app.query_params[key] = value
    app.switch_page(page)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def texts(app: AppTest) -> str:
    return "\n".join(
        [m.value for m in app.markdown] + [c.value for c in app.caption] + [s.value for s in app.success]
    )


def test_the_panel_jobs_table_and_home_show_the_baseline(trained_runs_workspace: TrainedTemplate) -> None:
    job = trained_runs_workspace.job_ids["image"]
    view = training_view(job)
    app = open_page("pages/train.py", job=str(job))
    (done,) = app.success
    assert f"· baseline {view.baseline_figure} (logistic regression on 16×16 pixels)." in done.value
    table = app.dataframe[0].value
    row = table[table["job"] == job].iloc[0]
    assert row["baseline"] == view.baseline_figure and row["best"] == view.best_figure

    home = open_page("pages/home.py")
    lines = [link.label for link in home.get("page_link") if "best validation accuracy" in link.label]
    assert lines and all(" · baseline " in line and line.endswith("%") for line in lines)


def test_the_gallery_shows_the_baseline_on_cards_the_run_page_and_compare(
    trained_runs_workspace: TrainedTemplate,
) -> None:
    runs = trained_runs_workspace.run_ids
    grid = open_page("pages/gallery.py")
    shown = [m.value for m in grid.markdown if m.value.startswith("val_accuracy **")]
    assert shown and all(" · baseline 0." in line or " · baseline 1." in line for line in shown)

    page = open_page("pages/gallery.py", view="run", run=runs["image"])
    (line,) = [m.value for m in page.markdown if m.value.startswith("validation accuracy: your model")]
    assert "· baseline " in line and "(logistic regression on 16×16 pixels)" in line
    curves = metric_curves_figure(run_detail(runs["image"]))
    assert curves.data and not any("baseline" in (trace.name or "") for trace in curves.data)  # not a curve

    compare = open_page("pages/gallery.py", view="compare", runs=f"{runs['table']},{runs['image']}")
    listed = "\n".join(m.value for m in compare.markdown)
    assert listed.count("your model") == 2 and "logistic regression on the" in listed


def test_a_model_that_does_not_beat_its_baseline_says_so(sample_workspace: Path) -> None:
    # One epoch at learning rate 0 is the untrained network: it has learned nothing, so a baseline that
    # learns anything at all from the same items beats it.
    job = launch_training(
        "sample-images", "image-starter", "image-cnn", epochs=1, max_items=30,
        hyper={"batch_size": 8, "width": 4, "learning_rate": 0.0},
    )  # fmt: skip
    ended = wait_for(job, timeout_s=600)
    assert ended.state == "succeeded", ended.error_tail
    run = tracking_client().get_run(ended.mlflow_run_id)
    model, baseline = run.data.metrics["best_val_accuracy"], run.data.metrics["baseline_accuracy"]
    assert model <= baseline, (model, baseline)

    view = training_view(job)
    assert view.behind_baseline is not None
    app = open_page("pages/train.py", job=str(job))
    (warning,) = [w.value for w in app.warning if "not above the baseline" in w.value]
    assert f"({model:.1%})" in warning and f"({baseline:.1%})" in warning
    assert "more epochs" in warning and "gentler recipe" in warning and "more items per class" in warning

    page = open_page("pages/gallery.py", view="run", run=ended.mlflow_run_id)
    assert any("not above the baseline" in w.value for w in page.warning)


def finished_view(best: float, baseline: float) -> TrainingJobView:
    progress = TrainingProgress(epochs=1, phase="done", epoch=1, history=[
        {"epoch": 1, "val_loss": 0.5, "val_accuracy": best, "val_f1": best}])  # fmt: skip
    progress.baseline = Baseline("logistic regression on 16×16 pixels", {"accuracy": baseline}).to_dict()
    job = Job(id=1, kind="train", state="succeeded", spec={"trainer": "image-cnn"})
    return TrainingJobView(job, progress, None, [])


def test_only_a_model_at_or_below_its_baseline_is_warned_about() -> None:
    assert finished_view(0.9, 0.8).behind_baseline is None
    level = finished_view(0.8, 0.8)
    assert level.behind_baseline is not None and "(80.0%)" in level.behind_baseline
    assert finished_view(0.5, 0.8).baseline_note == "baseline 80.0% (logistic regression on 16×16 pixels)"


def test_a_resumed_run_keeps_the_baseline_it_logged(workspace: Path) -> None:
    from canvascraft.tracking.runs import TrainingRun
    from canvascraft.training.baseline import log_baseline
    from canvascraft.training.objectives import CLASSIFICATION

    digits = load_digits()
    split = digits_split(digits.images, digits.target)
    run = TrainingRun.start(run_name="resumed", params={"trainer": "image-cnn"}, tags={})
    first = log_baseline(run, split, CLASSIFICATION, resumed=False)
    assert first is not None
    again = log_baseline(TrainingRun.resume(run.run_id), split, CLASSIFICATION, resumed=True)
    assert again is not None and again.model == first.model
    assert again.figures["accuracy"] == pytest.approx(first.figures["accuracy"])
    run.finish("FINISHED")
