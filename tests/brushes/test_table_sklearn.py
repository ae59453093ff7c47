"""Table brushes as scikit-learn transformers: in a Pipeline, through clone and cross-validation, with
``get_params``/``set_params`` and ``check_is_fitted``, giving what a recipe gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from canvascraft.brushes import get_brush
from canvascraft.brushes.table import TableBrush
from canvascraft.errors import RecipeError
from canvascraft.recipe.compose import compose

LABEL = "label"


def rows(count: int, seed: int, start: int = 0) -> pd.DataFrame:
    """Numeric columns with gaps, a category column and a label; the index does not start at 0."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "hue": rng.uniform(0, 360, count),
            "thickness": rng.gamma(2.0, 0.5, count),
            "medium": rng.choice(["oil", "acrylic", "watercolor"], count),
            LABEL: rng.choice(["pop", "minimalist"], count),
        },
        index=pd.RangeIndex(start, start + count),
    )
    frame.iloc[::5, frame.columns.get_loc("thickness")] = np.nan
    return frame


def recipe_output(train: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """What the recipe gives on ``other``: fitted on the training rows, state loaded for evaluation."""
    recipe = {
        "name": "gaps-then-scale",
        "modality": "table",
        "brushes": [
            {"brush": "impute_missing", "params": {"strategy": "median"}},
            {"brush": "standard_scale"},
        ],
    }
    state = compose(recipe, "train").fit(train, LABEL).state()
    evaluation = compose(recipe, "eval")
    evaluation.load_state(state)
    return evaluation.apply(other, seed=0)


def two_brushes() -> Pipeline:
    return Pipeline(
        [("impute", get_brush("impute_missing")(strategy="median")), ("scale", get_brush("standard_scale")())]
    )


def test_a_pipeline_of_brushes_fitted_on_training_rows_gives_what_the_recipe_gives() -> None:
    train, other = rows(40, seed=1), rows(15, seed=2, start=500)
    expected = recipe_output(train, other)

    # As scikit-learn users hold data: features in X, the target beside them.
    pipeline = two_brushes().fit(train.drop(columns=LABEL), train[LABEL])
    pd.testing.assert_frame_equal(pipeline.transform(other.drop(columns=LABEL)), expected.drop(columns=LABEL))

    # The label may also stay in the table, named to each step as a fit parameter: it passes untouched.
    labelled = two_brushes().fit(train, impute__label_column=LABEL, scale__label_column=LABEL)
    pd.testing.assert_frame_equal(labelled.transform(other), expected)
    pd.testing.assert_series_equal(labelled.transform(other)[LABEL], other[LABEL])


def test_fit_returns_the_brush_and_fit_transform_is_fit_then_transform() -> None:
    train = rows(30, seed=3)
    brush = get_brush("robust_scale")()
    assert brush.fit(train, label_column=LABEL) is brush
    pd.testing.assert_frame_equal(
        get_brush("robust_scale")().fit_transform(train, label_column=LABEL), brush.transform(train)
    )
    # transform(X) alone is the whole step: table brushes draw nothing.
    pd.testing.assert_frame_equal(brush.transform(train), brush(train))


def test_fitted_state_lives_in_attributes_ending_in_underscore_and_check_is_fitted_sees_it() -> None:
    for brush_class in (get_brush(name) for name in ("standard_scale", "impute_missing", "one_hot_encode")):
        brush = brush_class()
        before = set(vars(brush))
        with pytest.raises(NotFittedError):
            check_is_fitted(brush)
        brush.fit(rows(20, seed=4), label_column=LABEL)
        check_is_fitted(brush)
        learned = set(vars(brush)) - before
        assert learned and all(name.endswith("_") for name in learned), sorted(learned)


def test_get_params_and_set_params_drive_the_brush_inside_a_pipeline() -> None:
    train = rows(30, seed=5)
    pipeline = two_brushes()
    params = pipeline.get_params()
    assert params["scale__with_mean"] is True and params["impute__strategy"] == "median"

    pipeline.set_params(scale__with_mean=False).fit(train, scale__label_column=LABEL)
    out = pipeline.transform(train)
    assert out["hue"].mean() > 1.0, "not centred any more"
    np.testing.assert_allclose(out["hue"], train["hue"] / train["hue"].std(ddof=0), rtol=1e-12)

    with pytest.raises(RecipeError, match=r"standard_scale\.with_mean: must be true or false"):
        pipeline.set_params(scale__with_mean="no")
    with pytest.raises(RecipeError, match=r"standard_scale\.centre: unknown parameter"):
        pipeline["scale"].set_params(centre=True)
    assert pipeline["scale"].get_params()["with_mean"] is False, "a refused change changes nothing"


def test_changing_a_setting_forgets_the_fit_it_no_longer_matches() -> None:
    brush = get_brush("clip_outliers")().fit(rows(30, seed=6), label_column=LABEL)
    brush.set_params(quantiles=[0.01, 0.99])  # the same settings: still fitted
    check_is_fitted(brush)
    brush.set_params(quantiles=[0.2, 0.8])
    with pytest.raises(NotFittedError):
        check_is_fitted(brush)
    with pytest.raises(RecipeError, match="not fitted yet"):
        brush.transform(rows(5, seed=7))


@pytest.mark.parametrize("name", ["minmax_scale", "robust_scale", "one_hot_encode", "impute_missing"])
def test_clone_gives_an_unfitted_brush_with_the_same_settings(name: str) -> None:
    settings = {"minmax_scale": {"feature_range": [-1.0, 1.0]}, "one_hot_encode": {"columns": ["medium"]}}
    brush = get_brush(name)(**settings.get(name, {})).fit(rows(20, seed=8), label_column=LABEL)
    twin = clone(brush)
    assert type(twin) is type(brush) and twin is not brush
    assert twin.get_params() == brush.get_params()
    assert isinstance(twin, TableBrush) and not twin.is_fitted and brush.is_fitted


def test_cross_validation_fits_the_brushes_on_each_training_fold_only() -> None:
    """scikit-learn clones the pipeline per fold, so no fold's statistics leak into another."""
    table = rows(60, seed=9)
    features, target = table.drop(columns=LABEL), table[LABEL]
    model = Pipeline(
        [
            ("impute", get_brush("impute_missing")()),
            ("encode", get_brush("one_hot_encode")()),
            ("scale", get_brush("standard_scale")()),
            ("classify", LogisticRegression()),
        ]
    )
    scores = cross_val_score(model, features, target, cv=3)
    assert scores.shape == (3,) and np.isfinite(scores).all()
    assert not model["scale"].is_fitted, "cross-validation fits clones, never the pipeline it was given"
