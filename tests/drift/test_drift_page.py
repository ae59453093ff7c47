"""The Drift page through AppTest, on a real workspace: a tiny table model trained and registered once per
module, watched on a schedule, with two stored checks (its own dataset: calm; shifted rows dropped into
its watched folder: drift). Each test works on its own copy of that workspace."""

from __future__ import annotations

import shutil
from html import escape
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from canvascraft.config import get_settings
from canvascraft.drift.report import as_sentence
from canvascraft.gallery.registry import register
from canvascraft.services.datasets import open_version, table_rows
from canvascraft.services.drift import (
    get_monitor,
    list_checks,
    list_monitors,
    remove_monitor,
    run_check_now,
    save_monitor,
)
from canvascraft.share.links import DriftState, link, parse_drift
from canvascraft.store.session import engine_for
from components.drift_check_view import report_for
from tests.conftest import TrainedTemplate, copy_trained, use_workspace

APP = str(Path(__file__).resolve().parents[2] / "app.py")
BASE = "http://studio.test:8501"
MODEL = "paints"
Checks = dict[str, int]


def shifted_rows(folder: Path) -> None:
    """The sample table's first rows with much thicker paint and darker colours, as a new CSV file."""
    rows = table_rows(open_version("sample-table")).head(80).drop(columns=["style"])
    rows["thickness_mm"] = rows["thickness_mm"] * 4 + 3
    rows["brightness"] = rows["brightness"] * 0.3
    folder.mkdir(parents=True, exist_ok=True)
    rows.to_csv(folder / "new-batch.csv", index=False)


@pytest.fixture(scope="module")
def drift_template(
    trained_runs_template: TrainedTemplate, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Checks]:
    """A workspace with ``paints@champion`` watched every minute and two finished checks."""
    path = copy_trained(trained_runs_template, tmp_path_factory.mktemp("drift-page") / "workspace")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CANVASCRAFT_POOL_TICK_S", "0")
        patch.setenv("CANVASCRAFT_DRIFT_SCHEDULES", "0")
        use_workspace(patch, path)
        register(trained_runs_template.run_ids["table"], MODEL, alias="champion")
        save_monitor(MODEL, source_kind="dataset", source="sample-table")
        calm = run_check_now(MODEL, trigger="manual")
        monitor = save_monitor(MODEL, source_kind="folder", every="1min")
        shifted_rows(monitor.folder)
        drifted = run_check_now(MODEL, trigger="schedule")
        engine_for(get_settings().db_url).dispose()
    get_settings.cache_clear()
    assert calm.summary.state == "done" and not calm.summary.drifted, calm.summary
    assert drifted.summary.state == "done" and drifted.summary.drifted, drifted.summary
    return path, {"calm": calm.summary.id, "drifted": drifted.summary.id}


@pytest.fixture
def checks(drift_template: tuple[Path, Checks], workspace: Path) -> Checks:
    """A private copy of the watched workspace."""
    shutil.copytree(drift_template[0], workspace)
    return drift_template[1]


