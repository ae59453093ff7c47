"""``BrushContract``: the checks every registered brush must pass, whatever its modality.

A modality's test module subclasses it, says which brushes it covers and how to make a sample, and
adds its own checks; like Optuna's sampler test suite, a new brush is covered by registering it (and a
brush shipped elsewhere proves itself by inheriting this class in its own tests).
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import torch

from canvascraft.brushes import Brush, Param
from canvascraft.errors import RecipeError

DRAWS = 50
"""Seeds tried when checking that drawn values stay within their settings."""


def seeded(brush: Brush, sample: Any, seed: int) -> tuple[Any, dict[str, Any]]:
    """Apply ``brush`` with torch's RNG seeded as the recipe pipeline does; returns output and draws."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        drawn = brush.make_params(sample)
        return brush.transform(sample, drawn), drawn


def out_of_bounds(param: Param) -> Any | None:
    """A value just past the parameter's declared bounds, or None when it has none."""
    if param.kind in ("float", "int"):
        if param.maximum is not None:
            return param.maximum + 1
        if param.minimum is not None:
            return param.minimum - 1
    if param.kind in ("float_range", "int_range") and param.maximum is not None:
        return [param.default[0], param.maximum + 1]
    if param.kind == "choice":
        return "not-a-choice"
    return None


class BrushContract:
    """Subclasses set ``brush_class`` via pytest parametrization of the ``brush_class`` fixture and
    implement ``make_sample`` and ``assert_same_kind`` (dtype, shape or columns kept)."""

    modality: ClassVar[str]

    def make_sample(self) -> Any:
        raise NotImplementedError

    def assert_same_kind(self, brush: Brush, before: Any, after: Any) -> None:
        raise NotImplementedError

    def assert_equal(self, first: Any, second: Any) -> None:
        raise NotImplementedError

    def prepare(self, brush: Brush, sample: Any) -> Brush:
        """Hook for brushes that must be fitted first (table brushes)."""
        return brush

    def test_declares_what_the_page_and_schema_need(self, brush_class: type[Brush]) -> None:
        assert brush_class.modality == self.modality
        assert brush_class.name and brush_class.name == brush_class.name.lower()
        assert brush_class.summary.strip()
        for param in brush_class.params:
            assert param.help.strip(), f"{brush_class.name}.{param.name} has no help text"
            assert param.check(param.default) is not None or param.kind == "bool"

    def test_defaults_apply_and_keep_the_kind_of_data(self, brush_class: type[Brush]) -> None:
        sample = self.make_sample()
        brush = self.prepare(brush_class(), sample)
        after, _ = seeded(brush, sample, 0)
        self.assert_same_kind(brush, sample, after)

    def test_same_seed_same_result(self, brush_class: type[Brush]) -> None:
        sample = self.make_sample()
        brush = self.prepare(brush_class(), sample)
        first, drawn_first = seeded(brush, sample, 7)
        second, drawn_second = seeded(brush, sample, 7)
        self.assert_equal(first, second)
        assert repr(drawn_first) == repr(drawn_second)

    def test_drawn_values_stay_within_the_settings(self, brush_class: type[Brush]) -> None:
        """A value drawn for a range setting (``gain_db`` from ``gain_db: [-6, 6]``) lies inside it,
        over many seeds: the preview and training never apply what the user did not allow."""
        ranges = {p.name: p for p in brush_class.params if p.kind in ("float_range", "int_range")}
        if not ranges:
            return
        sample = self.make_sample()
        brush = self.prepare(brush_class(), sample)
        for seed in range(DRAWS):
            _, drawn = seeded(brush, sample, seed)
            for name, value in drawn.items():
                if name not in ranges:
                    continue
                low, high = brush.settings[name]
                values = value if isinstance(value, list | tuple) else [value]
                for one in values:
                    assert low - 1e-9 <= float(one) <= high + 1e-9, (
                        f"{brush_class.name} drew {name}={one} outside [{low}, {high}] (seed {seed})"
                    )

    def test_params_round_trip(self, brush_class: type[Brush]) -> None:
        brush = brush_class()
        again = brush_class(**brush.get_params())
        assert again.get_params() == brush.get_params()

    def test_out_of_bounds_values_are_refused_by_name(self, brush_class: type[Brush]) -> None:
        for param in brush_class.params:
            bad = out_of_bounds(param)
            if bad is None:
                continue
            with pytest.raises(RecipeError, match=rf"{brush_class.name}\.{param.name}: must"):
                brush_class(**{param.name: bad})

    def test_unknown_parameter_is_refused(self, brush_class: type[Brush]) -> None:
        with pytest.raises(RecipeError, match="unknown parameter"):
            brush_class(no_such_setting=1)
