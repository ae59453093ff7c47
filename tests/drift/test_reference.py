"""A watched model's drift reference is prepared once, stored in the workspace and reused by every check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from canvascraft.config import get_settings
from canvascraft.drift.checks import DriftCheckResult, run_check
from canvascraft.drift.metrics import numeric_drift
from canvascraft.drift.reference import StoredReference, reference_path
from canvascraft.gallery.registry import register, set_alias
from canvascraft.services.datasets import open_version, table_rows
from canvascraft.services.drift import save_monitor
from canvascraft.store.session import engine_for
from tests.conftest import TrainedTemplate, copy_trained, use_workspace

MODEL = "ref-table"


@pytest.fixture(scope="module")
def reference_workspace(
    trained_runs_template: TrainedTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return copy_trained(trained_runs_template, tmp_path_factory.mktemp("drift-reference") / "workspace")


@pytest.fixture
def table_model(
    reference_workspace: Path, trained_runs_template: TrainedTemplate, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """``ref-table@champion`` on the session's table run, freshly registered in a private workspace."""
    use_workspace(monkeypatch, reference_workspace)
    monkeypatch.setenv("CANVASCRAFT_DRIFT_SCHEDULES", "0")
    register(trained_runs_template.run_ids["table"], MODEL, alias="champion")
    yield f"{MODEL}@champion"
    engine_for(get_settings().db_url).dispose()
    get_settings.cache_clear()


def shifted_rows(folder: Path) -> Path:
    """A CSV of the sample table's rows with one numeric column moved far off."""
    rows = table_rows(open_version("sample-table"))
    rows["thickness_mm"] = rows["thickness_mm"] * 4 + 3
    folder.mkdir(parents=True, exist_ok=True)
    rows.to_csv(folder / "new.csv", index=False)
    return folder


def outcome(result: DriftCheckResult) -> dict[str, tuple[float, float | None, bool]]:
    """Every metric's value, p-value and verdict, and the reference size: what a user sees of a check."""
    found = {
        f"{feature}.{metric}": (r.value, r.p_value, r.drifted)
        for feature, metrics in result.results.items()
        for metric, r in metrics.items()
    }
    found["n_reference"] = (float(result.n_reference), None, False)
    return found


def hidden_training_items() -> Path:
    """Move the stored items aside (the training data can no longer be read); returns where they went."""
    blobs = get_settings().blob_dir
    aside = blobs.with_name("blobs-aside")
    blobs.rename(aside)
    return aside


def test_watching_a_model_stores_its_reference_and_checks_reuse_it(
    table_model: str, trained_runs_template: TrainedTemplate, tmp_path: Path
) -> None:
    run_id = trained_runs_template.run_ids["table"]
    path = reference_path(run_id)
    path.unlink(missing_ok=True)
    save_monitor(MODEL, source_kind="folder")
    assert path.is_file(), "watching a model prepares its drift reference"
    written = path.stat().st_mtime_ns
    folder = shifted_rows(tmp_path / "rows")
    first = run_check(table_model, str(folder))
    assert "thickness_mm" in first.drifted_features
    aside = hidden_training_items()
    try:
        # The training items cannot be read now: only the stored reference can give the same check.
        second = run_check(table_model, str(folder))
    finally:
        aside.rename(get_settings().blob_dir)
    assert outcome(second) == outcome(first)
    assert second.histograms["thickness_mm"] == first.histograms["thickness_mm"]
    assert path.stat().st_mtime_ns == written, "a check with a stored reference does not rebuild it"


def test_a_damaged_stored_reference_is_rebuilt(
    table_model: str, trained_runs_template: TrainedTemplate, tmp_path: Path
) -> None:
    folder = shifted_rows(tmp_path / "rows")
    before = run_check(table_model, str(folder))
    path = reference_path(trained_runs_template.run_ids["table"])
    for damage in (b"not a zip file", path.read_bytes()[: path.stat().st_size // 2]):
        path.write_bytes(damage)
        after = run_check(table_model, str(folder))
        assert outcome(after) == outcome(before)
        assert StoredReference.from_bytes(path.read_bytes()).rows == before.n_reference


def test_a_changed_run_gets_its_own_reference(
    table_model: str, trained_runs_template: TrainedTemplate, tmp_path: Path
) -> None:
    folder = shifted_rows(tmp_path / "rows")
    first_run, second_run = trained_runs_template.run_ids["table"], trained_runs_template.run_ids["median"]
    run_check(table_model, str(folder))
    # A file left at the new run's place for another run (a copied workspace, say) is not trusted.
    reference_path(second_run).write_bytes(reference_path(first_run).read_bytes())
    version = register(second_run, MODEL).version
    set_alias(MODEL, "champion", version)
    moved = run_check(table_model, str(folder))
    assert moved.run_id == second_run
    stored = StoredReference.from_bytes(reference_path(second_run).read_bytes())
    assert stored.key != StoredReference.from_bytes(reference_path(first_run).read_bytes()).key
    aside = hidden_training_items()
    try:
        again = run_check(table_model, str(folder))
    finally:
        aside.rename(get_settings().blob_dir)
    assert outcome(again) == outcome(moved)


def test_stored_reference_gives_the_same_results_as_the_raw_table() -> None:
    rng = np.random.default_rng(7)
    raw = pd.DataFrame(
        {
            "normal": rng.normal(size=500),
            "ties": rng.integers(0, 5, size=500).astype(float),
            "holes": np.where(rng.random(500) < 0.1, np.nan, rng.exponential(size=500)),
            "text": ["a"] * 500,
        }
    )
    raw.loc[3, "holes"] = np.inf
    current = pd.DataFrame({name: raw[name].sample(frac=1.0, random_state=1).to_numpy() for name in raw})
    current["normal"] += 0.3
    stored = StoredReference.from_bytes(StoredReference.from_frame(raw, "k").to_bytes())
    numeric = ["normal", "ties", "holes"]
    assert stored.finite_count("text") == 0 and stored.finite_count("missing") == 0
    ours = stored.numeric(numeric).compare(current[numeric])
    expected = numeric_drift(raw[numeric], current[numeric])
    assert ours == expected
    means, stds = stored.column_stats(numeric)
    coerced = raw.apply(pd.to_numeric, errors="coerce")[numeric]
    pd.testing.assert_series_equal(means, coerced.mean())
    pd.testing.assert_series_equal(stds, coerced.std())
