"""Retraining a registered table model: the candidate is trained on the latest data, registered, compared
with the current version on the same validation items, and promoted, kept or left for approval.

One tiny table model is trained for the module and registered under several names (one per test), so
each test has its own alert settings and retrains; cool-down and drift tests cancel their queued jobs
instead of training.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from canvascraft.cli import app
from canvascraft.config import get_settings
from canvascraft.events import DriftDetected, RetrainRequested, publish
from canvascraft.events.settings import save_alert_settings
from canvascraft.gallery.registry import register, resolve
from canvascraft.services import retrain as retrains
from canvascraft.services.jobs import cancel_job, get_job, tick
from canvascraft.tracking.runs import tracking_client
from tests.conftest import use_workspace

OPTIONS = {"epochs": 2, "hyper": {"batch_size": 16, "hidden": 8, "layers": 1}}
_RUNS: dict[Path, str] = {}
"""Workspace → the run id of its base table model, so the module trains it once."""


@pytest.fixture(scope="module")
def retrain_workspace(sample_workspace_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("retrain") / "workspace"
    shutil.copytree(sample_workspace_template, path)
    return path


@pytest.fixture
def base_run(retrain_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The run of a tiny table model trained on ``sample-table`` (once per module)."""
    from canvascraft.services.jobs import launch_training, wait_for

    use_workspace(monkeypatch, retrain_workspace)
    if retrain_workspace not in _RUNS:
        job = wait_for(
            launch_training("sample-table", "table-starter", "table-mlp", **OPTIONS), timeout_s=300
        )
        assert job.state == "succeeded" and job.mlflow_run_id, job.error_tail
        _RUNS[retrain_workspace] = job.mlflow_run_id
    yield _RUNS[retrain_workspace]
    get_settings.cache_clear()


def model(run_id: str, name: str, **settings: object) -> str:
    """``NAME@champion`` on the base run, with these alert settings."""
    register(run_id, name, alias="champion")
    save_alert_settings(name, **settings)  # type: ignore[arg-type]
    return f"{name}@champion"


def drift(ref: str, check_id: int) -> DriftDetected:
    name = ref.partition("@")[0]
    return DriftDetected(
        model_name=name, model_ref=ref, model_version=1, check_id=check_id, drifted_features=("income",),
        sentences=("income is higher",), link="",
    )  # fmt: skip


def drift_check(ref: str) -> int:
    """A finished drift check row, for the check a drift-triggered retrain points at (none is run)."""
    from canvascraft.store.models import DriftCheck
    from canvascraft.store.session import open_session

    with open_session() as session:
        check = DriftCheck(model_name=ref.partition("@")[0], model_ref=ref, trigger="manual", state="done")
        session.add(check)
        session.flush()
        return check.id


def test_manual_retrain_registers_a_version_and_moves_the_alias_only_when_better(base_run: str) -> None:
    ref = model(base_run, "retrain-auto", ask_first=False)
    outcome = CliRunner().invoke(app, ["retrain", ref, "--wait"])
    assert outcome.exit_code == 0, outcome.output
    view = retrains.list_retrains("retrain-auto")[0]
    assert view.trigger == "manual" and view.base_version == 1 and view.candidate_version == 2
    assert view.state in (retrains.PROMOTED, retrains.KEPT)
    assert view.base_metric is not None and view.candidate_metric is not None and view.n_items > 0
    assert f"version 1 {view.base_metric:.3f}, version 2 {view.candidate_metric:.3f}" in outcome.output
    better = view.candidate_metric > view.base_metric
    assert (view.state == retrains.PROMOTED) is better
    assert resolve(ref).version == (2 if better else 1)
    assert resolve("retrain-auto/2").run_id == get_job(view.job_id).mlflow_run_id  # type: ignore[arg-type]
    # Finishing again (the pool's hook already did) changes nothing.
    assert retrains.finish_retrain(view.id) == retrains.get_retrain(view.id)
    # The candidate trained on the base's own recipe, trainer and settings.
    job = get_job(view.job_id)  # type: ignore[arg-type]
    assert job.spec["retrain_id"] == view.id
    assert (job.spec["recipe"], job.spec["trainer"], job.spec["hyper"]["epochs"]) == (
        "table-starter", "table-mlp", 2,
    )  # fmt: skip
    listed = CliRunner().invoke(app, ["retrain", "list", "retrain-auto"])
    assert f"#{view.id} retrain-auto@champion v1 → v2" in listed.output


