"""Recipes: validation with every error in its place, YAML round trips, seeded pipelines, table
fitting and saved state, the recipe store on SQLite and PostgreSQL, and the starter recipes."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import torch
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from canvascraft.brushes import Brush, Param, all_brushes, get_brush, register, registry
from canvascraft.config import get_settings
from canvascraft.errors import RecipeError
from canvascraft.recipe import STARTER_RECIPES, BrushStep, Recipe, from_yaml, to_yaml, validate_recipe
from canvascraft.recipe import library as recipe_service
from canvascraft.recipe.compose import compose, item_seed, to_jsonable
from canvascraft.recipe.spec import MAX_SEED, NAME_PATTERN
from canvascraft.services.recipes import (
    duplicate_recipe,
    ensure_starter_recipes,
    export_recipe,
    import_recipe_text,
    list_recipes,
    load_recipe,
    recipe_versions,
    save_recipe,
)
from canvascraft.store.migrate import alembic_config, upgrade
from canvascraft.store.models import Base, RecipeVersion
from canvascraft.store.session import engine_for, open_session

# Throwaway brushes, registered only inside the tests that use them (see the ``throwaway`` fixture).


class FakeGain(Brush):
    name = "test_recipe_gain"
    modality = "audio"
    summary = "Louder or softer (test brush)."
    params = (Param("gain_db", "float", 0.0, "Gain in dB.", -20.0, 20.0),)

    def transform(self, sample: Any, drawn: dict[str, Any]) -> Any:
        return sample * 10 ** (self.settings["gain_db"] / 20)


class Invert(Brush):
    """A deterministic image brush: kept by the eval stage."""

    name = "test_recipe_invert"
    modality = "image"
    summary = "Invert the tones (test brush)."
    augments = False

    def transform(self, sample: Any, drawn: dict[str, Any]) -> Any:
        return 255 - sample


class Grain(Brush):
    """Draws a whole noise field, like the real noise brushes: its log entry must stay small."""

    name = "test_recipe_grain"
    modality = "image"
    summary = "Noise (test brush)."

    def make_params(self, sample: Any) -> dict[str, Any]:
        return {"noise": torch.randn(sample.shape), "strength": torch.rand(())}

    def transform(self, sample: Any, drawn: dict[str, Any]) -> Any:
        return sample


class Counted(Brush):
    """Counts how many times it runs, to prove a bad recipe is never half-applied."""

    name = "test_recipe_counted"
    modality = "image"
    summary = "Counts its instances (test brush)."
    built: ClassVar[int] = 0

    def transform(self, sample: Any, drawn: dict[str, Any]) -> Any:
        type(self).built += 1
        return sample


class Shift(Brush):
    """A learning table brush: subtracts the column means seen at fit time."""

    name = "test_recipe_shift"
    modality = "table"
    summary = "Centre numeric columns (test brush)."
    augments = False
    params = (Param("extra", "float", 0.0, "Added after centring.", -100.0, 100.0),)

    def setup(self) -> None:
        self.means_: dict[str, float] | None = None

    def fit(self, frame: pd.DataFrame, label_column: str | None) -> Shift:
        columns = [c for c in frame.columns if c != label_column]
        self.means_ = {c: float(frame[c].mean()) for c in columns}
        return self

    def get_state(self) -> dict[str, Any]:
        return {"means": self.means_}

    def set_state(self, state: dict[str, Any]) -> None:
        self.means_ = dict(state["means"])

    def transform(self, sample: pd.DataFrame, drawn: dict[str, Any]) -> pd.DataFrame:
        assert self.means_ is not None, "not fitted"
        out = sample.copy()
        for column, mean in self.means_.items():
            out[column] = out[column] - mean + self.settings["extra"]
        return out


class Witness(Shift):
    """Records the means it was fitted on: they show what the steps before it handed over."""

    name = "test_recipe_witness"

    def transform(self, sample: pd.DataFrame, drawn: dict[str, Any]) -> pd.DataFrame:
        return sample


class Opaque(Shift):
    """A learning brush whose state is not JSON data: saving it must fail loudly."""

    name = "test_recipe_opaque"

    def get_state(self) -> dict[str, Any]:
        return {"object": object()}


THROWAWAY = (FakeGain, Invert, Grain, Counted, Shift, Witness, Opaque)


@pytest.fixture
def throwaway() -> Iterator[None]:
    for brush in THROWAWAY:
        register(brush)
    yield
    for brush in THROWAWAY:
        registry.unregister(brush.name)


def image_recipe(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "sketchbook",
        "modality": "image",
        "seed": 3,
        "brushes": [
            {"brush": "random_resized_crop", "params": {"size": 16}},
            {"brush": "horizontal_flip"},
        ],
    }
    return {**data, **changes}


def picture(seed: int = 0, shape: tuple[int, ...] = (3, 24, 20)) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator)


def errors_of(data: Any) -> list[str]:
    with pytest.raises(RecipeError) as caught:
        validate_recipe(data)
    return caught.value.errors


# Validation


def test_a_valid_recipe_comes_back_canonical() -> None:
    recipe = validate_recipe(image_recipe(name="  sketchbook  "))

    assert recipe.name == "sketchbook"
    assert recipe.seed == 3 and recipe.description == ""
    assert [step.brush for step in recipe.brushes] == ["random_resized_crop", "horizontal_flip"]
    assert all(step.enabled for step in recipe.brushes)
    assert recipe.brushes[0].params == {"size": 16, "scale": [0.6, 1.0], "ratio": [0.75, 1.333]}
    assert recipe.brushes[1].params == {"p": 0.5}


def test_recipes_that_mean_the_same_compare_equal() -> None:
    short = validate_recipe(image_recipe())
    spelled_out = validate_recipe(
        image_recipe(
            brushes=[
                {"brush": "random_resized_crop", "enabled": True,
                 "params": {"ratio": [0.75, 1.333], "size": 16.0, "scale": (0.6, 1)}},
                {"brush": "horizontal_flip", "params": {"p": 0.5}},
            ]
        )
    )  # fmt: skip

    assert short == spelled_out
    assert isinstance(spelled_out.brushes[0].params["size"], int)
    assert validate_recipe(short) == short, "validating a canonical recipe changes nothing"
    assert validate_recipe(image_recipe(seed=4)) != short


def test_every_error_is_reported_at_once_with_its_place(throwaway: None) -> None:
    data = image_recipe(
        brushes=[
            {"brush": "random_resized_crop", "params": {"sizee": 32}},
            {"brush": "horizontal_flp"},
            {"brush": "random_resized_crop", "params": {"size": 2000, "scale": [0.9, 0.1]}},
            {"brush": "test_recipe_gain"},
            {"brush": "horizontal_flip", "enabled": False, "params": {"p": 2}},
        ]
    )

    errors = errors_of(data)

    assert errors[0] == "brushes[0].sizee: unknown parameter; known: size, scale, ratio"
    assert errors[1].startswith(
        "brushes[1].brush: unknown brush 'horizontal_flp'; did you mean horizontal_flip"
    )
    assert errors[2:] == [
        "brushes[2].size: must be <= 1024, got 2000",
        "brushes[2].scale: low must be <= high, got [0.9, 0.1]",
        "brushes[3].brush: 'test_recipe_gain' is an audio brush, but this recipe is for image data",
        "brushes[4].p: must be <= 1, got 2",
    ]


def test_unknown_brush_suggestions_come_from_the_recipes_own_modality(throwaway: None) -> None:
    [error] = errors_of(image_recipe(brushes=[{"brush": "test_recipe_invertt"}]))

    assert error.startswith(
        "brushes[0].brush: unknown brush 'test_recipe_invertt'; did you mean test_recipe_invert"
    )
    assert "test_recipe_gain" not in error, "an audio brush is no use in an image recipe"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"name": None}, "name: must be text, got None"),
        ({"name": "a/b"}, "name: use 1–120 letters, digits, spaces, '-', '_' or '.', starting with a letter "
                          "or digit, got 'a/b'"),
        ({"name": "x" * 121}, "name: use 1–120 letters"),
        ({"modality": "video"}, "modality: must be one of image, audio, table, got 'video'"),
        ({"seed": "5"}, "seed: must be an integer, got '5'"),
        ({"seed": True}, "seed: must be an integer, got True"),
        ({"seed": 1.5}, "seed: must be an integer, got 1.5"),
        ({"seed": -1}, f"seed: must be between 0 and {MAX_SEED}, got -1"),
        ({"description": 7}, "description: must be text, got 7"),
        ({"brushes": "horizontal_flip"}, "brushes: must be a list of brush steps, got 'horizontal_flip'"),
        ({"brushes": ["horizontal_flip"]}, "brushes[0]: must be a brush step (key: value lines), got "
                                           "'horizontal_flip'"),
        ({"brushes": [{"brush": "horizontal_flip", "enabled": "yes"}]},
         "brushes[0].enabled: must be true or false, got 'yes'"),
        ({"brushes": [{"brush": "horizontal_flip", "params": [1]}]},
         "brushes[0].params: must be a mapping (key: value lines), got [1]"),
        ({"brushes": [{"brush": "horizontal_flip", "colour": "red"}]},
         "brushes[0].colour: unknown field; known: brush, enabled, params"),
        ({"brushes": [{"params": {}}]}, "brushes[0].brush: required field is missing"),
        ({"seeds": 3}, "seeds: unknown field; known: name, modality, seed, description, brushes"),
    ],
    ids=lambda value: json.dumps(value, default=str)[:40] if isinstance(value, dict) else None,
)  # fmt: skip
def test_structural_errors_name_their_field(changes: dict[str, Any], expected: str) -> None:
    errors = errors_of(image_recipe(**changes))

    assert len(errors) == 1, errors
    assert errors[0].startswith(expected), errors


def test_missing_fields_and_non_mappings_are_named() -> None:
    assert errors_of({"brushes": []}) == [
        "name: required field is missing",
        "modality: required field is missing",
    ]
    assert errors_of(["a", "list"]) == ["recipe: must be a recipe (key: value lines), got ['a', 'list']"]


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_nan_and_infinity_in_a_yaml_recipe_name_the_param_the_value_and_the_range(value: str) -> None:
    text = (f"name: a\nmodality: image\nbrushes:\n  - brush: horizontal_flip\n    params: {{p: {value}}}\n"
            f"  - brush: random_resized_crop\n    params: {{size: {value}}}\n")  # fmt: skip
    shown = {".nan": "nan", ".inf": "inf", "-.inf": "-inf"}[value]

    with pytest.raises(RecipeError) as caught:
        from_yaml(text)

    assert caught.value.errors == [
        f"brushes[0].p: must be a finite number between 0 and 1, got {shown}",
        f"brushes[1].size: must be an integer between 8 and 1024, got {shown}",
    ]


@pytest.mark.parametrize("version", ["0", "2", "'1'"])
def test_a_recipe_of_another_schema_version_is_refused_by_name(version: str) -> None:
    text = f"schema_version: {version}\nname: a\nmodality: image\nbrushes: []\n"

    with pytest.raises(RecipeError) as caught:
        from_yaml(text)

    [error] = caught.value.errors
    expected = (f"schema_version: recipe schema version {version} is not one this studio reads; supported: 1 "
                "(the fields name, modality, seed, description, brushes)")  # fmt: skip
    assert error.startswith(expected), error
    assert from_yaml(text.replace(version, "1", 1)) == from_yaml(text.split("\n", 1)[1])


def test_structural_and_brush_errors_come_together_in_document_order() -> None:
    data = image_recipe(name="", seed="x", brushes=[{"brush": "horizontal_flip", "params": {"p": 3}}, 4])

    assert errors_of(data) == [
        "name: use 1–120 letters, digits, spaces, '-', '_' or '.', starting with a letter or digit, got ''",
        "seed: must be an integer, got 'x'",
        "brushes[0].p: must be <= 1, got 3",
        "brushes[1]: must be a brush step (key: value lines), got 4",
    ]


def test_a_recipe_built_in_code_is_validated_and_made_canonical() -> None:
    built = Recipe(name="by hand", modality="image", brushes=[BrushStep(brush="horizontal_flip")])

    assert built.brushes[0].params == {}
    assert validate_recipe(built).brushes[0].params == {"p": 0.5}
    with pytest.raises(ValidationError):
        built.name = "renamed"  # type: ignore[misc]  # frozen


def test_blank_keys_mean_empty_and_steps_may_be_objects() -> None:
    recipe = from_yaml(
        "name: a\nmodality: image\ndescription:\nbrushes:\n  - brush: horizontal_flip\n    params:\n"
    )

    assert recipe.description == "" and recipe.brushes[0].params == {"p": 0.5}
    assert from_yaml("name: a\nmodality: image\nbrushes:\n").brushes == []
    mixed = {
        "name": "a",
        "modality": "image",
        "brushes": [BrushStep(brush="horizontal_flip"), {"brush": "horizontal_flip"}],
    }
    assert validate_recipe(mixed).brushes == [recipe.brushes[0]] * 2


# YAML


def test_yaml_keeps_a_human_key_order_and_short_lists_inline() -> None:
    recipe = validate_recipe(image_recipe(description="Soft crops.\nThen a flip."))

    text = to_yaml(recipe)

    top = [line.split(":")[0] for line in text.splitlines() if line and not line[0].isspace()]
    assert top == ["name", "modality", "seed", "description", "brushes", "- brush", "- brush"]
    assert (
        "  enabled: true\n  params:\n    size: 16\n    scale: [0.6, 1.0]\n    ratio: [0.75, 1.333]\n" in text
    )
    assert "description: |-\n  Soft crops.\n  Then a flip.\n" in text
    assert from_yaml(text) == recipe


BROKEN_BY_HAND = """\
name: broken
modality: image
seed: 1
brushes:
  - brush: random_resized_crop
    params:
      size: 4096
  - brush: gausian_blurr
  - brush: test_recipe_gain
    enabled: false
