"""Recipe actions for pages and the CLI: the recipe library (``canvascraft.recipe.library``) as it is."""

from canvascraft.recipe.library import (
    RecipeSummary,
    RecipeVersionInfo,
    duplicate_recipe,
    ensure_starter_recipes,
    export_recipe,
    import_recipe_text,
    list_recipes,
    load_recipe,
    recipe_names,
    recipe_versions,
    save_recipe,
)

__all__ = [
    "RecipeSummary",
    "RecipeVersionInfo",
    "duplicate_recipe",
    "ensure_starter_recipes",
    "export_recipe",
    "import_recipe_text",
    "list_recipes",
    "load_recipe",
    "recipe_names",
    "recipe_versions",
    "save_recipe",
]