def test_the_promotion_rule_needs_strictly_higher_accuracy() -> None:
    assert retrains.is_better(0.9, 0.8)
    assert not retrains.is_better(0.8, 0.8)
    assert not retrains.is_better(0.7, 0.8)
    assert not retrains.is_better(None, 0.8)


def panel_script() -> None:
    from components.retrain_panel import render_retrains

    render_retrains("retrain-ask")


def test_ask_first_waits_with_both_versions_on_the_same_items(base_run: str) -> None:
    ref = model(base_run, "retrain-ask", ask_first=True)
    first = retrains.request_retrain(ref, "new data arrived")
    assert first is not None
    view = retrains.wait_for_retrain(first, timeout_s=300)
    assert view.state == retrains.PENDING and view.candidate_version == 2
    assert resolve(ref).version == 1  # nothing moves before approval

    compared = retrains.side_by_side(first, limit=100)
    candidate_run = tracking_client().get_run(resolve("retrain-ask/2").run_id)  # type: ignore[arg-type]
    path = Path(candidate_run.info.artifact_uri.removeprefix("file://")) / "validation/predictions.json"
    validation = {item["index"]: item["label"] for item in json.loads(path.read_text())["items"]}
    assert len(compared.items) == view.n_items == len(validation)
    assert {item.index: item.label for item in compared.items} == validation
    for item in compared.items:
        assert item.row is not None or item.index >= retrains.SIDE_ROWS  # table rows shown with values
        assert item.base_predicted and item.candidate_predicted
    for which, metric in (("base", view.base_metric), ("candidate", view.candidate_metric)):
        correct = sum(getattr(item, f"{which}_correct") for item in compared.items)
        assert metric == pytest.approx(correct / len(compared.items))
    assert len(retrains.side_by_side(first, limit=3).items) == 3

    with pytest.raises(retrains.RetrainError, match="waiting for approval; approve or reject it first"):
        retrains.request_retrain(ref, "again")
    page = AppTest.from_function(panel_script, default_timeout=60).run()
    assert not page.exception
    labels = [metric.label for metric in page.metric]
    assert labels == ["Current: version 1", "Candidate: version 2"]
    assert page.metric[0].value == f"{view.base_metric:.1%}"
    assert any("waiting for your approval" in md.value for md in page.markdown)
    assert len(page.get("caption")) >= min(view.n_items, 12)
    approve = next(b for b in page.button if b.key == f"retrain-approve-{first}")
    approve.click().run()
    approved = retrains.get_retrain(first)
    assert approved.state == retrains.PROMOTED and resolve(ref).version == 2
    with pytest.raises(retrains.RetrainError, match="not waiting for approval"):
        retrains.reject(first)

    second = retrains.request_retrain(ref, "once more")
    assert second is not None
    assert retrains.get_retrain(second).base_version == 2
    assert retrains.wait_for_retrain(second, timeout_s=300).state == retrains.PENDING
    outcome = CliRunner().invoke(app, ["retrain", "reject", str(second)])
    assert outcome.exit_code == 0, outcome.output
    assert "rejected" in outcome.output
    assert retrains.get_retrain(second).state == retrains.REJECTED
    assert resolve(ref).version == 2 and resolve("retrain-ask/3").aliases == []


def test_cooldown_skips_drift_retrains_and_a_cancelled_job_fails_the_retrain(base_run: str) -> None:
    ref = model(base_run, "retrain-cool", auto_retrain=True, ask_first=False, cooldown_s=3600)
    check = drift_check(ref)
    first = retrains.request_retrain(ref, "drift", check_id=check, trigger="drift")
    assert first is not None
    assert retrains.request_retrain(ref, "drift again", check_id=check, trigger="drift") is None  # in flight
    with pytest.raises(retrains.RetrainError, match="already training the candidate"):
        retrains.request_retrain(ref, "by hand")

    job_id = retrains.get_retrain(first).job_id
    assert job_id is not None
    cancel_job(job_id)  # queued: cancelled at once, and the pool's hook finishes the retrain
    failed = retrains.get_retrain(first)
    assert failed.state == retrains.FAILED and failed.candidate_version is None
    assert failed.error and "Cancelled" in failed.error
    assert retrains.finish_retrain(first).state == retrains.FAILED

    # Nothing in flight now, but the last retrain started less than an hour ago.
    assert retrains.request_retrain(ref, "drift", check_id=check, trigger="drift") is None
    save_alert_settings("retrain-cool", auto_retrain=True, ask_first=False, cooldown_s=0)
    again = retrains.request_retrain(ref, "drift", check_id=check, trigger="drift")
    assert again is not None
    cancel_job(retrains.get_retrain(again).job_id)  # type: ignore[arg-type]
    tick()
    assert [v.state for v in retrains.list_retrains("retrain-cool")] == [retrains.FAILED, retrains.FAILED]


