"""Table brushes: scikit-learn transformers fitted on the training split only.

A table brush is fitted once on the training rows (``fit``) and then applied unchanged to
validation, preview and inference rows (``transform``), so no statistic leaks from held-out rows
into training. Each is a real scikit-learn transformer (``fit(X, y=None)`` returning the brush,
``transform(X)``, ``fit_transform``, ``get_params``/``set_params``, ``clone``, ``check_is_fitted``),
so it also works inside an ``sklearn.pipeline.Pipeline``. Where scikit-learn has the transformer,
the brush wraps it rather than re-implementing it. The fitted numbers travel with the recipe as plain
JSON (``get_state``/``set_state``), never as a pickle, because loading a recipe must not be able to
run code.
"""

from __future__ import annotations

import copy
import math
from typing import Any, ClassVar, Literal, Self, cast

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import (
    MinMaxScaler,
    OneHotEncoder,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)
from sklearn.utils import metadata_routing

from canvascraft.brushes.base import Brush, Modality, Param
from canvascraft.brushes.registry import get_brush, register
from canvascraft.errors import RecipeError, UnknownNameError

STATE_VERSION = 1
"""Bumped when the layout of ``get_state`` changes, so an old recipe is refused instead of misread."""

NUMERIC_COLUMNS = Param(
    "columns",
    "columns",
    "numeric",
    "Columns to act on: a list of names, or 'numeric' for every numeric column except the label.",
    choices=("numeric",),
)


def _is_numeric(dtype: Any) -> bool:
    # Booleans count as categories: scaling a yes/no flag would only blur it.
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _is_categorical(dtype: Any) -> bool:
    return (
        pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dtype)
    )


def _names(columns: list[Any]) -> str:
    return ", ".join(repr(c) for c in columns)


def _numeric(name: str, frame: pd.DataFrame, columns: list[Any]) -> np.ndarray:
    """The columns as one float64 array with NaN for every kind of missing value (NaN, None, pd.NA)."""
    try:
        return frame[columns].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise RecipeError([f"{name}: columns {_names(columns)} must hold numbers ({error})"]) from error


def _objects(frame: pd.DataFrame, columns: list[Any]) -> np.ndarray:
    """The columns as one object array with NaN as the only missing marker, which scikit-learn expects."""
    part = frame[columns].astype(object)
    return part.where(part.notna(), np.nan).to_numpy(dtype=object)


def _encode(value: Any) -> Any:
    """A fitted value in JSON form: arrays keep dtype and shape; NaN becomes None and ±inf a string.

    Python's float repr round-trips exactly, so decoded numbers are bit-identical to the fitted ones.
    """
    if isinstance(value, np.ndarray):
        numeric = value.dtype.kind in "fiub"
        values = []
        for item in value.ravel().tolist():
            if isinstance(item, np.generic):
                item = item.item()
            if isinstance(item, float) and math.isnan(item):
                item = None
            elif numeric and isinstance(item, float) and math.isinf(item):
                item = "inf" if item > 0 else "-inf"
            values.append(item)
        return {"dtype": value.dtype.name, "shape": list(value.shape), "values": values}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _decode(value: Any) -> Any:
    """Inverse of ``_encode``."""
    if not isinstance(value, dict):
        return value
    dtype = np.dtype(value["dtype"])
    items = value["values"]
    if dtype.kind == "O":
        array = np.empty(len(items), dtype=object)
        array[:] = [np.nan if v is None else v for v in items]
    else:
        array = np.array([np.nan if v is None else float(v) for v in items]).astype(dtype)
    return array.reshape(value["shape"])


