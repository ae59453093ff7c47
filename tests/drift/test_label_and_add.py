"""Label and add: a check's darker photos, most drifted first with the model's guesses, labelled into a new
version of the training dataset with some held back; the retrain on it is compared on both sets.

The module copies the session's trained workspace once and runs one real drift check of the tiny image
model on darker copies of sample photos (and one broken file); one retrain trains for real (1 epoch).
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from canvascraft.config import get_settings
from canvascraft.events.settings import save_alert_settings
from canvascraft.gallery.registry import register
from canvascraft.services import retrain as retrains
from canvascraft.services.datasets import item_bytes, open_version
from canvascraft.services.drift import run_check_now, save_monitor
from canvascraft.services.jobs import cancel_job
from canvascraft.store.session import engine_for
from canvascraft.training.data import item_split
from tests.conftest import TrainedTemplate, copy_trained, use_workspace
from tests.drift.test_drift_page import run_again

MODEL = "dark-photos"
DATASET = "sample-images"


def darker_photos(folder: Path, count: int = 10) -> dict[str, str]:
    """Darker PNG copies of the first sample photos of each label, some much darker than others;
    returns file name → the true label."""
    view = open_version(DATASET)
    by_label: dict[str, list] = {}
    for item in view.items:
        by_label.setdefault(str(item.label), []).append(item)
    chosen = [item for group in zip(*by_label.values(), strict=False) for item in group][:count]
    truth = {}
    folder.mkdir(parents=True, exist_ok=True)
    for index, item in enumerate(chosen):
        factor = 0.05 if index % 2 else 0.6
        with Image.open(io.BytesIO(item_bytes(item.sha256))) as image:
            dark = image.convert("RGB").point(lambda value, f=factor: int(value * f))
        name = f"dark-{index:02d}.png"
        dark.save(folder / name)
        truth[name] = str(item.label)
    (folder / "broken.png").write_bytes(b"not a picture at all")
    return truth


@pytest.fixture(scope="module")
def labelled_template(
    trained_runs_template: TrainedTemplate, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, int, dict[str, str]]:
    """A workspace with ``dark-photos@champion`` watched on its folder and one finished check of it."""
    path = copy_trained(trained_runs_template, tmp_path_factory.mktemp("label-add") / "workspace")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CANVASCRAFT_POOL_TICK_S", "0")
        patch.setenv("CANVASCRAFT_DRIFT_SCHEDULES", "0")
        use_workspace(patch, path)
        register(trained_runs_template.run_ids["image"], MODEL, alias="champion")
        monitor = save_monitor(MODEL, source_kind="folder")
        truth = darker_photos(monitor.folder)
        check = run_check_now(MODEL, trigger="manual")
        engine_for(get_settings().db_url).dispose()
    get_settings.cache_clear()
    assert check.summary.state == "done" and check.summary.drifted, check.summary
    return path, check.summary.id, truth


@pytest.fixture
def labelled(
    labelled_template: tuple[Path, int, dict[str, str]], workspace: Path
) -> tuple[int, dict[str, str]]:
    shutil.copytree(labelled_template[0], workspace)
    return labelled_template[1], labelled_template[2]


def test_a_checks_items_come_most_drifted_first_with_the_models_guess(labelled: tuple[int, dict]) -> None:
    check_id, truth = labelled
    found = retrains.check_items(check_id)
    assert found.dataset == DATASET and found.model_ref == f"{MODEL}/1"
    assert found.latest_version == found.trained_version  # nothing added yet
    names = [item.name for item in found.items]
    assert sorted(names) == sorted(truth)
    scores = [item.score for item in found.items]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]
    assert [name for name, _ in found.ranked.skipped] == ["broken.png"]  # listed, not lost
    assert found.ranked.measure == "embedding"
    assert set(found.ranked.classes) >= set(truth.values())
    for item in found.items:
        assert item.guess in found.ranked.classes and 0 < item.confidence <= 1
        assert item.picture and item.picture.startswith(b"\x89PNG")
    # The much darker half is farther from training than the slightly darker half, on the whole.
    much = [item.score for item in found.items if int(item.name[5:7]) % 2]
    less = [item.score for item in found.items if not int(item.name[5:7]) % 2]
    assert sum(much) / len(much) > sum(less) / len(less)
    # Bulk accept takes the guess of every item at least that sure, and no other.
    sure = retrains.guesses_above(found.items, 0.0)
    assert sure == {item.name: item.guess for item in found.items}
    assert retrains.guesses_above(found.items, 1.01) == {}


def test_labels_make_a_new_version_with_held_back_items_and_a_retrain_compares_both(
    labelled: tuple[int, dict],
) -> None:
    check_id, truth = labelled
    save_alert_settings(MODEL, ask_first=False)  # decide at once, so the rule below is what moved
    advice = retrains.retrain_advice(f"{MODEL}@champion")
    assert advice.same_data and advice.unlabelled_check == check_id
    before = open_version(DATASET)
    labels: dict[str, str | None] = dict(truth)
    skipped_one = sorted(truth)[0]
    labels[skipped_one] = None  # skipped: stays out
    report = retrains.apply_labels(check_id, labels)
    assert report.version == before.version.number + 1 and not report.unchanged
    assert sorted(report.added) == sorted(n for n in truth if n != skipped_one)
    after = open_version(DATASET)
    added = {item.name: item for item in after.items if item.name not in {i.name for i in before.items}}
    assert {(name.split("/")[0], name.split("/")[1]) for name in added} == {
        (truth[n], n) for n in report.added
    }
    assert len(after.items) == len(before.items) + len(report.added)
    held = {name for name, item in added.items() if item.held_back == report.version}
    assert held == {f"{truth[n]}/{n}" for n in report.held_back}
    counts: dict[str, int] = {}
    for name in report.added:
        counts[truth[name]] = counts.get(truth[name], 0) + 1
    assert {truth[n] for n in report.held_back} == {label for label, n in counts.items() if n >= 2}
    assert report.held_back == retrains.choose_held_back({n: truth[n] for n in report.added})  # by seed
    # Training never sees the held-back items, and always validates them.
    train, val, _ = item_split(after, 0.2, 0, None)
    held_index = {i for i, item in enumerate(after.items) if item.held_back}
    assert held_index <= set(val) and not held_index & set(train)
    advice = retrains.retrain_advice(f"{MODEL}@champion")
    assert not advice.same_data and advice.unlabelled_check is None

    retrain_id = retrains.request_retrain(
        f"{MODEL}@champion", "labelled", check_id=check_id, dataset_version=report.version
    )
    assert retrain_id is not None
    view = retrains.wait_for_retrain(retrain_id, timeout_s=300)
    assert view.state in (retrains.PROMOTED, retrains.KEPT), view.words
    assert view.dataset == DATASET and view.dataset_version == report.version
    assert view.n_new == len(report.held_back) and view.n_old > 0
    assert view.new_base_metric is not None and view.new_candidate_metric is not None
    assert view.base_metric is not None and view.candidate_metric is not None
    compared = retrains.side_by_side(retrain_id, limit=100)
    assert {item.name for item in compared.new_items} == held
    assert all(item.new for item in compared.new_items) and not any(item.new for item in compared.items)
    better = retrains.is_better(
        view.candidate_metric, view.base_metric,
        new_candidate=view.new_candidate_metric, new_base=view.new_base_metric,
    )  # fmt: skip
    assert (view.state == retrains.PROMOTED) is better


def test_the_decision_weighs_the_new_items() -> None:
    # Much better on the new items, a little worse on the old: the candidate wins.
    assert retrains.is_better(0.88, 0.90, new_candidate=0.8, new_base=0.3)
    # Better on the new items but losing more than the limit on the old: it does not.
    assert not retrains.is_better(0.80, 0.90, new_candidate=1.0, new_base=0.0)
    # A tie on the weighed score keeps the current version.
    assert not retrains.is_better(0.9, 0.9, new_candidate=0.5, new_base=0.5)
    # Without new items the rule is the old one.
    assert retrains.is_better(0.91, 0.9) and not retrains.is_better(0.9, 0.9)


def test_labels_are_checked_and_a_dataset_check_has_nothing_to_label(labelled: tuple[int, dict]) -> None:
    check_id, truth = labelled
    with pytest.raises(retrains.RetrainError, match="slash"):
        retrains.apply_labels(check_id, {sorted(truth)[0]: "cats/dogs"})
    with pytest.raises(retrains.RetrainError, match="no item has a label"):
        retrains.apply_labels(check_id, dict.fromkeys(truth))
    with pytest.raises(retrains.RetrainError, match="did not read"):
        retrains.apply_labels(check_id, {"elsewhere.png": "x"})
    with pytest.raises(retrains.RetrainError, match="no drift check"):
        retrains.check_items(99999)


APP = str(Path(__file__).resolve().parents[2] / "app.py")


def open_drift() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    app.context["url"] = "http://studio.test:8501/drift"
    app.query_params["model"] = MODEL
    app.switch_page("pages/drift.py")
    return run_again(app)


def click(app: AppTest, label: str) -> AppTest:
    found = [b for b in app.button if b.label.startswith(label)]
    assert found, [b.label for b in app.button]
    found[0].click()
    return run_again(app)


def shown(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += [e.value for e in app.error] + [s.value for s in app.success] + [w.value for w in app.warning]
    parts += [h.value for h in app.subheader]
    return "\n".join(parts + [i.value for i in app.info])


def test_the_page_flow_from_a_check_to_a_retrain_on_the_new_version(labelled: tuple[int, dict]) -> None:
    check_id, truth = labelled
    app = open_drift()
    # Retrain now on the unlabelled check says it would learn nothing new and offers labelling.
    app = click(app, "Retrain now")
    assert "learns nothing new" in shown(app)
    assert retrains.list_retrains(MODEL) == []  # nothing started silently
    app = click(app, f"Label and add check #{check_id}")
    assert f"Label and add · check #{check_id}" in shown(app)
    assert "most drifted first" in shown(app)
    app = click(app, "Accept those guesses")
    before = open_version(DATASET).version.number
    app = click(app, f"Add {len(truth)} labelled items as a new version")
    assert f"added to {DATASET} as version {before + 1}" in shown(app)
    after = open_version(DATASET)
    assert after.version.number == before + 1
    assert sum(item.held_back == before + 1 for item in after.items) >= 1
    # Nothing was corrected, so every file joined under the model's guess, its default label.
    guesses = {item.name: item.guess for item in retrains.check_items(check_id).items}
    added = {i.name.split("/", 1)[1]: i.label for i in after.items if i.name.split("/", 1)[-1] in guesses}
    assert added == guesses
    app = click(app, f"Retrain on v{before + 1}")
    (view,) = retrains.list_retrains(MODEL)
    assert view.dataset_version == before + 1 and view.check_id == check_id
    assert f"started on {DATASET} v{before + 1}" in shown(app)
    cancel_job(view.job_id)  # type: ignore[arg-type]  # the real retrain is the core test's


def test_clips_are_ranked_too_with_a_player_and_a_waveform(
    labelled: tuple[int, dict], trained_runs_template: TrainedTemplate
) -> None:
    from canvascraft.drift.items import rank_files

    register(trained_runs_template.run_ids["audio"], "clips", alias="champion")
    view = open_version("sample-audio")
    files = [(item.name.rsplit("/", 1)[-1], item_bytes(item.sha256)) for item in view.items[:4]]
    files.append(("broken.wav", b"RIFF but not really"))
    ranked = rank_files("clips/1", files)
    assert ranked.modality == "audio" and [name for name, _ in ranked.skipped] == ["broken.wav"]
    assert len(ranked.items) == 4
    assert [i.score for i in ranked.items] == sorted((i.score for i in ranked.items), reverse=True)
    for item in ranked.items:
        assert item.audio in dict(files).values() and item.picture and item.picture.startswith(b"\x89PNG")
        assert item.guess in ranked.classes


def test_auto_retrain_waits_for_the_new_files_to_be_labelled(
    labelled: tuple[int, dict], caplog: pytest.LogCaptureFixture
) -> None:
    """Drift from new files nobody labelled: an automatic retrain would relearn the same version, so
    it waits, saying what to do; once the files are added, drift retrains on the new version."""
    from canvascraft.events.observers.retrain import on_event
    from canvascraft.events.types import DriftDetected

    check_id, truth = labelled
    save_alert_settings(MODEL, auto_retrain=True, cooldown_s=0)
    found = DriftDetected(
        model_name=MODEL, model_ref=f"{MODEL}@champion", model_version=1, check_id=check_id,
        drifted_features=("brightness",), sentences=("New photos are darker",), link="",
    )  # fmt: skip
    with caplog.at_level("WARNING", logger="canvascraft.events.observers.retrain"):
        assert on_event(found) is None
    assert retrains.list_retrains(MODEL) == []
    assert f"label and add check {check_id}'s" in caplog.text and "would learn nothing new" in caplog.text

    version = retrains.apply_labels(check_id, truth).version
    retrain_id = on_event(found)
    assert retrain_id is not None
    started = retrains.get_retrain(retrain_id)
    assert started.dataset_version == version, "the retrain trains on the version with the new files"
    cancel_job(started.job_id)  # type: ignore[arg-type]
