"""What a recipe is (pydantic models) and the one gate every recipe passes: ``validate_recipe``.

A recipe is data an artist edits by hand, so validation collects every problem at once and names its
place (``brushes[2].sigma: must be <= 20, got 25``) instead of stopping at the first. Valid recipes
come back canonical (every parameter present, defaults filled, numbers in their declared type), so
two recipes that mean the same compare equal and save as the same version.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails

from canvascraft.brushes.base import check_settings
from canvascraft.brushes.registry import all_brushes, get_brush
from canvascraft.errors import RecipeError, UnknownNameError

Modality = Literal["image", "audio", "table"]
MODALITIES: tuple[str, ...] = ("image", "audio", "table")

# The same rule as dataset names, so names look alike everywhere in the studio.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,119}$")
NAME_RULE = "use 1–120 letters, digits, spaces, '-', '_' or '.', starting with a letter or digit"
MAX_SEED = 2**32 - 1
MAX_DESCRIPTION = 4000

StrictInt = Annotated[int, Strict()]
StrictBool = Annotated[bool, Strict()]
StrictStr = Annotated[str, Strict()]


class BrushStep(BaseModel):
    """One step of a recipe: which brush, whether it is on, and its settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    brush: StrictStr
    enabled: StrictBool = True
    params: dict[StrictStr, Any] = Field(default_factory=dict)

    @field_validator("params", mode="before")
    @classmethod
    def _blank_params(cls, value: Any) -> Any:
        # ``params:`` left blank in YAML reads as null; it means "no settings", not a mistake.
        return {} if value is None else value


class Recipe(BaseModel):
    """A named, seeded stack of brushes for one modality.

    Building one directly checks only its shape; ``validate_recipe`` also checks it against the brush
    registry and makes the parameters canonical, and is what saving and composing go through.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Strict(), Field(pattern=NAME_PATTERN.pattern)]
    modality: Modality
    seed: Annotated[int, Strict(), Field(ge=0, le=MAX_SEED)] = 0
    description: Annotated[str, Strict(), Field(max_length=MAX_DESCRIPTION)] = ""
    brushes: list[BrushStep]

    @field_validator("name", mode="before")
    @classmethod
    def _strip_name(cls, value: Any) -> Any:
        # Stray spaces around a name typed in a form or a YAML file are never meant.
        return value.strip() if isinstance(value, str) else value

    @field_validator("description", "brushes", mode="before")
    @classmethod
    def _blank_means_empty(cls, value: Any, info: ValidationInfo) -> Any:
        # A key left blank in YAML reads as null: no description yet, no brushes yet.
        if value is None:
            return "" if info.field_name == "description" else []
        return value


_RECIPE_FIELDS = ", ".join(Recipe.model_fields)
SCHEMA_KEY = "schema_version"
"""An optional top-level key naming the recipe format a file was written for; never stored."""
SCHEMA_VERSIONS: tuple[int, ...] = (1,)
"""The recipe formats this studio reads: one so far, so an older or newer file is refused by name
instead of half read (a future format adds its number here with a migration to the current one)."""
_STEP_FIELDS = ", ".join(BrushStep.model_fields)
_ARTICLE = {"image": "an image", "audio": "an audio", "table": "a table"}


def validate_recipe(data: Mapping[str, Any] | Recipe) -> Recipe:
    """Check a recipe against its schema and the brush registry; return it in canonical form.

    Raises ``RecipeError`` listing every problem, each prefixed with its place.
    """
    if isinstance(data, Recipe):
        data = data.model_dump()
    errors: list[tuple[int, str]] = []  # (step index or -1, message), sorted by place at the end
    if isinstance(data, Mapping) and SCHEMA_KEY in data:
        version = data[SCHEMA_KEY]
        data = {key: value for key, value in data.items() if key != SCHEMA_KEY}
        if isinstance(version, bool) or version not in SCHEMA_VERSIONS:
            supported = ", ".join(map(str, SCHEMA_VERSIONS))
            errors.append((-1, f"{SCHEMA_KEY}: recipe schema version {_shown(version)} is not one this "
                               f"studio reads; supported: {supported} (the fields {_RECIPE_FIELDS}). "
                               "Rewrite the recipe in that form, or remove the key"))  # fmt: skip
    recipe: Recipe | None = None
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as error:
        errors.extend(_structural(detail) for detail in error.errors())

    canonical: dict[int, dict[str, Any]] = {}
    raw_steps = data.get("brushes") if isinstance(data, Mapping) else None
    modality = data.get("modality") if isinstance(data, Mapping) else None
    if isinstance(raw_steps, list):
        for index, step in enumerate(raw_steps):
            if isinstance(step, BrushStep):
                step = step.model_dump()
            if isinstance(step, Mapping) and isinstance(step.get("brush"), str):
                params, step_errors = _check_step(step, modality if modality in MODALITIES else None)
                errors.extend((index, f"brushes[{index}].{message}") for message in step_errors)
                if params is not None:
                    canonical[index] = params

    if errors or recipe is None:
        errors.sort(key=lambda entry: entry[0])  # stable: top-level first, then step by step
        raise RecipeError([message for _, message in errors])
    steps = [step.model_copy(update={"params": canonical[i]}) for i, step in enumerate(recipe.brushes)]
    return recipe.model_copy(update={"brushes": steps})


def _check_step(step: Mapping[str, Any], modality: str | None) -> tuple[dict[str, Any] | None, list[str]]:
    """Registry checks of one step: brush known, of the recipe's modality, parameters valid."""
    try:
        brush = get_brush(step["brush"])
    except UnknownNameError as error:
        return None, [f"brush: {_unknown_brush(step['brush'], modality) or error}"]
    errors: list[str] = []
    if modality is not None and brush.modality != modality:
        errors.append(
            f"brush: {brush.name!r} is {_ARTICLE[brush.modality]} brush, but this recipe is for "
            f"{modality} data"
        )
    params = step.get("params")
    params = {} if params is None else params
    if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
        return None, errors  # the structural check already reported it
    values, param_errors = check_settings(brush.params, dict(params))
    errors.extend(f"{e.param}: {e.message}" for e in param_errors)
    if param_errors:
        return None, errors
    try:
        # Rules that tie parameters together (low < high, hop <= n_fft) live in the brush itself.
        brush(**values)
    except RecipeError as error:
        prefix = f"{brush.name}."
        errors.extend(e.removeprefix(prefix) for e in error.errors)
        return None, errors
    return values, errors


