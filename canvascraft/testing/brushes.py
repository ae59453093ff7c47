"""``BrushContract``: the checks every registered brush must pass, whatever its modality.

A modality's test module subclasses it, says which brushes it covers and how to make a sample, and
adds its own checks; like Optuna's sampler test suite, a new brush is covered by registering it (and a
brush shipped elsewhere proves itself by inheriting this class in its own tests). Besides the
settings (bounds, round trips) and the data (kind kept, seeds reproduce, draws within the settings),
it checks the one brush shape: ``make_params``/``transform`` behind the base's checks, a ``transform``
that draws nothing, and the probability gate (``p = 0`` never applies, ``p = 1`` always does).
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import torch

from canvascraft.brushes import Brush, Param
from canvascraft.brushes.base import APPLIED
from canvascraft.errors import RecipeError

DRAWS = 50
"""Seeds tried when checking that drawn values stay within their settings."""

GATE_SEEDS = 12
"""Seeds tried when checking the probability gate."""


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

    def gated(self, brush_class: type[Brush], p: float, sample: Any) -> Brush:
        """The brush with its probability gate set to ``p``, prepared for ``sample``."""
        assert brush_class.gate_param is not None
        return self.prepare(brush_class(**{brush_class.gate_param: p}), sample)

    def test_has_the_one_brush_shape(self, brush_class: type[Brush]) -> None:
        """``make_params`` and ``transform`` run behind the base's input check and gate, and calling
        a brush is the two in a row: preview, training and logs all see the same steps."""
        assert brush_class.__call__ is Brush.__call__, f"{brush_class.name} overrides __call__"
        for method in ("make_params", "transform"):
            hook = getattr(getattr(brush_class, method), "hook", None)
            assert callable(hook), f"{brush_class.name}.{method} bypasses the base class's checks"
        gates = [p.name for p in brush_class.params if p.gate]
        assert gates == ([brush_class.gate_param] if brush_class.gate_param else [])
        named_p = [p for p in brush_class.params if p.name == "p"]
        assert all(p.gate for p in named_p), f"{brush_class.name}.p is a probability: declare probability()"

    def test_transform_draws_nothing(self, brush_class: type[Brush]) -> None:
        """The same drawn values give the same output whatever the RNG's state: a logged draw replays."""
        sample = self.make_sample()
        settings = {brush_class.gate_param: 1.0} if brush_class.gate_param else {}
        brush = self.prepare(brush_class(**settings), sample)
        expected, drawn = seeded(brush, sample, 3)
        for seed in (0, 1):
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self.assert_equal(brush.transform(sample, drawn), expected)

    def test_probability_zero_leaves_the_input_unchanged(self, brush_class: type[Brush]) -> None:
        if brush_class.gate_param is None:
            return
        sample = self.make_sample()
        brush = self.gated(brush_class, 0.0, sample)
        for seed in range(GATE_SEEDS):
            out, drawn = seeded(brush, sample, seed)
            assert drawn == {APPLIED: False}
            assert out is sample, f"{brush_class.name} with p=0 changed the item (seed {seed})"

    def test_probability_one_always_applies(self, brush_class: type[Brush]) -> None:
        """With p = 1 every item gets the brush's own effect, with the draws it makes ungated: the
        gate takes one number first (as v2's random-apply transforms do) and changes nothing else."""
        if brush_class.gate_param is None:
            return
        sample = self.make_sample()
        brush = self.gated(brush_class, 1.0, sample)
        own_make_params = type(brush).make_params.hook  # type: ignore[attr-defined]
        own_transform = type(brush).transform.hook  # type: ignore[attr-defined]
        for seed in range(GATE_SEEDS):
            out, drawn = seeded(brush, sample, seed)
            assert drawn[APPLIED] is True, f"{brush_class.name} with p=1 skipped an item (seed {seed})"
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                torch.rand(1)
                own = own_make_params(brush, sample)
            assert repr({k: v for k, v in drawn.items() if k != APPLIED}) == repr(own)
            self.assert_equal(out, own_transform(brush, sample, own))

    def test_probability_gate_is_drawn_per_item(self, brush_class: type[Brush]) -> None:
        """With p = 0.5 some seeds apply the brush and others skip it."""
        if brush_class.gate_param is None:
            return
        sample = self.make_sample()
        brush = self.gated(brush_class, 0.5, sample)
        outcomes = set()
        for seed in range(4 * GATE_SEEDS):
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                outcomes.add(brush.make_params(sample)[APPLIED])
        assert outcomes == {True, False}

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
