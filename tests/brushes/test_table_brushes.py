"""Table brushes: the brush contract, fit-on-train statistics, JSON state and the sample-table stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import MinMaxScaler, QuantileTransformer, RobustScaler, StandardScaler

from canvascraft.brushes import Brush, all_brushes, get_brush
from canvascraft.brushes.table import TableBrush
from canvascraft.data.sample import SAMPLE_TABLE_FILENAME, SAMPLE_TABLE_LABEL, write_sample_data
from canvascraft.errors import RecipeError
from canvascraft.testing.brushes import BrushContract

TABLE_BRUSHES = all_brushes("table")
LABEL = "label"
NUMERIC = ["hue", "thickness", "strokes"]


def make_table(rows: int = 12, seed: int = 0, start: int = 100) -> pd.DataFrame:
    """Numeric columns (one with gaps), a category column and a label; the index is not 0..n-1."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "hue": rng.uniform(0, 360, rows),
            "thickness": rng.gamma(2.0, 0.5, rows),
            "strokes": rng.poisson(200, rows),
            "medium": rng.choice(["oil", "acrylic", "watercolor"], rows),
            LABEL: rng.choice(["pop", "minimalist"], rows),
        },
        index=pd.RangeIndex(start, start + 2 * rows, 2),
    )
    frame.iloc[[1, rows // 2], frame.columns.get_loc("thickness")] = np.nan
    return frame


def round_trip(state: dict[str, Any]) -> dict[str, Any]:
    """What a recipe file gives back: strict JSON (no NaN or Infinity tokens)."""
    return json.loads(json.dumps(state, allow_nan=False))


@pytest.fixture(params=TABLE_BRUSHES, ids=lambda cls: cls.name)
def brush_class(request: pytest.FixtureRequest) -> type[Brush]:
    return request.param


class TestTableBrushContract(BrushContract):
    modality: ClassVar[str] = "table"

    def make_sample(self) -> pd.DataFrame:
        return make_table()

    def prepare(self, brush: Brush, sample: pd.DataFrame) -> Brush:
        assert isinstance(brush, TableBrush)
        return brush.fit(sample, label_column=LABEL)

    def assert_same_kind(self, brush: Brush, before: pd.DataFrame, after: pd.DataFrame) -> None:
        assert isinstance(after, pd.DataFrame)
        assert len(after) == len(before)
        pd.testing.assert_index_equal(after.index, before.index)
        pd.testing.assert_series_equal(after[LABEL], before[LABEL])
        if brush.name != "one_hot_encode":
            assert list(after.columns) == list(before.columns)

    def assert_equal(self, first: pd.DataFrame, second: pd.DataFrame) -> None:
        pd.testing.assert_frame_equal(first, second)


def test_every_table_brush_is_registered_and_deterministic() -> None:
    assert {cls.name for cls in TABLE_BRUSHES} == {
        "standard_scale",
        "minmax_scale",
        "robust_scale",
        "quantile_transform",
        "log_transform",
        "clip_outliers",
        "impute_missing",
        "one_hot_encode",
    }
    assert all(issubclass(cls, TableBrush) and not cls.augments for cls in TABLE_BRUSHES)


# --- fit on the training split only -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("standard_scale", StandardScaler()),
        ("minmax_scale", MinMaxScaler()),
        ("robust_scale", RobustScaler()),
        ("quantile_transform", QuantileTransformer(n_quantiles=30, random_state=0)),
    ],
)
def test_test_rows_are_scaled_with_training_statistics(name: str, reference: Any) -> None:
    train, test = make_table(30, seed=1), make_table(10, seed=2, start=1000)
    test[NUMERIC] = test[NUMERIC] * 3 + 50  # shifted, so statistics of the test rows would differ
    brush = get_brush(name)().fit(train, label_column=LABEL)
    out = brush(test)
    expected = reference.fit(train[NUMERIC].to_numpy(float)).transform(test[NUMERIC].to_numpy(float))
    np.testing.assert_allclose(out[NUMERIC].to_numpy(), expected, rtol=1e-12, atol=0)
    refitted = get_brush(name)().fit(test, label_column=LABEL)(test)
    assert not np.allclose(out[NUMERIC].to_numpy(), refitted[NUMERIC].to_numpy(), equal_nan=True)


def test_imputation_fills_test_gaps_with_the_training_mean() -> None:
    train, test = make_table(20, seed=3), make_table(6, seed=4, start=500)
    test["thickness"] = np.nan
    out = get_brush("impute_missing")().fit(train, label_column=LABEL)(test)
    np.testing.assert_allclose(out["thickness"], np.nanmean(train["thickness"]), rtol=1e-12)
    pd.testing.assert_series_equal(out["hue"], test["hue"])


def test_clip_bounds_are_training_quantiles() -> None:
    train, test = make_table(40, seed=5), make_table(5, seed=6, start=0)
    test.loc[0, "hue"], test.loc[2, "hue"] = -1000.0, 1000.0
    out = get_brush("clip_outliers")(quantiles=[0.1, 0.9]).fit(train, label_column=LABEL)(test)
    low, high = np.quantile(train["hue"], [0.1, 0.9])
    assert out.loc[0, "hue"] == low and out.loc[2, "hue"] == high
    assert out["thickness"].isna().sum() == test["thickness"].isna().sum()


