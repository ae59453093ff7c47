"""Registering a brush is all it takes: it appears in the CLI, the recipe schema, validation and the page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from canvascraft.brushes import Brush, Param, register
from canvascraft.brushes.registry import unregister
from canvascraft.cli import app as cli
from canvascraft.recipe.compose import compose
from canvascraft.recipe.schema import recipe_json_schema
from canvascraft.recipe.spec import validate_recipe
from canvascraft.recipe.starters import STARTER_RECIPES

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def invert_brush() -> Iterator[type[Brush]]:
    @register
    class Invert(Brush):
        name = "test_invert"
        modality = "image"
        summary = "Swap light and dark."
        params = (Param("strength", "float", 1.0, "How far to go towards the negative.", 0.0, 1.0),)

        def transform(self, sample: torch.Tensor, drawn: dict[str, Any]) -> torch.Tensor:
            s = self.settings["strength"]
            return (sample.float() * (1 - s) + (255 - sample.float()) * s).round().to(torch.uint8)

    yield Invert
    unregister("test_invert")


def test_a_new_brush_appears_everywhere(invert_brush: type[Brush], sample_workspace: Path) -> None:
    listed = json.loads(CliRunner().invoke(cli, ["brushes", "list", "--json"]).output)
    assert {"name": "test_invert", "modality": "image"}.items() <= next(
        b for b in listed if b["name"] == "test_invert"
    ).items()

    schema = recipe_json_schema("image")
    steps = schema["properties"]["brushes"]["items"]["oneOf"]
    invert = next(s for s in steps if s["title"] == "test_invert")
    assert invert["properties"]["params"]["properties"]["strength"]["maximum"] == 1.0

    recipe = validate_recipe(
        {"name": "negatives", "modality": "image", "brushes": [{"brush": "test_invert"}]}
    )
    image = torch.zeros(3, 4, 4, dtype=torch.uint8)
    assert compose(recipe, "train").apply(image, 0).eq(255).all()

    page = AppTest.from_file(APP, default_timeout=120)
    page.query_params["dataset"] = "sample-images"
    page.switch_page("pages/brushes.py")
    page.run()
    assert "test_invert — Swap light and dark." in page.selectbox(key="brushes_add_choice").options


def test_the_schema_accepts_every_starter_and_rejects_out_of_bounds_values() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    for recipe in STARTER_RECIPES:
        jsonschema.validate(validate_recipe(recipe).model_dump(), recipe_json_schema())
    bad = validate_recipe(next(r for r in STARTER_RECIPES if r.name == "image-strong")).model_dump()
    blur = next(step for step in bad["brushes"] if step["brush"] == "gaussian_blur")
    blur["params"]["sigma"] = [0.1, 500]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, recipe_json_schema("image"))
