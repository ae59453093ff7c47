"""The Train page's Tune mode through AppTest: start a study, a bad range, watch it finish, stop one,
train the best, and a link to a missing study.

As in ``test_train_page``, AppTest fires no ``run_every`` timers and the scheduler is off in-process: the
tests drive the pool with ``tick()`` (the study's driver ticks it for its own trials) and rerun the page.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from canvascraft.services.jobs import get_job, launch_training, list_jobs, tick
from canvascraft.services.tuning import StudyView, search_candidates, start_study, study_view
from canvascraft.tuning.space import SearchParam

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SPACE_KEY = "train_tune_space_table-starter_table-mlp"


def open_train(**query: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    for name, value in query.items():
        app.query_params[name] = value
    app.switch_page("pages/train.py")
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def open_tune_form() -> AppTest:
    app = open_train(mode="Tune")
    app.selectbox(key="train_tune_dataset").set_value("sample-table").run()
    assert app.selectbox(key="train_tune_trainer_table").value == "table-mlp"
    return app


def button(app: AppTest, label: str):
    return next(b for b in app.button if b.label == label)


def row_of(app: AppTest, name: str) -> int:
    frame = app.dataframe(key=SPACE_KEY).value
    return int(frame.index[frame["parameter"] == name][0])


def table_with(app: AppTest, column: str) -> pd.DataFrame:
    """The first table showing ``column`` (read-only tables carry no key in AppTest)."""
    return next(d.value for d in app.dataframe if column in d.value.columns)


def small_space() -> list[SearchParam]:
    return search_candidates("table-starter", "table-mlp")


def wait_until(name: str, done: Callable[[StudyView], bool], timeout_s: float = 240) -> StudyView:
    """Tick the pool (which starts the driver) until ``done`` holds for the study."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        tick()
        view = study_view(name)
        if done(view):
            return view
        time.sleep(0.3)
    raise AssertionError(f"study {name} still {study_view(name).summary.counts} after {timeout_s} s")


def test_start_a_study_from_the_tune_form(sample_workspace: Path) -> None:
    app = open_tune_form()
    table = app.dataframe(key=SPACE_KEY).value
    ticked = set(table.loc[table["search"], "parameter"])
    assert ticked == {"hyper.learning_rate", "hyper.dropout"}  # the defaults
    assert "brush.0.impute_missing.strategy" in set(table["parameter"])  # brush parameters are offered

    hidden, impute = row_of(app, "hyper.hidden"), row_of(app, "brush.0.impute_missing.strategy")
    app.session_state[SPACE_KEY] = {
        "edited_rows": {
            hidden: {"search": True, "low": 16, "high": 48},
            impute: {"search": True, "choices": "mean, median"},
        },
        "added_rows": [],
        "deleted_rows": [],
    }
    app.run()
    app.selectbox(key="train_tune_sampler").set_value("random").run()
    app.number_input(key="train_tune_trials").set_value(3).run()
    app.number_input(key="train_tune_epochs_table-mlp").set_value(2).run()
    app.text_input(key="train_tune_name").set_value("quick").run()
    button(app, "Start study").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]

    view = study_view("quick")
    attrs = view.summary.attrs
    assert attrs["sampler"] == "random" and attrs["trials"] == 3 and attrs["parallel"] == 2
    assert attrs["epochs"] == 2
    space = {p["name"]: p for p in attrs["space"]}
    assert set(space) == {
        "hyper.learning_rate",
        "hyper.dropout",
        "hyper.hidden",
        "brush.0.impute_missing.strategy",
    }
    assert (space["hyper.hidden"]["low"], space["hyper.hidden"]["high"]) == (16, 48)
    assert space["brush.0.impute_missing.strategy"]["choices"] == ["mean", "median"]
    assert app.selectbox(key="study").value == "quick"  # the new study is the one shown
    assert any(h.value == "Study quick" for h in app.subheader)
    assert [j.kind for j in list_jobs()] == ["tune"]


def test_a_bad_range_is_named_and_no_study_starts(sample_workspace: Path) -> None:
    app = open_tune_form()
    dropout = row_of(app, "hyper.dropout")
    app.session_state[SPACE_KEY] = {
        "edited_rows": {dropout: {"high": 5.0}}, "added_rows": [], "deleted_rows": []
    }  # fmt: skip
    app.run()
    button(app, "Start study").click().run()
    assert [e.value for e in app.error] == ["hyper.dropout: must stay within 0..0.9"]
    assert list_jobs() == []
    assert any("No studies yet" in c.value for c in app.caption)