# --- fitted state travels as JSON ---------------------------------------------------------------------

STATE_CASES = [(cls.name, {}) for cls in TABLE_BRUSHES] + [
    ("standard_scale", {"with_mean": False, "columns": ["hue", "strokes"]}),
    ("minmax_scale", {"feature_range": [-1.0, 1.0], "clip": True}),
    ("robust_scale", {"quantile_range": [10.0, 90.0], "unit_variance": True}),
    ("quantile_transform", {"output_distribution": "normal", "n_quantiles": 10}),
    ("log_transform", {"negatives": "offset"}),
    ("impute_missing", {"strategy": "median"}),
    ("impute_missing", {"strategy": "most_frequent", "columns": "all"}),
    ("impute_missing", {"strategy": "constant", "fill_value": -1.0, "columns": ["thickness", "medium"]}),
    ("one_hot_encode", {"columns": ["medium", "strokes"]}),
]


def new_rows() -> pd.DataFrame:
    """Rows the brushes never saw: gaps everywhere, values past the training range, an unseen category."""
    frame = make_table(6, seed=9, start=7)
    frame["strokes"] = frame["strokes"].astype(float)
    frame.loc[7, "hue"] = 9999.0
    frame.loc[9, ["hue", "strokes"]] = np.nan
    frame.loc[11, "medium"] = "tempera"
    frame.loc[13, "medium"] = None
    frame.loc[15, "thickness"] = 1e-9
    return frame


@pytest.mark.parametrize(
    ("name", "settings"), STATE_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(STATE_CASES)]
)
def test_state_round_trips_through_json_with_identical_output(name: str, settings: dict[str, Any]) -> None:
    train = make_table(25, seed=8)
    brush = get_brush(name)(**settings).fit(train, label_column=LABEL)
    state = round_trip(brush.get_state())
    restored = TableBrush.from_state(round_trip(brush.get_params()), state)
    assert type(restored) is type(brush) and restored.columns_ == brush.columns_
    rows = new_rows()
    pd.testing.assert_frame_equal(restored(rows), brush(rows), check_exact=True)
    unlabelled = rows.drop(columns=LABEL)  # inference rows come without a label
    pd.testing.assert_frame_equal(restored(unlabelled), brush(rows).drop(columns=LABEL), check_exact=True)
    assert round_trip(restored.get_state()) == state


def test_restored_one_hot_encodes_unseen_categories_as_zeros() -> None:
    brush = get_brush("one_hot_encode")().fit(make_table(), label_column=LABEL)
    restored = type(brush).from_state(brush.get_params(), round_trip(brush.get_state()))
    rows = new_rows()
    out = restored(rows)
    indicators = ["medium=acrylic", "medium=oil", "medium=watercolor"]
    assert list(out.columns) == ["hue", "thickness", "strokes", *indicators, LABEL]
    assert (out.loc[11, indicators] == 0).all()
    assert out.loc[9, f"medium={rows.loc[9, 'medium']}"] == 1.0


def test_restored_imputer_fills_gaps_with_the_saved_statistics() -> None:
    train = make_table(20, seed=3)
    brush = get_brush("impute_missing")(columns="all", strategy="most_frequent").fit(train, LABEL)
    restored = TableBrush.from_state(brush.get_params(), round_trip(brush.get_state()))
    out = restored(new_rows())
    assert not out.drop(columns=LABEL).isna().any().any()
    assert out.loc[13, "medium"] == train["medium"].mode()[0]
    assert out["medium"].dtype == new_rows()["medium"].dtype


def test_state_from_other_settings_or_brush_is_refused() -> None:
    state = get_brush("standard_scale")().fit(make_table(), LABEL).get_state()
    with pytest.raises(RecipeError, match="fitted with settings"):
        TableBrush.from_state({"with_mean": False}, state)
    other = get_brush("minmax_scale")()
    assert isinstance(other, TableBrush)
    with pytest.raises(RecipeError, match="belongs to 'standard_scale'"):
        other.set_state(state)
    damaged = {**state, "fitted": {"mean_": state["fitted"]["mean_"]}}
    with pytest.raises(RecipeError, match="damaged"):
        TableBrush.from_state({}, damaged)


# --- clear errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("brush_class", TABLE_BRUSHES, ids=lambda cls: cls.name)
def test_transform_before_fit_is_refused(brush_class: type[TableBrush]) -> None:
    brush = brush_class()
    with pytest.raises(RecipeError, match=rf"{brush_class.name} is not fitted.*training split first"):
        brush(make_table())
    with pytest.raises(RecipeError, match="training split first"):
        brush.get_state()


