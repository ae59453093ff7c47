"""Preprocessing recipes (check, list, import, export, preview, schema) and the brush catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from canvascraft.cli.output import (
    clean_errors,
    open_workspace,
    parse_modality,
)
from canvascraft.cli.root import brushes_app, recipe_app
from canvascraft.errors import RecipeError

if TYPE_CHECKING:
    pass


def _read_recipe_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RecipeError([f"{path}: not a UTF-8 text file; save the recipe as UTF-8 YAML"]) from None
    except OSError as error:
        raise RecipeError([f"cannot read {path}: {error.strerror or error}"]) from None


def _report_recipe_errors(path: Path, error: RecipeError) -> NoReturn:
    """Every problem on its own line, prefixed with the file (editors and grep read this form)."""
    for problem in error.errors:
        typer.echo(f"{path}: {problem}", err=True)
    count = len(error.errors)
    typer.echo(f"error: {path} is not a valid recipe ({count} problem{'s' if count != 1 else ''})", err=True)
    raise typer.Exit(1)


@recipe_app.command("validate")
@clean_errors
def recipe_validate(file: Annotated[Path, typer.Argument(help="A recipe YAML file.")]) -> None:
    """Check a recipe file against the brushes; lists every problem with its place."""
    from canvascraft.recipe.io import from_yaml

    text = _read_recipe_file(file)
    try:
        recipe = from_yaml(text)
    except RecipeError as error:
        _report_recipe_errors(file, error)
    count = len(recipe.brushes)
    typer.echo(f"ok: {recipe.name} ({recipe.modality}, {count} brush{'es' if count != 1 else ''})")


@recipe_app.command("list")
@clean_errors
def recipe_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List recipes with their latest version."""
    from canvascraft.services.recipes import list_recipes

    open_workspace()
    recipes = list_recipes()
    if as_json:
        rows = [
            {"name": r.name, "modality": r.modality, "latest_version": r.version, "versions": r.version_count,
             "brushes": r.brush_count, "description": r.description, "created_at": r.created_at.isoformat()}
            for r in recipes
        ]  # fmt: skip
        typer.echo(json.dumps(rows, indent=2))
        return
    if not recipes:
        typer.echo("no recipes yet: run `canvascraft recipe import FILE`")
        return
    typer.echo(f"{'name':<24} {'modality':<8} {'version':>7} {'versions':>8} {'brushes':>7}")
    for r in recipes:
        typer.echo(f"{r.name:<24} {r.modality:<8} {r.version:>7} {r.version_count:>8} {r.brush_count:>7}")


@recipe_app.command("import")
@clean_errors
def recipe_import(file: Annotated[Path, typer.Argument(help="A recipe YAML file.")]) -> None:
    """Save a recipe file; a changed recipe becomes a new version, an unchanged one is left as it is."""
    from canvascraft.services.recipes import import_recipe_text

    text = _read_recipe_file(file)
    open_workspace()
    try:
        summary = import_recipe_text(text)
    except RecipeError as error:
        _report_recipe_errors(file, error)
    if summary.new_version:
        typer.echo(f"imported {summary.name} v{summary.version} ({summary.modality})")
    else:
        typer.echo(f"{summary.name} v{summary.version} is unchanged: the file matches the latest version")


@recipe_app.command("export")
@clean_errors
def recipe_export(
    name: Annotated[str, typer.Argument(help="Recipe name.")],
    version: Annotated[int | None, typer.Option(help="Version to export (default: the latest).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of printing.")] = None,
) -> None:
    """Print a recipe as YAML (or write it to a file), ready to share, edit and import again."""
    from canvascraft.services.recipes import export_recipe

    open_workspace()
    text = export_recipe(name, version)
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        raise RecipeError([f"cannot write {out}: {error.strerror or error}"]) from None
    typer.echo(f"wrote {out}")


@recipe_app.command("preview")
@clean_errors
def recipe_preview(
    file: Annotated[Path, typer.Argument(help="A recipe YAML file.")],
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset whose items to preview on.")],
    out: Annotated[Path, typer.Option("--out", help="PNG file to write the before/after grid to.")],
    items: Annotated[int, typer.Option(min=1, max=32, help="How many items (rows).")] = 4,
    variants: Annotated[int, typer.Option(min=1, max=16, help="Augmented variants per item.")] = 4,
    seed: Annotated[int | None, typer.Option(help="Seed for the variants (default: the recipe's).")] = None,
) -> None:
    """Write a before/after grid: originals first, then variants (images, spectrograms or histograms)."""
    from canvascraft.recipe.io import from_yaml
    from canvascraft.services.brushes import preview_grid_png

    text = _read_recipe_file(file)
    try:
        recipe = from_yaml(text)
    except RecipeError as error:
        _report_recipe_errors(file, error)
    open_workspace()
    png = preview_grid_png(recipe, dataset, count=items, n_variants=variants, seed=seed)
    try:
        out.write_bytes(png)
    except OSError as error:
        raise RecipeError([f"cannot write {out}: {error.strerror or error}"]) from None
    typer.echo(f"wrote {out} ({recipe.name} on {dataset})")


@recipe_app.command("schema")
@clean_errors
def recipe_schema(
    modality: Annotated[
        str | None, typer.Option(help="Only brushes of this modality (image, audio, table).")
    ] = None,
) -> None:
    """Print the recipe JSON Schema (every registered brush with its parameters and bounds)."""
    from canvascraft.recipe.schema import recipe_json_schema

    typer.echo(json.dumps(recipe_json_schema(parse_modality(modality)), indent=2))


@brushes_app.command("list")
@clean_errors
def brushes_list(
    modality: Annotated[
        str | None, typer.Option(help="Only brushes of this modality (image, audio, table).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON with every parameter.")] = False,
) -> None:
    """List the registered brushes with their parameters."""
    from canvascraft.brushes.registry import all_brushes
    from canvascraft.recipe.schema import param_schema

    brushes = sorted(all_brushes(parse_modality(modality)), key=lambda b: (b.modality, b.name))
    if as_json:
        rows = [
            {"name": b.name, "modality": b.modality, "summary": b.summary, "augments": b.augments,
             "params": {p.name: {"kind": p.kind, **param_schema(p)} for p in b.params}}
            for b in brushes
        ]  # fmt: skip
        typer.echo(json.dumps(rows, indent=2))
        return
    for b in brushes:
        when = "training only" if b.augments else "always"
        typer.echo(f"{b.name:<22} {b.modality:<6} {when:<13} {b.summary}")
        for p in b.params:
            typer.echo(f"    {p.name:<18} {p.kind:<11} default {p.default!r}: {p.help}")