class TableBrush(Brush, TransformerMixin, BaseEstimator):
    """Base of the table brushes: a step fitted on the training split, then applied to every split.

    Like a scikit-learn transformer, ``__init__`` only stores the settings and ``fit`` learns
    statistics into attributes ending in ``_``. ``columns`` picks what the brush acts on; the label
    column is never among them. Untouched columns pass through unchanged and in their order.
    Subclasses implement ``_fit_columns`` (learn from the chosen columns), ``_transform_columns``
    (apply to them) and ``_export_state``/``_restore_state`` (the fitted numbers as JSON); the base
    does the checks, so every brush words its errors the same way.

    ``Brush`` comes first among the bases, so its ``get_params``, ``set_params`` and ``repr`` (the
    declared settings) are the ones scikit-learn sees; ``TransformerMixin`` adds ``fit_transform``.
    """

    modality: ClassVar[Modality] = "table"
    augments: ClassVar[bool] = False
    accepts: ClassVar[Literal["numeric", "any"]] = "numeric"
    """Which dtypes a column named in an explicit ``columns`` list may have."""
    # ``transform``'s arguments are the data and the (empty) draw, not metadata a Pipeline routes.
    __metadata_request__transform: ClassVar[dict[str, Any]] = {
        "sample": metadata_routing.UNUSED,
        "drawn": metadata_routing.UNUSED,
    }

    columns_: list[Any]
    label_column_: str | None

    # --- the public API -----------------------------------------------------------------------------

    def fit(self, X: pd.DataFrame, y: Any = None, label_column: str | None = None) -> Self:
        """Learn the brush's statistics from the training split (never from validation or test rows).

        ``y`` is scikit-learn's target argument: a brush learns nothing from the target, so target
        values are ignored, while a string names the label column as ``label_column`` does (so
        ``fit(frame, "label")`` reads as it always has). In a Pipeline, pass ``<step>__label_column``.
        """
        if isinstance(y, str):
            if label_column is not None and label_column != y:
                raise RecipeError([f"{self.name}: two label columns given, {y!r} and {label_column!r}"])
            label_column = y
        frame = X
        self._check_frame(frame)
        self.__dict__.pop("columns_", None)  # a failed refit must leave the brush unfitted, not stale
        if len(frame) == 0:
            raise RecipeError([f"{self.name}: the training table has no rows to fit on"])
        if label_column is not None and label_column not in frame.columns:
            raise RecipeError(
                [
                    f"{self.name}: the label column {label_column!r} is not in the table; "
                    f"available: {_names(list(frame.columns))}"
                ]
            )
        columns = self._select(frame, label_column)
        if columns:
            try:
                self._fit_columns(frame, columns)
            except ValueError as error:  # scikit-learn's own checks on the data
                raise RecipeError([f"{self.name}: cannot fit on {_names(columns)}: {error}"]) from error
        self.columns_ = columns
        self.label_column_ = label_column
        return self

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "columns_")

    def __sklearn_is_fitted__(self) -> bool:
        """What ``sklearn.utils.validation.check_is_fitted`` asks."""
        return self.is_fitted

    def __sklearn_tags__(self) -> Any:
        """Tell scikit-learn's tools what the brushes take: gaps always, categories where they accept them."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = tags.input_tags.string = self.accepts == "any"
        return tags

    def __sklearn_clone__(self) -> Self:
        """An unfitted brush with the same settings, for scikit-learn's ``clone`` (searches, CV).

        scikit-learn's default clone insists that ``__init__`` keep each argument object as given;
        a brush keeps the checked, canonical form (a new list for a range), so the copy is built
        from the settings instead, carrying the routing and output configuration as ``clone`` does.
        """
        twin = type(self)(**copy.deepcopy(self.get_params()))
        for attribute in ("_metadata_request", "_sklearn_output_config"):
            if attribute in vars(self):
                setattr(twin, attribute, copy.deepcopy(getattr(self, attribute)))
        return twin

    def set_params(self, **params: Any) -> Self:
        """Change settings; a brush whose settings changed forgets its fit, which they no longer match."""
        before = self.get_params()
        super().set_params(**params)
        if self.get_params() != before:
            for attribute in [a for a in vars(self) if a.endswith("_") and not a.startswith("__")]:
                delattr(self, attribute)
        return self

    def check_input(self, sample: Any) -> None:
        """A fitted brush and a table holding the columns it was fitted on."""
        self._check_fitted()
        self._check_frame(sample)
        missing = [c for c in self.columns_ if c not in sample.columns]
        if missing:
            raise RecipeError(
                [
                    f"{self.name}: columns {_names(missing)} were there at fit time but are not in this "
                    f"table; available: {_names(list(sample.columns))}"
                ]
            )

    def transform(self, sample: pd.DataFrame, drawn: dict[str, Any]) -> pd.DataFrame:
        """Apply the fitted statistics; returns a new frame with the same rows and index.

        Table brushes draw nothing, so ``transform(X)`` alone is the whole step (as scikit-learn calls it).
        """
        if not self.columns_:
            return sample.copy()
        return self._transform_columns(sample)

    def get_state(self) -> dict[str, Any]:
        """The fitted state as JSON-ready data (lists, numbers, strings), to store beside the recipe."""
        self._check_fitted()
        return {
            "brush": self.name,
            "version": STATE_VERSION,
            "settings": self.get_params(),
            "columns": list(self.columns_),
            "label_column": self.label_column_,
            "fitted": self._export_state() if self.columns_ else {},
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what ``get_state`` saved; the settings must be the ones the state was fitted with."""
        if not isinstance(state, dict) or state.get("brush") != self.name:
            owner = state.get("brush") if isinstance(state, dict) else None
            raise RecipeError([f"{self.name}: this fitted state belongs to {owner!r}, not {self.name!r}"])
        if state.get("version") != STATE_VERSION:
            raise RecipeError(
                [
                    f"{self.name}: fitted state version {state.get('version')!r} is not "
                    f"{STATE_VERSION}; fit the brush again"
                ]
            )
        if state.get("settings") != self.get_params():
            raise RecipeError(
                [
                    f"{self.name}: the state was fitted with settings {state.get('settings')!r} but the "
                    f"brush has {self.get_params()!r}; fit it again"
                ]
            )
        self.__dict__.pop("columns_", None)
        try:
            columns = list(state["columns"])
            label_column = state["label_column"]
            if columns:
                self._restore_state(columns, state["fitted"])
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise RecipeError(
                [f"{self.name}: the saved fitted state is damaged ({error!r}); fit the brush again"]
            ) from error
        self.columns_ = columns
        self.label_column_ = label_column

    @classmethod
    def from_state(cls, settings: dict[str, Any], state: dict[str, Any]) -> TableBrush:
        """A fitted brush for inference; on ``TableBrush`` itself it builds the brush the state names."""
        target: type[Brush] = cls
        if getattr(cls, "name", None) is None:
            try:
                target = get_brush(str(state.get("brush")))
            except UnknownNameError as error:
                raise RecipeError([str(error)]) from None
            if not issubclass(target, cls):
                raise RecipeError([f"{target.name} is not a {cls.__name__}"])
        brush = cast(TableBrush, target(**settings))
        brush.set_state(state)
        return brush

    # --- hooks for subclasses -----------------------------------------------------------------------

    def _fit_columns(self, frame: pd.DataFrame, columns: list[Any]) -> None:
        raise NotImplementedError

    def _transform_columns(self, frame: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    def _export_state(self) -> dict[str, Any]:
        raise NotImplementedError

    def _restore_state(self, columns: list[Any], fitted: dict[str, Any]) -> None:
        raise NotImplementedError

    # --- shared checks ------------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise RecipeError([f"{self.name} is not fitted yet: fit it on the training split first"])

    def _check_frame(self, frame: Any) -> None:
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{self.name} works on a pandas DataFrame, got {type(frame).__name__}")
        if not frame.columns.is_unique:
            twice = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
            raise RecipeError([f"{self.name}: the table has more than one column named {', '.join(twice)}"])

    def _select(self, frame: pd.DataFrame, label_column: str | None) -> list[Any]:
        chosen = self.settings["columns"]
        if isinstance(chosen, str):
            in_group = {
                "numeric": _is_numeric,
                "categorical": _is_categorical,
                "all": lambda d: _is_numeric(d) or _is_categorical(d),
            }[chosen]
            return [c for c in frame.columns if c != label_column and in_group(frame[c].dtype)]
        missing = [c for c in chosen if c not in frame.columns]
        if missing:
            raise RecipeError(
                [
                    f"{self.name}: columns {_names(missing)} are not in the table; "
                    f"available: {_names(list(frame.columns))}"
                ]
            )
        if label_column in chosen:
            raise RecipeError(
                [
                    f"{self.name}: {label_column!r} is the label column, which brushes never change; "
                    "remove it from columns"
                ]
            )
        accept = _is_numeric if self.accepts == "numeric" else lambda d: _is_numeric(d) or _is_categorical(d)
        refused = [c for c in chosen if not accept(frame[c].dtype)]
        if refused:
            need = "numeric or categorical columns"
            if self.accepts == "numeric":
                need = "numeric columns (one_hot_encode categories first)"
            raise RecipeError([f"{self.name}: needs {need}; {_names(refused)} cannot be used"])
        return list(chosen)


class _NumericTableBrush(TableBrush):
    """A brush that maps numeric columns to numeric columns of the same names."""

    def _fit_columns(self, frame: pd.DataFrame, columns: list[Any]) -> None:
        self._fit_values(_numeric(self.name, frame, columns), columns)

    def _transform_columns(self, frame: pd.DataFrame) -> pd.DataFrame:
        values = self._apply(_numeric(self.name, frame, self.columns_))
        out = frame.copy()
        for index, column in enumerate(self.columns_):
            out[column] = values[:, index]
        return out

    def _fit_values(self, values: np.ndarray, columns: list[Any]) -> None:
        raise NotImplementedError

    def _apply(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class _SklearnScalerBrush(_NumericTableBrush):
    """Wraps one scikit-learn scaler; its state is the scaler's documented fitted attributes, which
    are all its ``transform`` reads, so setting them on a fresh scaler restores it exactly."""

    fitted_attributes: ClassVar[tuple[str, ...]]

    def build(self) -> Any:
        """The unfitted scikit-learn transformer, configured from the settings."""
        raise NotImplementedError

    def _fit_values(self, values: np.ndarray, columns: list[Any]) -> None:
        self.estimator_ = self.build().fit(values)

    def _apply(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(self.estimator_.transform(values), dtype=np.float64)

    def _export_state(self) -> dict[str, Any]:
        return {
            attribute: _encode(getattr(self.estimator_, attribute)) for attribute in self.fitted_attributes
        }

    def _restore_state(self, columns: list[Any], fitted: dict[str, Any]) -> None:
        estimator = self.build()
        for attribute in self.fitted_attributes:
            setattr(estimator, attribute, _decode(fitted[attribute]))
        if estimator.n_features_in_ != len(columns):
            raise ValueError(f"{estimator.n_features_in_} fitted features for {len(columns)} columns")
        self.estimator_ = estimator


@register
class StandardScale(_SklearnScalerBrush):
    name = "standard_scale"
    summary = "Centre each column on its training mean and divide by its spread (z-scores)."
    params = (
        NUMERIC_COLUMNS,
        Param("with_mean", "bool", True, "Subtract the training mean."),
        Param("with_std", "bool", True, "Divide by the training standard deviation."),
    )
    fitted_attributes = ("mean_", "var_", "scale_", "n_samples_seen_", "n_features_in_")

    def build(self) -> StandardScaler:
        return StandardScaler(with_mean=self.settings["with_mean"], with_std=self.settings["with_std"])


@register
class MinMaxScale(_SklearnScalerBrush):
    name = "minmax_scale"
    summary = "Stretch each column so its training minimum and maximum land on a chosen range."
    params = (
        NUMERIC_COLUMNS,
        Param("feature_range", "float_range", [0.0, 1.0], "Where the training min and max land.", -100, 100),
        Param("clip", "bool", False, "Clip new values that fall outside the training range."),
    )
    fitted_attributes = ("min_", "scale_", "data_min_", "data_max_", "data_range_", "n_samples_seen_")
    fitted_attributes += ("n_features_in_",)

    def setup(self) -> None:
        low, high = self.settings["feature_range"]
        if low == high:
            raise RecipeError([f"{self.name}.feature_range: low must be < high, got [{low:g}, {high:g}]"])

    def build(self) -> MinMaxScaler:
        return MinMaxScaler(feature_range=tuple(self.settings["feature_range"]), clip=self.settings["clip"])


@register
class RobustScale(_SklearnScalerBrush):
    name = "robust_scale"
    summary = "Centre on the training median and divide by a quantile range, so outliers barely matter."
    params = (
        NUMERIC_COLUMNS,
        Param(
            "quantile_range", "float_range", [25.0, 75.0], "Percentiles whose distance is the spread.", 0, 100
        ),
        Param("with_centering", "bool", True, "Subtract the training median."),
        Param("with_scaling", "bool", True, "Divide by the quantile range."),
        Param("unit_variance", "bool", False, "Rescale so normally distributed data ends with variance 1."),
    )
    fitted_attributes = ("center_", "scale_", "n_features_in_")

    def build(self) -> RobustScaler:
        s = self.settings
        return RobustScaler(
            with_centering=s["with_centering"],
            with_scaling=s["with_scaling"],
            quantile_range=tuple(s["quantile_range"]),
            unit_variance=s["unit_variance"],
        )


@register
class QuantileTransform(_SklearnScalerBrush):
    name = "quantile_transform"
    summary = "Map each column through its training ranks onto a uniform or bell-shaped spread."
    params = (
        NUMERIC_COLUMNS,
        Param(
            "n_quantiles",
            "int",
            1000,
            "Landmarks of the training distribution (capped at the row count).",
            10,
            10_000,
        ),
        Param(
            "output_distribution",
            "choice",
            "uniform",
            "Spread the values evenly over [0, 1] or along a standard normal bell.",
            choices=("uniform", "normal"),
        ),
    )
    fitted_attributes = ("n_quantiles_", "quantiles_", "references_", "n_features_in_")

    def build(self) -> QuantileTransformer:
        # random_state fixes which rows are subsampled on big tables, so refitting gives the same result.
        return QuantileTransformer(
            n_quantiles=self.settings["n_quantiles"],
            output_distribution=self.settings["output_distribution"],
            random_state=0,
        )

    def _fit_values(self, values: np.ndarray, columns: list[Any]) -> None:
        # Capping here avoids scikit-learn's warning on tables smaller than n_quantiles; it caps the same way.
        estimator = self.build().set_params(n_quantiles=min(self.settings["n_quantiles"], len(values)))
        self.estimator_ = estimator.fit(values)


@register
class LogTransform(_NumericTableBrush):
    name = "log_transform"
    summary = "Take log(1 + x) of each column, which tames long tails such as stroke counts."
    params = (
        NUMERIC_COLUMNS,
        Param(
            "negatives",
            "choice",
            "refuse",
            "Values below zero: refuse them, or shift each column so its training minimum becomes 0 "
            "(new values below it count as 0).",
            choices=("refuse", "offset"),
        ),
    )

    def _fit_values(self, values: np.ndarray, columns: list[Any]) -> None:
        if self.settings["negatives"] == "refuse":
            self._refuse_negatives(values, columns)
            self.offsets_ = np.zeros(values.shape[1])
        else:
            lowest = np.fmin.reduce(values, axis=0)  # ignores NaN; an all-missing column stays NaN
            self.offsets_ = np.where(lowest < 0, -lowest, 0.0)

    def _apply(self, values: np.ndarray) -> np.ndarray:
        if self.settings["negatives"] == "refuse":
            self._refuse_negatives(values, self.columns_)
        return np.log1p(np.maximum(values + self.offsets_, 0.0))

    def _refuse_negatives(self, values: np.ndarray, columns: list[Any]) -> None:
        negative = [c for c, bad in zip(columns, (values < 0).any(axis=0), strict=True) if bad]
        if negative:
            raise RecipeError(
                [
                    f"{self.name}: columns {_names(negative)} have values below zero, where the log is "
                    "undefined; set negatives to 'offset' to shift each column by its training minimum, "
                    "or leave those columns out"
                ]
            )

    def _export_state(self) -> dict[str, Any]:
        return {"offsets": _encode(self.offsets_)}

    def _restore_state(self, columns: list[Any], fitted: dict[str, Any]) -> None:
        offsets = np.asarray(_decode(fitted["offsets"]), dtype=np.float64)
        if offsets.shape != (len(columns),):
            raise ValueError(f"{offsets.shape[0]} offsets for {len(columns)} columns")
        self.offsets_ = offsets


@register
class ClipOutliers(_NumericTableBrush):
    name = "clip_outliers"
    summary = "Clip each column to the values at two training quantiles, so a stray value cannot dominate."
    params = (
        NUMERIC_COLUMNS,
        Param("quantiles", "float_range", [0.01, 0.99], "Training quantiles to clip below and above.", 0, 1),
    )

    def _fit_values(self, values: np.ndarray, columns: list[Any]) -> None:
        low, high = self.settings["quantiles"]
        lower = np.full(values.shape[1], -np.inf)
        upper = np.full(values.shape[1], np.inf)
        for index in range(values.shape[1]):
            present = values[:, index][~np.isnan(values[:, index])]
            if present.size:  # an all-missing column gets no bounds rather than NaN ones
                lower[index], upper[index] = np.quantile(present, [low, high])
        self.lower_, self.upper_ = lower, upper

    def _apply(self, values: np.ndarray) -> np.ndarray:
        return np.clip(values, self.lower_, self.upper_)

    def _export_state(self) -> dict[str, Any]:
        return {"lower": _encode(self.lower_), "upper": _encode(self.upper_)}

    def _restore_state(self, columns: list[Any], fitted: dict[str, Any]) -> None:
        lower = np.asarray(_decode(fitted["lower"]), dtype=np.float64)
        upper = np.asarray(_decode(fitted["upper"]), dtype=np.float64)
        if lower.shape != (len(columns),) or upper.shape != (len(columns),):
            raise ValueError(f"bounds do not match the {len(columns)} columns")
        self.lower_, self.upper_ = lower, upper


CATEGORICAL_FILL = "missing"
"""What the constant strategy writes into categorical columns (``fill_value`` is a number)."""


@register
class ImputeMissing(TableBrush):
    name = "impute_missing"
    summary = "Fill gaps with a value learnt from the training split (mean, median, most frequent)."
    accepts = "any"
    params = (
        Param(
            "columns",
            "columns",
            "numeric",
            "Columns to fill: a list of names, or 'numeric', 'categorical' or 'all' (never the label).",
            choices=("numeric", "categorical", "all"),
        ),
        Param(
            "strategy",
            "choice",
            "mean",
            "What fills a gap: the column's training mean, median or most frequent value, or a constant.",
            choices=("mean", "median", "most_frequent", "constant"),
        ),
        Param(
            "fill_value",
            "float",
            0.0,
            f"The constant for numeric columns (categorical columns get {CATEGORICAL_FILL!r}).",
        ),
    )

    def _imputer(self, numeric: bool) -> SimpleImputer:
        # keep_empty_features: a column with no value at fit time must still come out, not vanish.
        fill = self.settings["fill_value"] if numeric else CATEGORICAL_FILL
        return SimpleImputer(strategy=self.settings["strategy"], fill_value=fill, keep_empty_features=True)

    def _fit_columns(self, frame: pd.DataFrame, columns: list[Any]) -> None:
        numeric = [c for c in columns if _is_numeric(frame[c].dtype)]
        categorical = [c for c in columns if c not in numeric]
        strategy = self.settings["strategy"]
        if categorical and strategy in ("mean", "median"):
            raise RecipeError(
                [
                    f"{self.name}: a {strategy} needs numbers, but {_names(categorical)} hold categories; "
                    "use most_frequent or constant, or pick numeric columns"
                ]
            )
        self.numeric_columns_ = numeric
        self.categorical_columns_ = categorical
        self.numeric_imputer_ = (
            self._imputer(True).fit(_numeric(self.name, frame, numeric)) if numeric else None
        )
        self.categorical_imputer_ = (
            self._imputer(False).fit(_objects(frame, categorical)) if categorical else None
        )

    def _transform_columns(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        if self.numeric_imputer_ is not None:
            values = self.numeric_imputer_.transform(_numeric(self.name, frame, self.numeric_columns_))
            for index, column in enumerate(self.numeric_columns_):
                out[column] = values[:, index]
        if self.categorical_imputer_ is not None:
            values = self.categorical_imputer_.transform(_objects(frame, self.categorical_columns_))
            for index, column in enumerate(self.categorical_columns_):
                dtype = frame[column].dtype
                # pandas' string dtype survives filling; a categorical dtype might lack the fill value.
                out[column] = pd.Series(
                    values[:, index],
                    index=frame.index,
                    dtype=dtype if isinstance(dtype, pd.StringDtype) else object,
                )
        return out

    def _export_state(self) -> dict[str, Any]:
        groups = {"numeric": self.numeric_imputer_, "categorical": self.categorical_imputer_}
        columns = {"numeric": self.numeric_columns_, "categorical": self.categorical_columns_}
        return {
            group: {"columns": columns[group], "statistics": _encode(imputer.statistics_)}
            for group, imputer in groups.items()
            if imputer is not None
        }

    def _restore_state(self, columns: list[Any], fitted: dict[str, Any]) -> None:
        # Fitting a fresh imputer on one row made of the statistics reproduces them exactly (the mean,
        # median and mode of a single value are that value) without touching scikit-learn's internals.
        restored: dict[str, tuple[list[Any], SimpleImputer | None]] = {}
        for group in ("numeric", "categorical"):
            part = fitted.get(group)
            if part is None:
                restored[group] = ([], None)
                continue
            statistics = _decode(part["statistics"])
            row = np.asarray([statistics], dtype=np.float64 if group == "numeric" else object)
            if row.shape != (1, len(part["columns"])):
                raise ValueError(f"{row.shape[1]} {group} statistics for {len(part['columns'])} columns")
            restored[group] = (list(part["columns"]), self._imputer(group == "numeric").fit(row))
        if sorted(map(str, restored["numeric"][0] + restored["categorical"][0])) != sorted(map(str, columns)):
            raise ValueError("the imputed columns do not match the brush's columns")
        self.numeric_columns_, self.numeric_imputer_ = restored["numeric"]
        self.categorical_columns_, self.categorical_imputer_ = restored["categorical"]


@register
class OneHotEncode(TableBrush):
    name = "one_hot_encode"
    summary = "Turn each category column into yes/no columns, one per category seen in training."
    accepts = "any"
    params = (
        Param(
            "columns",
            "columns",
            "categorical",
            "Columns to encode: a list of names, or 'categorical' for every text or category column except "
            "the label.",
            choices=("categorical",),
        ),
    )

    def _encoder(self, categories: Any = "auto") -> OneHotEncoder:
        # handle_unknown="ignore": a category first seen at inference becomes all zeros, not an error.
        return OneHotEncoder(
            categories=categories, handle_unknown="ignore", sparse_output=False, dtype=np.float64
        )

    def _fit_columns(self, frame: pd.DataFrame, columns: list[Any]) -> None:
        self.encoder_ = self._encoder().fit(_objects(frame, columns))
        self.indicators_ = self._indicator_names(columns)
        kept = set(frame.columns) - set(columns)
        clashing = [n for names in self.indicators_ for n in names if n in kept]
        if clashing:
            raise RecipeError(
                [
                    f"{self.name}: the indicator columns {_names(clashing)} would overwrite columns of "
                    "the same names; rename those columns first"
                ]
            )

    def _indicator_names(self, columns: list[Any]) -> list[list[str]]:
        return [
            [f"{column}={'nan' if isinstance(v, float) and math.isnan(v) else v}" for v in categories]
            for column, categories in zip(columns, self.encoder_.categories_, strict=True)
        ]

    def _transform_columns(self, frame: pd.DataFrame) -> pd.DataFrame:
        encoded = self.encoder_.transform(_objects(frame, self.columns_))
        blocks: dict[Any, tuple[list[str], np.ndarray]] = {}
        start = 0
        for column, names in zip(self.columns_, self.indicators_, strict=True):
            blocks[column] = (names, encoded[:, start : start + len(names)])
            start += len(names)
        data: dict[Any, Any] = {}
        for column in frame.columns:
            if column in blocks:
                names, block = blocks[column]
                for index, indicator in enumerate(names):
                    if indicator in frame.columns and indicator not in blocks:
                        raise RecipeError(
                            [
                                f"{self.name}: the indicator column {indicator!r} would overwrite a "
                                "column of the same name; rename it first"
                            ]
                        )
                    data[indicator] = block[:, index]
            else:
                data[column] = frame[column].array  # arrays, not Series: no index alignment, dtypes kept
        return pd.DataFrame(data, index=frame.index)

    def _export_state(self) -> dict[str, Any]:
        return {"categories": [_encode(np.asarray(c, dtype=object)) for c in self.encoder_.categories_]}

    def _restore_state(self, columns: list[Any], fitted: dict[str, Any]) -> None:
        # Fitting with the saved categories given explicitly rebuilds exactly the fitted encoder
        # through scikit-learn's public API; one row of known values is all fit needs then.
        categories = [_decode(c) for c in fitted["categories"]]
        if len(categories) != len(columns) or not all(len(c) for c in categories):
            raise ValueError(f"{len(categories)} category lists for {len(columns)} columns")
        row = np.empty((1, len(categories)), dtype=object)
        row[0, :] = [c[0] for c in categories]
        self.encoder_ = self._encoder(categories).fit(row)
        self.indicators_ = self._indicator_names(columns)