def test_drift_on_the_default_bus_starts_a_retrain_only_with_auto_retrain_on(base_run: str) -> None:
    from canvascraft.store.models import Alert
    from canvascraft.store.session import open_session

    off = model(base_run, "retrain-off", auto_retrain=False)
    on = model(base_run, "retrain-on", auto_retrain=True, ask_first=True, cooldown_s=3600)
    assert publish(drift(off, check_id=drift_check(off))) == []
    assert retrains.list_retrains("retrain-off") == []

    check = drift_check(on)
    found = drift(on, check_id=check)
    assert publish(found) == []
    started = retrains.list_retrains("retrain-on")
    assert len(started) == 1
    assert (started[0].trigger, started[0].check_id, started[0].state) == ("drift", check, retrains.TRAINING)
    assert f"drift check {check}" in started[0].reason
    assert publish(drift(on, check_id=check)) == []  # cool-down: no second retrain
    assert len(retrains.list_retrains("retrain-on")) == 1
    with open_session() as session:
        rows = session.query(Alert).filter(Alert.model_name == "retrain-on").order_by(Alert.id)
        alerts = [(a.event, a.correlation_id) for a in rows]
    events = [event for event, _ in alerts]
    assert events.count(RetrainRequested.name) == 1
    # One chain: the drift, the retrain it requested and the training job queued for it share one id,
    # which the job's process continues (canvascraft.observability.logs).
    chain = dict(reversed(alerts))  # each event's first alert (the cool-down test published a second drift)
    assert chain[RetrainRequested.name] == chain[DriftDetected.name] == found.correlation_id
    assert get_job(started[0].job_id).spec["trace"]["correlation_id"] == found.correlation_id  # type: ignore[arg-type]
    cancel_job(started[0].job_id)  # type: ignore[arg-type]
    assert retrains.get_retrain(started[0].id).state == retrains.FAILED


def test_a_version_reference_cannot_be_retrained(base_run: str) -> None:
    model(base_run, "retrain-ref")
    with pytest.raises(retrains.RetrainError, match="names a version, not an alias"):
        retrains.request_retrain("retrain-ref/1", "by hand")
    outcome = CliRunner().invoke(app, ["retrain", "approve"])
    assert outcome.exit_code == 1 and "give the retrain's id" in outcome.output


def live_panel_script() -> None:
    from components.retrain_panel import render_retrains

    render_retrains("retrain-live")


def panel_states(page: AppTest) -> list[str]:
    return list(page.dataframe[0].value["State"])


def test_the_panel_follows_its_retrain_while_it_trains_and_stops_after(base_run: str) -> None:
    """It stayed on "training the candidate" until the page was reloaded."""
    ref = model(base_run, "retrain-live", ask_first=False)
    first = retrains.request_retrain(ref, "by hand")
    assert first is not None
    page = AppTest.from_function(live_panel_script, default_timeout=60).run()
    assert not page.exception
    assert panel_states(page) == ["training the candidate"]
    assert retrains.follow_every(retrains.list_retrains("retrain-live")) == retrains.FOLLOW_S

    cancel_job(retrains.get_retrain(first).job_id)  # type: ignore[arg-type]
    page.run()  # what the fragment's timer does: draw the panel again from the retrain rows
    assert not page.exception
    [state] = panel_states(page)
    assert state.startswith("failed") and "Cancelled" in state
    assert retrains.follow_every(retrains.list_retrains("retrain-live")) is None  # the timer stops


def test_only_training_and_comparing_retrains_are_polled() -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    view = retrains.RetrainView(
        id=1, model_name="m", alias="champion", base_version=1, candidate_version=None, job_id=1,
        state=retrains.TRAINING, reason="", trigger="manual", check_id=None, metric="accuracy",
        base_metric=None, candidate_metric=None, n_items=0, created_at=datetime.now(UTC), finished_at=None,
        error=None,
    )  # fmt: skip
    assert retrains.follow_every([view]) == retrains.FOLLOW_S
    assert retrains.follow_every([replace(view, state=retrains.COMPARING)], seconds=5) == 5
    for state in (retrains.PENDING, *retrains.FINAL):
        assert retrains.follow_every([replace(view, state=state), replace(view, state=retrains.KEPT)]) is None
    assert retrains.follow_every([]) is None