def test_watch_a_study_finish_then_train_the_best(sample_workspace: Path) -> None:
    name, _driver = start_study(
        "sample-table", "table-starter", "table-mlp", small_space(), trials=2, parallel=2, epochs=2,
        name="watched",
    )  # fmt: skip
    app = open_train(study="watched")
    assert not app.error
    assert any(h.value == "Study watched" for h in app.subheader)

    view = wait_until(name, lambda v: not v.active)
    assert view.state == "succeeded"
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    (done,) = app.success
    assert done.value.startswith("Finished: 2 of 2 trials finished")
    trials = table_with(app, "pruned")
    assert list(trials["state"]) == ["COMPLETE", "COMPLETE"]
    assert trials["value"].between(0, 1).all() and list(trials["pruned"]) == ["no", "no"]
    assert {"learning_rate", "dropout"} <= set(trials.columns)
    assert len(app.get("plotly_chart")) >= 1  # Optuna's optimization history at least
    best = table_with(app, "parameter")
    assert set(best["parameter"]) == {"learning_rate", "dropout"}
    # The jobs list leaves the trials out: they belong to the study.
    assert "No training jobs yet" in app.info[0].value

    app.number_input(key="train_study_best_epochs_watched").set_value(3).run()
    button(app, "Train the best").click().run()
    assert not app.exception, [e.message for e in app.exception]
    job = max(list_jobs(), key=lambda j: j.id)
    best_params = view.summary.best_params
    assert job.kind == "train" and not job.spec.get("study")
    assert job.spec["from_study"] == {"name": "watched", "trial": view.summary.best_trial}
    assert job.spec["hyper"]["epochs"] == 3
    assert job.spec["hyper"]["learning_rate"] == best_params["hyper.learning_rate"]
    assert job.spec["hyper"]["dropout"] == best_params["hyper.dropout"]
    assert app.selectbox(key="job").value == job.id  # the page switched to the new job
    assert app.selectbox(key="study").value is None
    assert any(h.value.startswith(f"#{job.id} · table-mlp") for h in app.subheader)

    # A trial's job is left out of the jobs list, yet its link (the trials table's job column) opens it.
    trial_job = view.trials[0].job_id
    app = open_train(job=str(trial_job))
    assert not [w for w in app.warning if "no training job" in w.value]  # the sample data's own warning aside
    assert app.selectbox(key="job").value == trial_job


def test_stop_a_running_study(sample_workspace: Path) -> None:
    name, driver = start_study(
        "sample-table", "table-starter", "table-mlp", small_space(), trials=3, parallel=1, epochs=2,
        name="stopped",
    )  # fmt: skip
    wait_until(name, lambda v: v.state == "running" and v.summary.counts.get("RUNNING", 0) >= 1)
    app = open_train(study=name)
    button(app, "Stop study").click().run()
    assert not app.exception and not app.error
    view = wait_until(name, lambda v: not v.active, timeout_s=120)
    assert get_job(driver).state == "cancelled"
    assert view.summary.finished < 3
    app.run()
    assert any("Stopped on request" in w.value for w in app.warning)
    assert not [b for b in app.button if b.label == "Stop study"]


def test_a_link_to_a_missing_study_explains_and_shows_the_page(sample_workspace: Path) -> None:
    app = open_train(study="nope")
    assert any("There is no study 'nope'" in w.value for w in app.warning)
    assert not app.error
    start_study("sample-table", "table-starter", "table-mlp", small_space(), trials=1, epochs=1, name="real")
    app = open_train(study="../etc")
    assert any("There is no study '../etc'" in w.value for w in app.warning)
    assert app.selectbox(key="study").value is None


def test_links_reopen_their_job_or_study(sample_workspace: Path) -> None:
    first = launch_training("sample-table", "table-starter", "table-mlp", epochs=1)
    newest = launch_training("sample-table", "table-starter", "table-mlp", epochs=1)
    start_study(
        "sample-table", "table-starter", "table-mlp", small_space(), trials=1, epochs=1, name="linked"
    )
    app = open_train(job=str(first))
    assert app.selectbox(key="job").value == first  # not the newest: the link names the job
    assert app.query_params["job"] == str(first)
    assert any(h.value.startswith(f"#{first} · ") for h in app.subheader)
    app.selectbox(key="job").set_value(newest).run()
    assert app.query_params["job"] == str(newest)

    app = open_train(study="linked")
    assert any(h.value == "Study linked" for h in app.subheader)
    assert not any(h.value.startswith("#") for h in app.subheader)  # one big panel at a time
    app.selectbox(key="job").set_value(first).run()  # choosing a job hides the study
    assert app.selectbox(key="study").value is None
    assert any(h.value.startswith(f"#{first} · ") for h in app.subheader)
