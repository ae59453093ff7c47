"""Studies with real Optuna RDB storage, real trial processes and real MLflow (tiny table data)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from canvascraft.brushes.base import Param
from canvascraft.cli import app
from canvascraft.errors import TrainingError
from canvascraft.services.jobs import get_job, list_jobs, tick, wait_for
from canvascraft.services.tuning import search_candidates, start_study, stop_study, study_view, train_best
from canvascraft.tracking.runs import tracking_client
from canvascraft.training.trainers import LOOP_HYPERPARAMS
from canvascraft.tuning.space import (
    SearchParam,
    apply_overrides,
    candidate_space,
    check_space,
    parse_search,
    split_params,
)

runner = CliRunner()
SIGMA = Param("sigma", "float", 1.0, "blur", 0.1, 10.0)
MODE = Param("mode", "choice", "a", "mode", choices=("a", "b"))


def test_candidates_cover_hyperparameters_and_brush_bounds() -> None:
    space = candidate_space(LOOP_HYPERPARAMS, [("blur", (SIGMA, MODE))])
    by_name = {p.name: p for p in space}
    assert "hyper.epochs" not in by_name and "hyper.seed" not in by_name  # the study's budget stays fixed
    rate = by_name["hyper.learning_rate"]
    assert (rate.low, rate.high, rate.log, rate.enabled) == (1e-4, 1e-2, True, True)
    sigma = by_name["brush.0.blur.sigma"]
    assert (sigma.low, sigma.high, sigma.enabled) == (0.1, 10.0, False)  # the brush's own bounds
    assert by_name["brush.0.blur.mode"].choices == ("a", "b")


def test_a_bad_space_names_every_problem() -> None:
    candidates = candidate_space(LOOP_HYPERPARAMS, [("blur", (SIGMA,))])
    bad = [
        SearchParam("brush.0.blur.sigma", "float", 5.0, 20.0),
        SearchParam("hyper.learning_rate", "float", 0.01, 0.001),
        SearchParam("hyper.momentum", "float", 0.1, 0.9),
    ]
    with pytest.raises(TrainingError) as error:
        check_space(bad, candidates)
    message = str(error.value)
    assert "brush.0.blur.sigma: must stay within 0.1..10" in message
    assert "hyper.learning_rate: the low end must be below the high end" in message
    assert "hyper.momentum: not something this recipe and trainer can search" in message
    with pytest.raises(TrainingError, match="pick at least one"):
        check_space([], candidates)


def test_sampled_values_split_into_hyperparameters_and_recipe_settings() -> None:
    hyper, overrides = split_params({"hyper.learning_rate": 0.01, "brush.1.blur.sigma": 2.5})
    assert hyper == {"learning_rate": 0.01} and overrides == {"brush.1.blur.sigma": 2.5}
    recipe = {"name": "r", "brushes": [{"brush": "resize", "params": {"size": 64}}, {"brush": "blur"}]}
    changed = apply_overrides(recipe, overrides)
    assert changed["brushes"][1]["params"] == {"sigma": 2.5}
    assert recipe["brushes"][1].get("params") is None  # the saved recipe is untouched
    with pytest.raises(TrainingError, match="step 0 of recipe 'r' is not blur"):
        apply_overrides(recipe, {"brush.0.blur.sigma": 1.0})


def test_search_options_from_the_command_line() -> None:
    candidates = candidate_space(LOOP_HYPERPARAMS, [("blur", (SIGMA, MODE))])
    parsed = parse_search(
        ["hyper.learning_rate=1e-5:1e-1:log", "brush.0.blur.mode=B", "hyper.batch_size"], candidates
    )
    assert [(p.name, p.low, p.high, p.log) for p in parsed[:1]] == [("hyper.learning_rate", 1e-5, 1e-1, True)]
    assert parsed[1].choices == ("b",) and parsed[2].low == 8
    with pytest.raises(TrainingError, match=r"not searchable here; choose from hyper\.batch_size"):
        parse_search(["hyper.momentum"], candidates)
    with pytest.raises(TrainingError, match=r"write hyper\.weight_decay=LOW:HIGH"):
        parse_search(["hyper.weight_decay=0.1"], candidates)


def drive(job_id: int, timeout_s: float = 300) -> None:
    assert wait_for(job_id, timeout_s=timeout_s).state == "succeeded", get_job(job_id).error_tail


def test_study_runs_trials_two_at_a_time_as_child_runs_and_trains_the_best(sample_workspace: Path) -> None:
    space = [p for p in search_candidates("table-starter", "table-mlp") if p.enabled]
    space.append(SearchParam("brush.2.standard_scale.with_std", "choice", choices=(False, True)))
    name, driver = start_study(
        "sample-table", "table-starter", "table-mlp", space, trials=4, parallel=2, epochs=2, name="paint"
    )
    drive(driver)

    view = study_view(name)
    assert view.summary.counts == {"COMPLETE": 4}
    assert view.summary.best_value == max(t.value for t in view.trials)
    trials = [get_job(t.job_id) for t in view.trials]
    assert all(j.lane == "study:paint" and j.spec["study"]["name"] == "paint" for j in trials)
    overlapping = any(
        a.started_at < b.finished_at and b.started_at < a.finished_at
        for i, a in enumerate(trials) for b in trials[i + 1 :]
    )  # fmt: skip
    assert overlapping  # the pool's own limit is 1 here; the study's lane ran two at once

    client = tracking_client()
    parent = client.get_run(view.summary.attrs["mlflow_run_id"])
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["best_val_accuracy"] == pytest.approx(view.summary.best_value)
    for job in trials:
        child = client.get_run(job.mlflow_run_id)
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.params["brush.2.standard_scale.with_std"] in ("True", "False")

    best_job = train_best(name, epochs=1)
    spec = get_job(best_job).spec
    best = view.summary.best_params
    assert spec["hyper"]["learning_rate"] == best["hyper.learning_rate"] and spec["hyper"]["epochs"] == 1
    assert spec["recipe_overrides"] == {
        "brush.2.standard_scale.with_std": best["brush.2.standard_scale.with_std"]
    }
    assert spec["from_study"] == {"name": "paint", "trial": view.summary.best_trial}
    drive(best_job)


def test_a_killed_trial_fails_and_the_study_goes_on(sample_workspace: Path) -> None:
    name, driver = start_study(
        "sample-audio", "audio-starter", "audio-cnn", trials=3, parallel=1, epochs=3, max_items=30,
        hyper={"batch_size": 8, "width": 8},
    )  # fmt: skip
    deadline = time.monotonic() + 240
    victim = None
    while victim is None and time.monotonic() < deadline:
        tick()
        for job in list_jobs():
            if job.kind == "train" and job.state == "running" and (job.progress or {}).get("epoch", 0) >= 1:
                victim = job
        time.sleep(0.3)
    assert victim is not None, "no trial reached its first epoch"
    os.kill(victim.pid, signal.SIGKILL)
    drive(driver, timeout_s=400)
    view = study_view(name)
    states = {t.job_id: t.state for t in view.trials}
    assert states[victim.id] == "FAIL"
    assert sorted(states.values()) == ["COMPLETE", "COMPLETE", "FAIL"]
    # Whichever pool saw the kill first failed the trial; the driver then asked for the next one.
    assert "trial 2: job" in (sample_workspace / "jobs" / f"{driver}.log").read_text()


def test_hyperband_prunes_weak_trials(sample_workspace: Path) -> None:
    space = [SearchParam("hyper.learning_rate", "float", 1e-5, 0.3, log=True)]
    name, driver = start_study(
        "sample-table", "table-starter", "table-mlp", space, trials=6, parallel=1, epochs=4,
        sampler="hyperband", metric="val_loss",
    )  # fmt: skip
    drive(driver, timeout_s=400)
    view = study_view(name)
    pruned = [t for t in view.trials if t.pruned]
    assert pruned, [(t.state, t.intermediate) for t in view.trials]
    for trial in pruned:
        job = get_job(trial.job_id)
        assert job.state == "succeeded" and job.progress["phase"] == "pruned"
        assert len(trial.intermediate) < 4  # stopped before its last epoch
        run = tracking_client().get_run(job.mlflow_run_id)
        assert run.data.tags["canvascraft.pruned"] == "true" and run.info.status == "KILLED"


def test_stop_a_study_from_the_cli(sample_workspace: Path) -> None:
    started = runner.invoke(
        app, ["tune", "--dataset", "sample-table", "--recipe", "table-starter", "--trainer", "table-mlp",
              "--trials", "20", "--parallel", "1", "--epochs", "50", "--name", "long"],
    )  # fmt: skip
    assert started.exit_code == 0, started.output
    driver = study_view("long").summary.attrs["driver_job"]
    deadline = time.monotonic() + 120
    while not any(t.state == "RUNNING" and t.job_id for t in study_view("long").trials):
        assert time.monotonic() < deadline
        tick()
        time.sleep(0.3)
    stopped = runner.invoke(app, ["studies", "stop", "long"])
    assert stopped.exit_code == 0 and "stop requested" in stopped.output
    assert wait_for(driver, timeout_s=120).state == "cancelled"
    trial_jobs = [t.job_id for t in study_view("long").trials]
    for job_id in trial_jobs:
        wait_for(job_id, timeout_s=60)
    view = study_view("long")
    # Early stopping may have ended a trial or two on its own before the stop; the one in flight failed.
    assert "FAIL" in {t.state for t in view.trials} and len(view.trials) < 20
    for trial in view.trials:
        assert (trial.state, get_job(trial.job_id).state) in {
            ("FAIL", "cancelled"),
            ("COMPLETE", "succeeded"),
        }
    listed = runner.invoke(app, ["studies", "list"])
    assert "long" in listed.output and "cancelled" in listed.output
    with pytest.raises(TrainingError, match="is not running"):
        stop_study("long")


def test_bad_study_settings_are_refused_before_anything_runs(sample_workspace: Path) -> None:
    result = runner.invoke(
        app, ["tune", "--dataset", "sample-table", "--recipe", "table-starter", "--trainer", "table-mlp",
              "--sampler", "grid"],
    )  # fmt: skip
    assert result.exit_code == 1 and "sampler must be one of tpe, random, hyperband" in result.stderr
    result = runner.invoke(
        app, ["tune", "--dataset", "sample-table", "--recipe", "table-starter", "--trainer", "table-mlp",
              "--search", "hyper.dropout=0.5:2"],
    )  # fmt: skip
    assert result.exit_code == 1 and "hyper.dropout: must stay within 0..0.9" in result.stderr
    assert list_jobs() == []
    name, _ = start_study("sample-table", "table-starter", "table-mlp", trials=1, epochs=1)
    with pytest.raises(TrainingError, match="no completed trial"):
        train_best(name)  # nothing has run yet