def open_drift(**query: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    app.context["url"] = f"{BASE}/drift"
    for name, value in query.items():
        app.query_params[name] = value
    app.switch_page("pages/drift.py")
    return run_again(app)


def run_again(app: AppTest) -> AppTest:
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += [e.value for e in app.error] + [s.value for s in app.success] + [i.value for i in app.info]
    parts += [w.value for w in app.warning]
    return "\n".join(parts)


def button(app: AppTest, label: str):
    return next(b for b in app.button if b.label == label)


def query(app: AppTest) -> dict[str, str]:
    return {key: (value[-1] if isinstance(value, list) else value) for key, value in app.query_params.items()}


def shared_link(app: AppTest) -> str:
    (code,) = [c for c in app.code if c.value.startswith(BASE)]
    return code.value


def test_the_latest_verdict_with_its_sentences_chart_and_history(checks: Checks) -> None:
    app = open_drift()
    assert [s.value for s in app.selectbox if s.label == "Watched model"] == [MODEL]
    assert "### Drift found" in [e.value for e in app.error]
    drifted = list_checks(MODEL)[0]
    assert drifted.id == checks["drifted"] and drifted.sentences
    page = texts(app)
    for sentence in drifted.sentences:
        assert as_sentence(sentence) in page
    assert "thickness_mm" in page or any("thickness_mm" in str(d.value) for d in app.dataframe)
    assert "every 1 min" in page and str(get_monitor(MODEL).folder) in [c.value for c in app.code]
    assert len(app.get("plotly_chart")) >= 2  # drift over time, and the first feature's histogram
    history = next(d.value for d in app.dataframe if "verdict" in d.value.columns)
    assert list(history["check"]) == [checks["drifted"], checks["calm"]]
    assert list(history["verdict"]) == ["drift", "no drift"]
    tabs = [t.label for t in app.tabs]
    assert tabs == ["Drift over time", "This check in detail", "History", "Limits", "Alerts and retraining"]
    assert "Retrain now" in [b.label for b in app.button]
    assert parse_drift(dict(p.split("=") for p in shared_link(app).split("?")[1].split("&"))) == DriftState(
        model=MODEL, check=checks["drifted"]
    )


def test_a_check_on_few_items_says_so_beside_its_verdict(checks: Checks) -> None:
    """Five rows decided a verdict shown as firmly as one on hundreds."""
    folder = get_monitor(MODEL).folder
    rows = table_rows(open_version("sample-table")).head(5).drop(columns=["style"])
    rows.to_csv(folder / "five-rows.csv", index=False)
    few = run_check_now(MODEL, trigger="manual")
    assert few.summary.state == "done" and few.summary.n_current == 5
    app = open_drift(model=MODEL, check=str(few.summary.id))
    assert any(w.value.startswith("Only 5 item(s) were checked") for w in app.warning)
    calm = open_drift(model=MODEL, check=str(checks["calm"]))
    assert not any("item(s) were checked" in w.value for w in calm.warning)


def test_a_share_link_reopens_that_check_and_feature(checks: Checks) -> None:
    url = link(BASE, DriftState(model=MODEL, check=checks["calm"], feature="brightness"))
    app = open_drift(**dict(pair.split("=") for pair in url.split("?")[1].split("&")))
    assert "### No drift" in [s.value for s in app.success]
    assert f"Check #{checks['calm']}" in [s.value for s in app.subheader]  # not "the latest"
    feature = next(s for s in app.selectbox if s.label == "Feature")
    assert feature.value == "brightness"
    assert shared_link(app) == url

    # Choosing another check from the history puts it in the URL.
    next(s for s in app.selectbox if s.label == "Open check").set_value(checks["drifted"])
    run_again(app)
    assert query(app) == {"model": MODEL, "check": str(checks["drifted"])}
    assert "### Drift found" in [e.value for e in run_again(app).error]


def test_a_signed_link_opens_that_one_check_read_only(checks: Checks) -> None:
    from canvascraft.services.links import create_link, revoke_link

    app = open_drift(model=MODEL, check=str(checks["drifted"]))
    next(b for b in app.button if b.label == "Make a share link").click()
    run_again(app)
    (url,) = [c.value for c in app.code if "?share=" in c.value]
    made, _ = create_link(DriftState(model=MODEL, check=checks["calm"], feature="brightness"))
    shared = AppTest.from_file(APP, default_timeout=120)
    shared.query_params["share"] = url.partition("share=")[2]
    shared.query_params["check"] = str(checks["calm"])  # edited in: the signed check is what opens
    run_again(shared)
    assert shared.title[0].value == "A drift check" and "### Drift found" in [e.value for e in shared.error]
    for sentence in list_checks(MODEL)[0].sentences:
        assert as_sentence(sentence) in texts(shared)
    assert any("Download report" in str(d.proto) for d in shared.get("download_button"))
    assert not shared.button and not shared.tabs and not shared.get("file_uploader")
    assert not [s for s in shared.selectbox if s.label in ("Watched model", "Open check")]
    calm = AppTest.from_file(APP, default_timeout=120)
    calm.query_params["share"] = made.token
    run_again(calm)
    assert "### No drift" in [s.value for s in calm.success]
    next(s for s in calm.selectbox if s.label == "Feature").set_value("thickness_mm")
    assert "### No drift" in [s.value for s in run_again(calm).success]  # picked here, still that check
    revoke_link(made.info.id)
    assert [t.value for t in run_again(calm).title] == ["This link is not valid"]


def test_the_report_download_holds_the_whole_check(checks: Checks) -> None:
    app = open_drift(check=str(checks["drifted"]))
    (download,) = [d for d in app.get("download_button") if "Download report" in str(d.proto)]
    assert f"drift-check-{checks['drifted']}.html" in str(download.proto) or download.proto.label
    html = report_for(checks["drifted"])
    for sentence in list_checks(MODEL)[0].sentences:
        assert escape(as_sentence(sentence)) in html
    assert "thickness_mm" in html and "plotly.js v" in html and "<script src=" not in html
    assert "Drift found" in html and "every 1 min" in html


def test_watch_pause_and_stop_watching_through_the_form(checks: Checks) -> None:
    remove_monitor(MODEL)
    app = open_drift()
    assert "No model is watched yet" in texts(app)
    next(r for r in app.radio if r.label == "Check automatically").set_value("every")
    run_again(app)
    next(n for n in app.number_input if n.label == "Every").set_value(2)
    next(s for s in app.selectbox if s.label == "Unit").set_value("minutes")
    button(app, "Watch this model").click()
    run_again(app)
    (monitor,) = list_monitors()
    assert (monitor.model_name, monitor.every_s, monitor.source_kind) == (MODEL, 120, "folder")
    assert f"Watching {MODEL}: drop new files into {monitor.folder}" in texts(app)
    assert "every 2 min" in texts(app)

    button(app, "Pause schedule").click()
    run_again(app)
    assert get_monitor(MODEL).paused and "every 2 min (paused)" in texts(app)
    button(app, "Resume schedule").click()
    run_again(app)
    assert not get_monitor(MODEL).paused

    button(app, "Yes, stop watching").click()
    run_again(app)
    assert list_monitors() == [] and "No model is watched yet" in texts(run_again(app))
    assert len(list_checks(MODEL)) == 2  # its past checks stay


def test_limits_are_saved_per_model(checks: Checks) -> None:
    app = open_drift()
    next(n for n in app.number_input if n.label.startswith("Population stability")).set_value(0.5)
    button(app, "Save limits").click()
    run_again(app)
    assert get_monitor(MODEL).custom_thresholds == {"psi": 0.5}
    assert "Limits saved (psi 0.5); they apply from the next check." in texts(app)


def test_run_now_queues_a_check_and_the_page_does_not_wait(checks: Checks) -> None:
    app = open_drift()
    button(app, "Run now").click()
    run_again(app)
    queued = list_checks(MODEL)[0]
    assert queued.state == "queued" and queued.trigger == "manual"
    page = texts(run_again(app))
    assert f"Check #{queued.id} (manual) waits for a free slot" in page


def test_dead_and_tampered_links_say_what_was_wrong(checks: Checks) -> None:
    app = open_drift(model=MODEL, check="99999")
    assert any("there is no drift check 99999" in w.value for w in app.warning)
    assert "### Drift found" in [e.value for e in app.error]  # and the latest check is shown
    app = open_drift(model=MODEL, check="abc")
    assert any("This link was changed or is out of date" in w.value for w in app.warning)
    app = open_drift(model="nobody")
    assert any("'nobody' does not exist" in w.value for w in app.warning)


def test_a_watched_model_without_checks_says_where_to_drop_files(checks: Checks) -> None:
    monitor = save_monitor("paints", source_kind="folder")
    from canvascraft.store.models import DriftCheck
    from canvascraft.store.session import open_session

    with open_session() as session:
        for row in session.query(DriftCheck).all():
            session.delete(row)
    app = open_drift()
    assert f"No checks yet: drop files into `{monitor.folder}` and press **Run now**" in texts(app)


def test_no_registered_models_points_to_the_gallery(sample_workspace: Path) -> None:
    app = open_drift()
    assert "train and register a model in the Gallery first" in texts(app)


def csv_rows(count: int, start: int = 0) -> bytes:
    rows = table_rows(open_version("sample-table")).iloc[start : start + count].drop(columns=["style"])
    return rows.to_csv(index=False).encode()


def test_uploaded_names_never_become_paths(checks: Checks) -> None:
    from canvascraft.services.drift import add_to_watched_folder, content_name

    data = csv_rows(5)
    for hostile in ("../x.csv", "..\\..\\x.csv", "/etc/x.csv", "sub/dir/x.CSV"):
        name = content_name(hostile, data)
        assert "/" not in name and "\\" not in name and not name.startswith(".")
        assert name == content_name("x.csv", data) and name.endswith(".csv")
    assert "/" not in content_name("x./../png", data)

    folder = get_monitor(MODEL).folder
    outside = sorted(p for p in folder.parent.parent.rglob("*") if p.is_file() and folder not in p.parents)
    result = add_to_watched_folder(MODEL, [("../x.csv", data), ("../../../escape.csv", csv_rows(5, 5))])
    assert result.added == ["../x.csv", "../../../escape.csv"] and not result.refused
    assert (
        sorted(p for p in folder.parent.parent.rglob("*") if p.is_file() and folder not in p.parents)
        == outside
    )
    kept = {p.name for p in folder.iterdir()}
    assert {content_name("x.csv", data), content_name("e.csv", csv_rows(5, 5))} <= kept
    again = add_to_watched_folder(MODEL, [("same-again.csv", data)])
    assert again.added == [] and again.already_there == ["same-again.csv"]


def test_files_uploaded_on_the_page_land_in_the_watched_folder(checks: Checks) -> None:
    monitor = get_monitor(MODEL)
    before = {p.name for p in monitor.folder.iterdir()}
    app = open_drift()
    app.file_uploader(key=f"drift_upload_{MODEL}").set_value(
        [("batch.csv", csv_rows(20, 3), "text/csv"), ("notes.txt", b"hello", "text/plain"),
         ("broken.csv", b"\x00\x01\x02", "text/csv")]
    )  # fmt: skip
    run_again(app)
    button(app, "Add to the watched folder").click()
    run_again(app)
    assert "1 file added to the watched folder, 2 refused." in texts(app)
    assert any(
        line.startswith("- notes.txt: ") and "this model reads tables" in line
        for line in texts(app).split("\n")
    )
    assert "- broken.csv: " in texts(app)
    added = {p.name for p in monitor.folder.iterdir()} - before
    assert len(added) == 1 and next(iter(added)).endswith(".csv")
    check = run_check_now(MODEL, trigger="manual")
    assert check.summary.state == "done" and "1 new file" in (check.summary.current or ""), check.summary
