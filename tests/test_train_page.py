"""The Train page through AppTest: launch, watch, failure reasons, resume, cancel, bad links.

AppTest does not fire ``st.fragment(run_every=...)`` timers, so the tests rerun the page themselves;
the scheduler is off in-process (``conftest``), so they drive the pool with ``wait_for``/``tick``.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from canvascraft.services.jobs import get_job, launch_training, list_jobs, tick, wait_for

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_train(job: int | str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    if job is not None:
        app.query_params["job"] = str(job)
    app.switch_page("pages/train.py")
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def button(app: AppTest, label: str):
    return next(b for b in app.button if b.label == label)


def test_launch_from_the_page_and_see_the_finished_run(sample_workspace: Path) -> None:
    app = open_train()
    assert "No training jobs yet" in app.info[0].value
    app.selectbox(key="train_dataset").set_value("sample-table").run()
    assert app.selectbox(key="train_trainer_table").value == "table-mlp"
    app.number_input(key="train_hp_table-mlp_epochs").set_value(2).run()
    (expected,) = [c.value for c in app.caption if c.value.startswith(":material/schedule: At most about")]
    assert "2 epochs of" in expected  # said before launch, for the settings shown
    button(app, "Launch training").click().run()
    assert not app.exception and not app.error

    (job,) = list_jobs()
    assert job.spec["dataset"] == "sample-table" and job.spec["hyper"]["epochs"] == 2
    assert 1 <= len(job.spec["pinned"]) <= 8
    assert app.selectbox(key="job").value == job.id  # the new job is the one shown
    assert wait_for(job.id, timeout_s=180).state == "succeeded"

    app.run()
    assert not app.exception
    (done,) = app.success
    assert done.value.startswith("Finished: best epoch")
    assert len(app.get("plotly_chart")) == 1  # loss and accuracy per epoch
    filmstrip = app.dataframe[1].value
    assert list(filmstrip.columns)[-2:] == ["epoch 1", "epoch 2"]
    assert len(filmstrip) == len(job.spec["pinned"])
    assert all(cell[0] in "✓✗" for cell in filmstrip["epoch 2"])


def test_a_bad_setting_is_named_and_nothing_is_queued(sample_workspace: Path) -> None:
    app = open_train()
    app.selectbox(key="train_dataset").set_value("sample-table").run()
    app.number_input(key="train_max_items").set_value(1).run()
    button(app, "Launch training").click().run()
    assert [e.value for e in app.error] == ["max_items must be at least 2, got 1"]
    assert list_jobs() == []


def test_a_double_click_on_launch_makes_one_job(sample_workspace: Path) -> None:
    app = open_train()
    app.selectbox(key="train_dataset").set_value("sample-table").run()
    button(app, "Launch training").click().run()
    button(app, "Launch training").click().run()  # the second click of a double click, nothing changed
    assert not app.exception and not app.error

    (job,) = list_jobs()
    assert job.idempotency_key and app.selectbox(key="job").value == job.id
    app.number_input(key="train_hp_table-mlp_epochs").set_value(1).run()
    button(app, "Launch training").click().run()  # other settings: another job
    assert len(list_jobs()) == 2


def test_a_killed_job_says_why_and_resumes_from_its_checkpoint(sample_workspace: Path) -> None:
    job_id = launch_training(
        "sample-images", "image-starter", "image-cnn", epochs=6, max_items=30, hyper={"batch_size": 4}
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        tick()
        job = get_job(job_id)
        if job.progress and job.progress.get("epoch", 0) >= 1:
            break
        time.sleep(0.3)
    os.kill(job.pid, signal.SIGKILL)
    assert wait_for(job_id, timeout_s=30).state == "failed"

    app = open_train(job_id)
    (reason,) = app.error
    assert "killed (SIGKILL)" in reason.value and "Resume continues" in reason.value
    assert "epoch 1/6" in app.code[0].value  # the log tail is there
    button(app, "Resume").click().run()
    assert not app.exception
    resumed = max(j.id for j in list_jobs())
    assert app.selectbox(key="job").value == resumed
    assert get_job(resumed).resume_from == job_id


def test_cancel_a_queued_job_from_the_page(sample_workspace: Path) -> None:
    job_id = launch_training("sample-table", "table-starter", "table-mlp", epochs=1)
    app = open_train(job_id)
    assert "Waiting for a free slot" in app.info[0].value
    button(app, "Cancel").click().run()
    assert get_job(job_id).state == "cancelled"
    assert any("Cancelled on request" in w.value for w in app.warning)


def test_a_link_to_a_missing_job_explains_and_shows_the_newest(sample_workspace: Path) -> None:
    newest = launch_training("sample-table", "table-starter", "table-mlp", epochs=1)
    for bad in ("999", "../etc"):
        app = open_train(bad)
        assert any(f"There is no training job {bad!r}" in w.value for w in app.warning)
        assert app.selectbox(key="job").value == newest


def test_a_link_with_an_id_too_big_for_the_database_is_a_missing_job(sample_workspace: Path) -> None:
    huge = "12345678901234567890123456"
    app = open_train(huge)  # no OverflowError from the database
    assert any(f"There is no training job {huge!r}" in w.value for w in app.warning)


def table_text(app: AppTest) -> str:
    return app.dataframe[0].value.astype(str).to_string()


def test_the_jobs_table_shows_no_raw_none_and_finds_every_job_id(sample_workspace: Path) -> None:
    """Trials and drift checks take ids from the same sequence as training runs; the table's filter
    finds each of them, and a value a job does not have reads as a dash, never ``None``."""
    from canvascraft.services.jobs import pool

    jobs = pool()
    base = {"dataset": "sample-table", "recipe": "table-starter", "trainer": "table-mlp"}
    training = jobs.submit("train", base)  # no recipe version, no progress yet
    trial = jobs.submit("train", {**base, "study": {"name": "inks", "number": None}})
    check = jobs.submit("drift", {"check_id": 4})
    driver = jobs.submit("tune", {"study": "inks"})

    app = open_train()
    shown = app.dataframe[0].value
    assert list(shown["job"]) == [training]  # what it showed before: training runs
    assert "None" not in table_text(app) and "nan" not in table_text(app)
    assert any("trials" in c.value and "drift checks" in c.value and "Show" in c.value for c in app.caption)

    (show,) = [group for group in app.get("button_group") if group.key == "train_job_groups"]
    show.set_value(["training", "trial", "study", "drift"]).run()
    shown = app.dataframe[0].value
    assert list(shown["job"]) == [driver, check, trial, training]
    assert list(shown["kind"]) == ["study inks", "drift check 4", "a trial of study inks", "training run"]
    assert "None" not in table_text(app)

    linked = open_train(trial)
    assert linked.selectbox(key="job").value == trial
    title = linked.selectbox(key="job").format_func(trial)
    assert title.endswith("· a trial of study inks") and "None" not in title
    assert not any("None" in c.value for c in linked.caption)


def test_tune_mode_gives_the_jobs_table_the_full_width(sample_workspace: Path) -> None:
    """Beside the tune form the jobs table had half the page and its progress column was cut off."""
    app = AppTest.from_file(APP, default_timeout=120)
    app.query_params["mode"] = "Tune"
    app.switch_page("pages/train.py")
    app.run()
    assert not app.exception
    assert not any(column.get("arrow_data_frame") or column.info for column in app.columns)
    launch = open_train()
    assert any(column.info for column in launch.columns)  # beside the launch form as before
