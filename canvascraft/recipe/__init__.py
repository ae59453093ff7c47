"""Recipes: a named, seeded stack of brushes (``spec``), read and written as YAML (``io``), and built
into a seeded pipeline by ``canvascraft.recipe.compose``.

``compose`` is not re-exported here, because the function and its module share the name (the package
attribute would flip between them); import it as ``from canvascraft.recipe.compose import compose``.
"""

from canvascraft.recipe.io import from_yaml, to_yaml
from canvascraft.recipe.spec import BrushStep, Modality, Recipe, validate_recipe
from canvascraft.recipe.starters import STARTER_RECIPES

__all__ = [
    "STARTER_RECIPES",
    "BrushStep",
    "Modality",
    "Recipe",
    "from_yaml",
    "to_yaml",
    "validate_recipe",
]
