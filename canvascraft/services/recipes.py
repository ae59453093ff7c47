"""Recipe actions for pages and the CLI: the recipe library (``canvascraft.recipe.library``) as it is,
and the starter fitted to a dataset (``Modality.fit_starter``) that the launch form suggests."""

from __future__ import annotations

from dataclasses import dataclass

from canvascraft.errors import CanvasCraftError, RecipeError
from canvascraft.recipe.library import (
    RecipeSummary,
    RecipeVersionInfo,
    ensure_starter_recipes,
    export_recipe,
    list_recipes,
    load_recipe,
    recipe_names,
    recipe_versions,
)
from canvascraft.recipe.library import duplicate_recipe as _duplicate_recipe
from canvascraft.recipe.library import import_recipe_text as _import_recipe_text
from canvascraft.recipe.library import save_recipe as _save_recipe
from canvascraft.recipe.spec import Recipe, validate_recipe
from canvascraft.services.guard import action


def _recipe_name(values: dict) -> str:
    return str(getattr(values["result"], "name", ""))


save_recipe = action(role="artist", does="save a recipe", audit="recipe.save", target=_recipe_name)(
    _save_recipe
)
import_recipe_text = action(
    role="artist", does="import a recipe", audit="recipe.import", target=_recipe_name
)(_import_recipe_text)
duplicate_recipe = action(
    role="artist", does="duplicate a recipe", audit="recipe.duplicate", target="{name} → {new_name}"
)(_duplicate_recipe)

__all__ = [
    "RecipeSummary",
    "RecipeVersionInfo",
    "StarterSuggestion",
    "default_recipe",
    "duplicate_recipe",
    "ensure_starter_recipes",
    "export_recipe",
    "import_recipe_text",
    "list_recipes",
    "load_recipe",
    "recipe_names",
    "recipe_versions",
    "save_recipe",
    "save_suggested_starter",
    "suggest_starter",
]


@dataclass(frozen=True)
class StarterSuggestion:
    """A starter fitted to a dataset version, as the launch form offers it."""

    dataset: str
    version: int
    #: The fitted recipe, named ``<dataset>-starter``; validated, so it saves as it is.
    recipe: Recipe
    based_on: str
    #: ``at 16 px``
    fitted: str
    #: ``items are 8×8; 40 per class``
    because: str
    caution: str
    #: The latest saved version of ``recipe.name`` is this recipe already.
    saved: bool
    #: Fitting changed no setting of ``based_on``: that starter already suits the dataset.
    same_as_base: bool

    @property
    def name(self) -> str:
        return self.recipe.name

    def sentence(self) -> str:
        """``Suggested for this dataset: image-starter at 16 px (items are 8×8; 40 per class)``."""
        if self.same_as_base:
            return f"{self.based_on} suits this dataset as it is ({self.because})"
        return f"Suggested for this dataset: {self.based_on} {self.fitted} ({self.because})"


def suggest_starter(dataset: str, version: int | None = None) -> StarterSuggestion | None:
    """The starter fitted to a dataset version (the latest by default), or None where its modality has
    nothing to fit (the plain starter suits any dataset of that kind)."""
    from canvascraft.data.reads import open_version
    from canvascraft.modalities import get_modality

    view = open_version(dataset, version)
    fitted = get_modality(view.modality).fit_starter(view)
    if fitted is None:
        return None
    recipe = validate_recipe(fitted.recipe)
    try:
        saved = validate_recipe(load_recipe(recipe.name)) == recipe
    except CanvasCraftError:  # no recipe of that name yet (or one that no longer validates)
        saved = False
    return StarterSuggestion(
        view.dataset, view.version.number, recipe, fitted.based_on, fitted.fitted, fitted.because,
        fitted.caution, saved, fitted.same_as_base,
    )  # fmt: skip


def save_suggested_starter(dataset: str, version: int | None = None) -> RecipeSummary:
    """Save the starter fitted to the dataset under ``<dataset>-starter`` (a new version of it when the
    data has changed since); raises ``RecipeError`` when there is nothing to fit or the name is taken by
    a recipe of another kind of data."""

    suggestion = suggest_starter(dataset, version)
    if suggestion is None:
        raise RecipeError(
            [f"dataset {dataset!r}: its kind of data has no fitted starter; use its plain starter"]
        )
    return save_recipe(suggestion.recipe)


def default_recipe(dataset: str, starter: str) -> str:
    """The recipe a launch starts from unless the user picks another: a trainer's ``starter``, fitted
    to the dataset and saved as ``<dataset>-starter`` where fitting changes it (8×8 digits train at
    16 px, not upscaled to 64). Only a modality's own starter is fitted; a generator's stays as it is.
    Saving is idempotent, so opening the launch form again writes nothing until the data changes."""
    from canvascraft.data.reads import open_version

    if starter != f"{open_version(dataset).modality}-starter":
        return starter
    suggestion = suggest_starter(dataset)
    if suggestion is None or suggestion.same_as_base:
        return starter
    return _save_recipe(suggestion.recipe).name  # the studio's own fitting: nobody's action to guard