@pytest.mark.parametrize("brush_class", TABLE_BRUSHES, ids=lambda cls: cls.name)
def test_unknown_column_is_named_with_the_available_ones(brush_class: type[TableBrush]) -> None:
    brush = brush_class(columns=["hue", "pigment"])
    with pytest.raises(RecipeError, match=rf"{brush_class.name}: columns 'pigment' are not in.*'medium'"):
        brush.fit(make_table(), label_column=LABEL)
    assert not brush.is_fitted


def test_columns_missing_at_transform_time_are_named() -> None:
    brush = get_brush("standard_scale")().fit(make_table(), LABEL)
    with pytest.raises(RecipeError, match="'thickness' were there at fit time"):
        brush(make_table().drop(columns="thickness"))


@pytest.mark.parametrize("value", ["hue", [], ["hue", "hue"], [1], "categorical"])
def test_bad_columns_settings_are_refused_by_name(value: Any) -> None:
    with pytest.raises(RecipeError, match=r"standard_scale\.columns: (must|names a column)"):
        get_brush("standard_scale")(columns=value)


def test_wrong_kind_of_column_is_refused() -> None:
    with pytest.raises(RecipeError, match=r"standard_scale: needs numeric columns.*'medium'"):
        get_brush("standard_scale")(columns=["medium"]).fit(make_table(), LABEL)
    with pytest.raises(RecipeError, match=r"impute_missing: a mean needs numbers.*'medium'"):
        get_brush("impute_missing")(columns="all").fit(make_table(), LABEL)
    with pytest.raises(RecipeError, match=r"minmax_scale\.feature_range: low must be < high"):
        get_brush("minmax_scale")(feature_range=[1.0, 1.0])


def test_log_transform_refuses_negatives_or_offsets_them() -> None:
    train = make_table(10)
    train["hue"] = train["hue"] - 100
    with pytest.raises(RecipeError, match=r"log_transform: columns 'hue' have values below zero.*'offset'"):
        get_brush("log_transform")().fit(train, LABEL)
    with pytest.raises(RecipeError, match="below zero"):  # also at inference, after a clean fit
        get_brush("log_transform")().fit(make_table(), LABEL)(train)
    brush = get_brush("log_transform")(negatives="offset").fit(train, LABEL)
    test = train.copy()
    test.loc[test.index[0], "hue"] = train["hue"].min() - 50  # below anything seen in training
    out = brush(test)
    assert out["hue"].min() == 0.0 and out["hue"].iloc[0] == 0.0 and not out["hue"].isna().any()
    np.testing.assert_allclose(out["strokes"], np.log1p(train["strokes"]), rtol=1e-12)


# --- the label column ---------------------------------------------------------------------------------


@pytest.mark.parametrize("brush_class", TABLE_BRUSHES, ids=lambda cls: cls.name)
def test_label_column_is_never_changed(brush_class: type[TableBrush]) -> None:
    frame = make_table()
    frame[LABEL] = np.arange(len(frame)) % 3  # a numeric label, which "numeric" must still skip
    before = frame.copy()
    brush = brush_class().fit(frame, label_column=LABEL)
    assert LABEL not in brush.columns_
    pd.testing.assert_series_equal(brush(frame)[LABEL], before[LABEL])
    pd.testing.assert_frame_equal(frame, before)  # the input is not modified in place
    with pytest.raises(RecipeError, match="label column, which brushes never change"):
        brush_class(columns=["hue", LABEL]).fit(frame, label_column=LABEL)


def test_label_column_that_is_not_there_is_refused() -> None:
    with pytest.raises(RecipeError, match="label column 'stlye' is not in the table"):
        get_brush("standard_scale")().fit(make_table(), label_column="stlye")


# --- the real sample table ----------------------------------------------------------------------------


def test_sample_table_stack_gives_complete_numeric_features(tmp_path: Path) -> None:
    folder = write_sample_data(tmp_path)["sample-table"]
    table = pd.read_csv(folder / SAMPLE_TABLE_FILENAME)
    assert table["thickness_mm"].isna().any()
    train, test = table.iloc[:240], table.iloc[240:]
    stack = [get_brush(name)() for name in ("impute_missing", "one_hot_encode", "standard_scale")]
    fitted_on = train
    for brush in stack:
        assert isinstance(brush, TableBrush)
        fitted_on = brush.fit(fitted_on, label_column=SAMPLE_TABLE_LABEL)(fitted_on)
    restored = [TableBrush.from_state(b.get_params(), round_trip(b.get_state())) for b in stack]
    for brushes in (stack, restored):
        out = test
        for brush in brushes:
            out = brush(out)
        features = out.drop(columns=SAMPLE_TABLE_LABEL)
        assert not features.isna().any().any()
        assert all(pd.api.types.is_float_dtype(dtype) for dtype in features.dtypes)
        assert "medium=oil" in features.columns and "medium" not in features.columns
        pd.testing.assert_series_equal(out[SAMPLE_TABLE_LABEL], test[SAMPLE_TABLE_LABEL])
        pd.testing.assert_index_equal(out.index, test.index)
    np.testing.assert_allclose(fitted_on.drop(columns=SAMPLE_TABLE_LABEL).mean(), 0.0, atol=1e-12)
