"""Recipes as YAML files people read, edit by hand, share and keep in git.

``to_yaml`` writes keys in a fixed human order (name, modality, seed, description, then each brush
with its settings) so diffs stay small; ``from_yaml`` reads only plain data (safe loader, no anchors
or aliases, no duplicate keys) and validates, so ``from_yaml(to_yaml(r)) == r`` for a valid ``r``.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from canvascraft.errors import RecipeError
from canvascraft.recipe.spec import Recipe, validate_recipe

# A recipe is a screenful of text; anything far larger is a wrong file, not a recipe.
MAX_YAML_CHARS = 256_000


class _Dumper(yaml.SafeDumper):
    """Short scalar lists in flow style (``scale: [0.6, 1.0]``), multi-line text as a block."""


# Line breaks other than "\n": PyYAML's emitter writes them unescaped outside double quotes, and the
# reader then turns them into plain newlines or spaces, so such text is always double-quoted.
_ODD_BREAKS = frozenset("\r\x85\u2028\u2029")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if _ODD_BREAKS.intersection(value):
        style: str | None = '"'
    else:
        # The emitter falls back to a quoted style when a block cannot hold the text exactly.
        style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    flow = all(v is None or isinstance(v, bool | int | float | str) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(tuple, _represent_list)


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing duplicate keys (YAML would silently keep the last one)."""


def _construct_mapping(loader: yaml.SafeLoader, node: MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.get(key)
        except TypeError:
            continue  # an unhashable key: construct_mapping reports it with its place
        if first is not None:
            raise ConstructorError(
                None, None, f"duplicate key {key!r} (first given on line {first})", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def to_yaml(recipe: Recipe) -> str:
    """The recipe as a YAML document, keys in the order people read them."""
    data = {
        "name": recipe.name,
        "modality": recipe.modality,
        "seed": recipe.seed,
        "description": recipe.description,
        "brushes": [
            {"brush": step.brush, "enabled": step.enabled, "params": dict(step.params)}
            for step in recipe.brushes
        ],
    }
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )


def from_yaml(text: str) -> Recipe:
    """Parse and validate a recipe; syntax errors name the line and column, the rest their place."""
    if len(text) > MAX_YAML_CHARS:
        raise RecipeError([f"recipe: the file is {len(text):,} characters long; a recipe is far smaller"])
    return validate_recipe(_load(text))


def _load(text: str) -> Any:
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):
                mark = event.start_mark
                raise RecipeError(
                    [f"line {mark.line + 1}, column {mark.column + 1}: aliases (*{event.anchor}) are not "
                     "allowed in recipes; write the value out"]
                )  # fmt: skip
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader: plain data only
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "recipe"
        problem = error.problem or error.context or "cannot be read"
        if not isinstance(error, ConstructorError):
            problem += " (YAML syntax: check the indentation, the colons and the quotes)"
        raise RecipeError([f"{where}: {problem}"]) from None
    except yaml.YAMLError as error:
        raise RecipeError([f"recipe: not readable as YAML ({error})"]) from None
    if data is None:
        raise RecipeError(["recipe: the file is empty; a recipe needs a name, a modality and brushes"])
    return data