"""


def test_a_yaml_broken_by_hand_names_each_place(throwaway: None) -> None:
    with pytest.raises(RecipeError) as caught:
        from_yaml(BROKEN_BY_HAND)

    errors = caught.value.errors
    assert errors[0] == "brushes[0].size: must be <= 1024, got 4096"
    assert errors[1].startswith("brushes[1].brush: unknown brush 'gausian_blurr'")
    assert (
        errors[2]
        == "brushes[2].brush: 'test_recipe_gain' is an audio brush, but this recipe is for image data"
    )
    assert len(errors) == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: a\nmodality: image\nbrushes:\n  - brush: horizontal_flip\n     params: {}\n",
         "line 5, column 12: mapping values are not allowed here (YAML syntax: check the indentation"),
        ("name: a\nmodality: image\nbrushes:\n\t- brush: horizontal_flip\n",
         "line 4, column 1: found character '\\t' that cannot start any token"),
        ("name: 'a\nmodality: image\n", "line 3, column 1: found unexpected end of stream"),
        ("name: a\nmodality: image\nname: b\nbrushes: []\n",
         "line 3, column 1: duplicate key 'name' (first given on line 1)"),
        ("name: &n a\nmodality: image\ndescription: *n\nbrushes: []\n",
         "line 3, column 14: aliases (*n) are not allowed in recipes"),
        ("", "recipe: the file is empty"),
        ("- a\n- b\n", "recipe: must be a recipe (key: value lines), got ['a', 'b']"),
    ],
    ids=["indentation", "tab", "unclosed-quote", "duplicate-key", "alias", "empty", "a-list"],
)  # fmt: skip
def test_yaml_syntax_errors_give_line_and_column(text: str, expected: str) -> None:
    with pytest.raises(RecipeError) as caught:
        from_yaml(text)

    assert len(caught.value.errors) == 1
    assert caught.value.errors[0].startswith(expected), caught.value.errors


def _values(param: Param) -> st.SearchStrategy[Any]:
    """Valid values of one declared parameter."""
    low = param.minimum if param.minimum is not None else -1e6
    high = param.maximum if param.maximum is not None else 1e6
    if param.kind == "bool":
        return st.booleans()
    if param.kind == "choice":
        return st.sampled_from(param.choices or (param.default,))
    if param.kind == "int":
        return st.integers(int(low), int(high))
    if param.kind == "float":
        return st.floats(low, high, allow_nan=False, allow_infinity=False)
    if param.kind in ("float_range", "int_range"):
        number = st.integers(int(low), int(high)) if param.kind == "int_range" else st.floats(low, high)
        return st.lists(number, min_size=2, max_size=2).map(sorted)
    if param.kind == "columns":
        names = st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=4, unique=True)
        return names | st.sampled_from(param.choices or (param.default,))
    return st.just(param.default)


# The real brushes, looked up once at import (loading the brush modules inside a strategy would touch
# global random state, which hypothesis warns about).
REAL_BRUSHES = {m: all_brushes(m) for m in ("image", "audio", "table")}  # type: ignore[arg-type]


@st.composite
def recipes(draw: st.DrawFn) -> Recipe:
    """Recipes made of registered brushes with default or other valid settings."""
    modality = draw(st.sampled_from([m for m, brushes in REAL_BRUSHES.items() if brushes]))
    steps = []
    for brush in draw(st.lists(st.sampled_from(REAL_BRUSHES[modality]), max_size=6)):
        chosen = draw(st.sets(st.sampled_from([p.name for p in brush.params]))) if brush.params else set()
        params = {p.name: draw(_values(p)) for p in brush.params if p.name in chosen}
        try:
            brush(**params)  # settings that break a rule between parameters (low < high) are not recipes
        except RecipeError:
            reject()
        steps.append({"brush": brush.name, "enabled": draw(st.booleans()), "params": params})
    return validate_recipe(
        {
            "name": draw(st.from_regex(NAME_PATTERN, fullmatch=True)),
            "modality": modality,
            "seed": draw(st.integers(0, MAX_SEED)),
            "description": draw(st.text(max_size=300)),
            "brushes": steps,
        }
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipes())
def test_yaml_round_trip_is_exact(recipe: Recipe) -> None:
    assert from_yaml(to_yaml(recipe)) == recipe


# Composing and applying


def test_same_seed_same_result_and_the_callers_random_state_is_untouched() -> None:
    pipeline = compose(image_recipe(), "train")
    sample = picture()
    torch.manual_seed(123)
    before = torch.random.get_rng_state()

    first = pipeline.apply(sample, seed=5)
    second = pipeline.apply(sample, seed=5)

    assert torch.equal(torch.random.get_rng_state(), before)
    assert torch.equal(first, second)
    assert first.shape == (3, 16, 16) and first.dtype == torch.uint8
    others = [pipeline.apply(sample, seed=s) for s in range(6, 12)]
    assert any(not torch.equal(first, other) for other in others)


def test_only_the_cpu_generator_is_seeded(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any) -> None:
        raise AssertionError("the pipeline must not reseed torch's CUDA or global generators")

    monkeypatch.setattr(torch, "manual_seed", refuse)
    monkeypatch.setattr(torch.cuda, "manual_seed_all", refuse)

    compose(image_recipe(), "train").apply(picture(), seed=1)


def test_a_pipeline_draws_what_the_brushes_draw_under_the_contract_seeding() -> None:
    recipe = validate_recipe(image_recipe())
    sample = picture(1)
    brushes = [get_brush(s.brush)(**s.params) for s in recipe.brushes]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(42)
        expected = sample
        for brush in brushes:
            expected = brush.transform(expected, brush.make_params(expected))

    assert torch.equal(compose(recipe, "train").apply(sample, seed=42), expected)


def test_eval_keeps_only_deterministic_enabled_steps(throwaway: None) -> None:
    recipe = image_recipe(
        brushes=[
            {"brush": "random_resized_crop", "params": {"size": 16}},
            {"brush": "test_recipe_invert"},
            {"brush": "horizontal_flip", "enabled": False},
        ]
    )

    train, evaluation = compose(recipe, "train"), compose(recipe, "eval")

    assert [(s.index, s.brush.name) for s in train.steps] == [
        (0, "random_resized_crop"),
        (1, "test_recipe_invert"),
    ]
    assert [(s.index, s.brush.name) for s in evaluation.steps] == [(1, "test_recipe_invert")]
    sample = picture()
    assert torch.equal(evaluation.apply(sample, seed=1), 255 - sample)
    assert torch.equal(evaluation.apply(sample, seed=1), evaluation.apply(sample, seed=2))
    with pytest.raises(ValueError, match="stage must be one of train, eval"):
        compose(recipe, "test")  # type: ignore[arg-type]


def test_apply_logged_returns_json_ready_draws_for_each_step(throwaway: None) -> None:
    recipe = image_recipe(brushes=[*image_recipe()["brushes"], {"brush": "test_recipe_grain"}])
    pipeline = compose(recipe, "train")
    sample = picture()

    out, log = pipeline.apply_logged(sample, seed=9)
    _, again = pipeline.apply_logged(sample, seed=9)

    assert torch.equal(out, pipeline.apply(sample, seed=9))
    assert json.loads(json.dumps(log, allow_nan=False)) == log == again
    assert [(entry["step"], entry["brush"]) for entry in log] == [
        (0, "random_resized_crop"), (1, "horizontal_flip"), (2, "test_recipe_grain")
    ]  # fmt: skip
    crop = log[0]["drawn"]
    assert {"top", "left", "height", "width"} <= set(crop) or crop == {"applied": False}
    grain = log[2]["drawn"]
    assert grain["noise"]["shape"] == [3, 16, 16] and grain["noise"]["dtype"] == "float32"
    assert isinstance(grain["strength"], float)


def test_to_jsonable_covers_what_brushes_draw() -> None:
    assert to_jsonable({"a": torch.tensor([1, 2]), "b": (1.5, np.float32(2.5)), "c": torch.tensor(3.0)}) == {
        "a": [1, 2], "b": [1.5, 2.5], "c": 3.0
    }  # fmt: skip
    assert to_jsonable([float("nan"), np.int64(4), None, "bilinear", True]) == [
        "nan",
        4,
        None,
        "bilinear",
        True,
    ]
    assert to_jsonable(torch.zeros(2, 3, dtype=torch.bfloat16)) == [[0.0] * 3] * 2
    assert to_jsonable(torch.Size([2, 3])) == [2, 3]


def test_item_seeds_are_stable_and_distinct() -> None:
    # Pinned: a change here would silently change every saved preview and training run.
    assert item_seed(0, 0) == 15793235383387715774
    assert item_seed(0, 1) == 5836529245451711556
    assert item_seed(7, 3, epoch=2) == 16069830194632189251
    seeds = {item_seed(1, index, epoch) for index in range(2000) for epoch in range(3)}
    assert len(seeds) == 6000
    assert item_seed(1, 2, 3) != item_seed(1, 3, 2)
    with pytest.raises(ValueError):
        item_seed(0, -1)


def test_variants_are_the_items_seeded_one_after_another() -> None:
    pipeline = compose(image_recipe(), "train")
    sample = picture()

    variants = pipeline.variants(sample, 6, seed=4)

    assert len(variants) == 6
    for k, variant in enumerate(variants):
        assert torch.equal(variant, pipeline.apply(sample, item_seed(4, k)))
    assert len({v.numpy().tobytes() for v in variants}) > 1


def test_a_bad_recipe_fails_whole_before_any_brush_runs(throwaway: None) -> None:
    Counted.built = 0
    recipe = image_recipe(brushes=[{"brush": "test_recipe_counted"}, {"brush": "nonsense_brush"}])

    with pytest.raises(RecipeError) as caught:
        compose(recipe, "train").apply(torch.zeros(3, 4, 4, dtype=torch.uint8), 0)

    assert Counted.built == 0
    assert caught.value.errors[0].startswith("brushes[1].brush: unknown brush 'nonsense_brush'")
    compose(image_recipe(brushes=[{"brush": "test_recipe_counted"}]), "train").apply(torch.zeros(3, 4, 4), 0)
    assert Counted.built == 1


# Brushes that learn from data (table pipelines)


def table_recipe(*names: str) -> dict[str, Any]:
    return {"name": "ledger", "modality": "table", "brushes": [{"brush": n} for n in names]}


def frame(offset: float = 0.0) -> pd.DataFrame:
    return (
        pd.DataFrame({"a": [1.0, 2.0, 3.0, 6.0], "b": [10.0, 20.0, 30.0, 40.0], "label": [0, 1, 0, 1]})
        + offset
    )


def test_fit_learns_each_step_from_the_output_of_the_steps_before(throwaway: None) -> None:
    pipeline = compose(table_recipe("test_recipe_shift", "test_recipe_witness"), "train")

    returned = pipeline.fit(frame(), label_column="label")

    shift, witness = (step.brush for step in pipeline.steps)
    assert returned is pipeline
    assert shift.means_ == {"a": 3.0, "b": 25.0}  # type: ignore[attr-defined]
    assert witness.means_ == {"a": 0.0, "b": 0.0}, "fitted on the shifted frame"  # type: ignore[attr-defined]
    out = pipeline.apply(frame(1.0), seed=0)
    assert out["a"].tolist() == [-1.0, 0.0, 1.0, 4.0] and out["label"].tolist() == [1, 2, 1, 2]


def test_saved_state_is_json_and_loads_into_the_eval_pipeline(throwaway: None) -> None:
    recipe = table_recipe("test_recipe_shift", "test_recipe_witness")
    train = compose(recipe, "train").fit(frame(), "label")

    saved = json.dumps(train.state())
    evaluation = compose(recipe, "eval")
    assert evaluation.needs_fit
    evaluation.load_state(json.loads(saved))

    assert not evaluation.needs_fit
    assert json.loads(saved) == [
        {"step": 0, "brush": "test_recipe_shift", "state": {"means": {"a": 3.0, "b": 25.0}}},
        {"step": 1, "brush": "test_recipe_witness", "state": {"means": {"a": 0.0, "b": 0.0}}},
    ]
    held_out = frame(5.0)
    pd.testing.assert_frame_equal(evaluation.apply(held_out, seed=0), train.apply(held_out, seed=0))


def test_an_unfitted_pipeline_refuses_to_run_or_save(throwaway: None) -> None:
    pipeline = compose(table_recipe("test_recipe_shift"), "eval")

    with pytest.raises(RuntimeError, match="call fit"):
        pipeline.apply(frame(), seed=0)
    with pytest.raises(RuntimeError, match="not fitted"):
        pipeline.state()
    assert not compose(image_recipe(), "eval").needs_fit, "nothing to learn, nothing to fit"


def test_a_state_from_another_recipe_is_refused(throwaway: None) -> None:
    trained = compose(table_recipe("test_recipe_shift"), "train").fit(frame(), "label").state()

    with pytest.raises(RecipeError) as caught:
        compose(table_recipe("test_recipe_witness", "test_recipe_shift"), "eval").load_state(trained)

    assert caught.value.errors == [
        "saved state for brushes[0] is for 'test_recipe_shift', but the recipe has 'test_recipe_witness' "
        "there; fit the recipe again",
        "saved state has nothing for brushes[1] (test_recipe_shift); fit the recipe again",
    ]


def test_a_state_that_is_not_json_data_is_refused(throwaway: None) -> None:
    pipeline = compose(table_recipe("test_recipe_opaque"), "train").fit(frame(), "label")

    with pytest.raises(TypeError, match=r"brushes\[0\] \(test_recipe_opaque\): its state is not plain JSON"):
        pipeline.state()


# Starter recipes (they use the real brushes of every modality)


def test_every_starter_recipe_validates_against_the_real_brushes() -> None:
    failures = {}
    for starter in STARTER_RECIPES:
        try:
            validate_recipe(starter)
        except RecipeError as error:
            failures[starter.name] = error.errors
    assert failures == {}


def test_every_modality_has_one_plain_starter_and_every_starter_has_words_for_artists() -> None:
    names = [s.name for s in STARTER_RECIPES]
    assert len(set(names)) == len(names)
    plain = sorted(s.modality for s in STARTER_RECIPES if s.name == f"{s.modality}-starter")
    assert plain == ["audio", "image", "table"]
    for starter in STARTER_RECIPES:
        assert starter.name.startswith(f"{starter.modality}-")
        assert starter.name.endswith("-starter") or starter.name == "image-strong"
        assert len(starter.description.split()) >= 20


def test_the_gentle_image_starter_keeps_orientation_and_most_of_the_picture() -> None:
    """Small data and pictures with an up and a left (digits): no mirroring or turning, mild crops;
    the strong mix keeps them for large, orientation-free data."""
    by_name = {s.name: validate_recipe(s) for s in STARTER_RECIPES}
    gentle, strong = by_name["image-starter"], by_name["image-strong"]
    steps = {step.brush: step.params for step in gentle.brushes}
    assert not {"horizontal_flip", "vertical_flip", "rotation", "gaussian_blur"} & set(steps)
    assert steps["random_resized_crop"]["scale"][0] >= 0.85
    assert max(steps["color_jitter"][k] for k in ("brightness", "contrast", "saturation")) <= 0.1
    assert gentle.brushes[-1].brush == "normalize"
    assert {"horizontal_flip", "gaussian_blur"} <= {step.brush for step in strong.brushes}


def test_the_image_starter_gives_training_and_evaluation_the_same_shape() -> None:
    starter = next(s for s in STARTER_RECIPES if s.modality == "image")
    sample = picture(shape=(3, 80, 50))

    trained = compose(starter, "train").apply(sample, seed=1)
    evaluated = compose(starter, "eval").apply(sample, seed=1)

    assert trained.shape == evaluated.shape == (3, 64, 64)
    assert trained.dtype == evaluated.dtype == torch.float32


def test_the_table_starter_fits_saves_and_reloads() -> None:
    starter = next(s for s in STARTER_RECIPES if s.modality == "table")
    rows = pd.DataFrame(
        {
            "weight": [1.0, None, 3.0, 4.0],
            "colour": ["red", "blue", None, "red"],
            "label": ["a", "b", "a", "b"],
        }
    )
    train = compose(starter, "train").fit(rows, "label")

    evaluation = compose(starter, "eval")
    evaluation.load_state(json.loads(json.dumps(train.state())))

    pd.testing.assert_frame_equal(evaluation.apply(rows, seed=0), train.apply(rows, seed=0))


# The recipe store


def test_the_migration_creates_the_recipe_table_as_the_model_declares(database_url: str) -> None:
    upgrade(database_url)
    engine = engine_for(database_url)

    assert "recipe_versions" in inspect(engine).get_table_names()
    with engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in drift if "recipe_versions" in repr(d)] == []

    config = alembic_config(database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    assert "recipe_versions" not in inspect(engine).get_table_names()
    upgrade(database_url)
    assert "recipe_versions" in inspect(engine).get_table_names()


def test_saving_writes_a_new_version_only_when_something_changed(database_url: str) -> None:
    upgrade(database_url)
    first = save_recipe(image_recipe())
    same = save_recipe(image_recipe(brushes=[
        {"brush": "random_resized_crop", "params": {"size": 16, "scale": [0.6, 1.0]}},
        {"brush": "horizontal_flip", "params": {"p": 0.5}},
    ]))  # fmt: skip
    changed = save_recipe(image_recipe(seed=99, description="Bolder."))

    assert (first.version, first.new_version, first.version_count) == (1, True, 1)
    assert (same.version, same.new_version, same.version_count) == (1, False, 1)
    assert (changed.version, changed.new_version, changed.version_count) == (2, True, 2)
    assert load_recipe("sketchbook") == validate_recipe(image_recipe(seed=99, description="Bolder."))
    assert load_recipe("sketchbook", 1) == validate_recipe(image_recipe())
    assert [v.version for v in recipe_versions("sketchbook")] == [1, 2]
    [summary] = list_recipes()
    assert (summary.name, summary.modality, summary.version, summary.version_count) == (
        "sketchbook",
        "image",
        2,
        2,
    )
    assert (summary.brush_count, summary.description) == (2, "Bolder.")


def test_versions_are_unique_per_name(database_url: str) -> None:
    upgrade(database_url)
    save_recipe(image_recipe())

    with pytest.raises(IntegrityError), open_session() as session:
        session.add(RecipeVersion(name="sketchbook", version=1, modality="image", spec={}))


def test_list_gives_the_latest_of_each_recipe_by_name(database_url: str) -> None:
    upgrade(database_url)
    save_recipe(image_recipe(name="b-side"))
    save_recipe(image_recipe(name="a-side"))
    save_recipe(image_recipe(name="a-side", seed=8))
    save_recipe(image_recipe(name="B-second"))

    rows = [(r.name, r.version, r.version_count) for r in list_recipes()]

    assert rows == [("a-side", 2, 2), ("B-second", 1, 1), ("b-side", 1, 1)], "sorted ignoring case"


def test_a_name_keeps_its_modality(database_url: str, throwaway: None) -> None:
    upgrade(database_url)
    save_recipe(image_recipe())

    with pytest.raises(RecipeError, match="recipe 'sketchbook' is for image data; save this audio recipe"):
        save_recipe({"name": "sketchbook", "modality": "audio", "brushes": [{"brush": "test_recipe_gain"}]})


def test_missing_recipes_and_versions_are_named_with_what_exists(database_url: str) -> None:
    upgrade(database_url)
    with pytest.raises(RecipeError, match="there are no recipes yet"):
        load_recipe("sketchbook")
    save_recipe(image_recipe())
    save_recipe(image_recipe(name="watercolour"))

    with pytest.raises(RecipeError) as caught:
        load_recipe("sketchbok")
    assert caught.value.errors == [
        "no recipe named 'sketchbok'; did you mean sketchbook? (known recipes: sketchbook, watercolour)"
    ]
    with pytest.raises(RecipeError, match="recipe 'sketchbook' has no version 7; its versions are 1"):
        load_recipe("sketchbook", 7)
    with pytest.raises(RecipeError, match="no recipe named 'nothing'"):
        recipe_versions("nothing")


def test_import_and_export_round_trip_through_the_store(database_url: str) -> None:
    upgrade(database_url)
    text = to_yaml(validate_recipe(image_recipe(description="For the sketchbook series.")))

    imported = import_recipe_text(text)
    exported = export_recipe("sketchbook")

    assert (imported.name, imported.version, imported.new_version) == ("sketchbook", 1, True)
    assert exported == text
    assert import_recipe_text(exported).new_version is False
    assert from_yaml(export_recipe("sketchbook", 1)) == from_yaml(text)


def test_a_bad_import_reports_everything_and_saves_nothing(database_url: str, throwaway: None) -> None:
    upgrade(database_url)

    with pytest.raises(RecipeError) as caught:
        import_recipe_text(BROKEN_BY_HAND)

    assert len(caught.value.errors) == 3
    assert list_recipes() == []


def test_duplicate_copies_the_latest_version_under_a_new_name(database_url: str) -> None:
    upgrade(database_url)
    save_recipe(image_recipe())
    save_recipe(image_recipe(seed=11))

    copy = duplicate_recipe("sketchbook", "sketchbook copy")

    assert (copy.name, copy.version, copy.version_count) == ("sketchbook copy", 1, 1)
    loaded = load_recipe("sketchbook copy")
    assert loaded.name == "sketchbook copy" and loaded.seed == 11
    assert loaded.brushes == load_recipe("sketchbook").brushes
    with pytest.raises(RecipeError, match="a recipe named 'sketchbook' already exists"):
        duplicate_recipe("sketchbook copy", "sketchbook")
    with pytest.raises(RecipeError, match="name: use 1–120 letters"):
        duplicate_recipe("sketchbook", "bad/name")


def test_starters_are_saved_once_and_never_overwritten(
    database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    upgrade(database_url)
    starters = (
        validate_recipe(image_recipe(name="first-starter")),
        Recipe(name="broken-starter", modality="image", brushes=[BrushStep(brush="no_such_brush")]),
        validate_recipe(image_recipe(name="second-starter", seed=5)),
    )
    monkeypatch.setattr(recipe_service, "STARTER_RECIPES", starters)
    save_recipe(image_recipe(name="second-starter", seed=6))  # the user already has one of that name

    with caplog.at_level(logging.WARNING, logger="canvascraft.services.recipes"):
        assert ensure_starter_recipes() == ["first-starter"]
    assert "starter recipe 'broken-starter' was not saved" in caplog.text
    save_recipe(image_recipe(name="first-starter", seed=1))  # edited by the user
    assert ensure_starter_recipes() == []

    assert load_recipe("second-starter").seed == 6
    assert [v.version for v in recipe_versions("first-starter")] == [1, 2]


def test_prepare_saves_the_real_starters_once(workspace: Path) -> None:
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)
    prepare(with_samples=False)

    summaries = {s.name: s for s in list_recipes()}
    assert set(summaries) == {s.name for s in STARTER_RECIPES}
    assert all(s.version_count == 1 for s in summaries.values())
    with engine_for(get_settings().db_url).connect() as connection:
        versions = connection.execute(text("SELECT count(*) FROM recipe_versions")).scalar()
    assert versions == len(STARTER_RECIPES)
