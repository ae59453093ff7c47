"""The recipe JSON Schema, generated from the brush registry.

Editors that understand JSON Schema (and YAML language servers) can check and complete recipe files
with it; since it is built from each brush's declared ``Param`` list, a newly registered brush
appears in it with its parameters, bounds and help text without any other change.
"""

from __future__ import annotations

from typing import Any

from canvascraft.brushes.base import Brush, Modality, Param
from canvascraft.brushes.registry import all_brushes
from canvascraft.recipe.spec import MAX_SEED, MODALITIES, NAME_PATTERN


def param_schema(param: Param) -> dict[str, Any]:
    """One parameter as a JSON Schema fragment."""
    bounds = {
        key: value
        for key, value in (("minimum", param.minimum), ("maximum", param.maximum))
        if value is not None
    }
    base: dict[str, Any] = {"description": param.help, "default": param.default}
    if param.kind == "bool":
        return {**base, "type": "boolean"}
    if param.kind == "choice":
        return {**base, "enum": list(param.choices or ())}
    if param.kind in ("float", "int"):
        return {**base, "type": "integer" if param.kind == "int" else "number", **bounds}
    if param.kind in ("float_range", "int_range"):
        item = {"type": "integer" if param.kind == "int_range" else "number", **bounds}
        return {**base, "type": "array", "items": item, "minItems": 2, "maxItems": 2}
    names = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "uniqueItems": True}
    return {**base, "anyOf": [{"enum": list(param.choices or ())}, names]}


def brush_schema(brush: type[Brush]) -> dict[str, Any]:
    """A recipe step using ``brush``: its name, the enabled flag and its declared parameters."""
    return {
        "title": brush.name,
        "description": brush.summary,
        "type": "object",
        "required": ["brush"],
        "additionalProperties": False,
        "properties": {
            "brush": {"const": brush.name},
            "enabled": {"type": "boolean", "default": True},
            "params": {
                "type": "object",
                "additionalProperties": False,
                "properties": {p.name: param_schema(p) for p in brush.params},
            },
        },
    }


def recipe_json_schema(modality: Modality | None = None) -> dict[str, Any]:
    """The JSON Schema of a recipe (for one modality, or any)."""
    brushes = sorted(all_brushes(modality), key=lambda b: (b.modality, b.name))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"CanvasCraft {modality + ' ' if modality else ''}recipe",
        "type": "object",
        "required": ["name", "modality", "brushes"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "pattern": NAME_PATTERN.pattern},
            "modality": {"enum": [modality] if modality else list(MODALITIES)},
            "seed": {"type": "integer", "minimum": 0, "maximum": MAX_SEED, "default": 0},
            "description": {"type": "string", "default": ""},
            "brushes": {"type": "array", "items": {"oneOf": [brush_schema(b) for b in brushes]}},
        },
    }