def _unknown_brush(name: str, modality: str | None) -> str | None:
    """Suggest only brushes of the recipe's own modality (an image recipe has no use for 'gain')."""
    if modality is None:
        return None
    names = [b.name for b in all_brushes(cast(Modality, modality))]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    return f"unknown brush {name!r}; did you mean {', '.join(close)}?" if close else None


def _structural(detail: ErrorDetails) -> tuple[int, str]:
    """A pydantic error in the studio's ``place: message`` style, keyed by its step index."""
    loc = tuple(part for part in detail["loc"] if part != "[key]")
    place = _place(loc)
    step = loc[1] if len(loc) > 1 and loc[0] == "brushes" and isinstance(loc[1], int) else -1
    return step, f"{place}: {_message(detail, loc)}"


def _place(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "recipe"


def _message(detail: ErrorDetails, loc: tuple[int | str, ...]) -> str:
    kind = detail["type"]
    got = _shown(detail.get("input"))
    in_step = len(loc) >= 2 and loc[0] == "brushes"
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return f"unknown field; known: {_STEP_FIELDS if in_step else _RECIPE_FIELDS}"
    if kind == "literal_error":
        return f"must be one of {', '.join(MODALITIES)}, got {got}"
    if kind == "string_pattern_mismatch":
        return f"{NAME_RULE}, got {got}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be an integer, got {got}"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false, got {got}"
    if kind == "string_type":
        return f"must be text, got {got}"
    if kind == "string_too_long":
        return f"must be at most {detail.get('ctx', {}).get('max_length')} characters long"
    if kind == "list_type":
        return f"must be a list of brush steps, got {got}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        what = "a recipe" if not loc else ("a brush step" if len(loc) == 2 else "a mapping")
        return f"must be {what} (key: value lines), got {got}"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"must be between 0 and {MAX_SEED}, got {got}"
    return f"{detail['msg'][:1].lower()}{detail['msg'][1:]}, got {got}"


def _shown(value: Any) -> str:
    """A short repr of a wrong value: enough to recognise it, never a whole pasted document."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
