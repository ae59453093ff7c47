"""The recipe library in the database: save (a new version only when something changed), list, load,
import, export, duplicate, and the starter recipes of a new workspace.

Saved versions are immutable, like dataset versions: a run records (name, version) and can always get
back exactly the brushes it trained with.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from canvascraft.errors import RecipeError, UnknownRecipeError
from canvascraft.recipe.io import from_yaml, to_yaml
from canvascraft.recipe.spec import Recipe, validate_recipe
from canvascraft.recipe.starters import STARTER_RECIPES
from canvascraft.store.models import RecipeVersion
from canvascraft.store.session import open_session

log = logging.getLogger(__name__)

KNOWN_SHOWN = 20  # names listed in a "no recipe named ..." error


@dataclass(frozen=True)
class RecipeSummary:
    """One recipe as lists show it: its latest version (or the one a save returned)."""

    name: str
    modality: str
    version: int
    version_count: int
    brush_count: int
    description: str
    created_at: datetime
    new_version: bool = False  # True when save_recipe wrote this version; False if nothing changed


@dataclass(frozen=True)
class RecipeVersionInfo:
    """One saved version of a recipe, for a version picker."""

    name: str
    version: int
    modality: str
    brush_count: int
    created_at: datetime


def save_recipe(recipe: Recipe | Mapping[str, Any]) -> RecipeSummary:
    """Validate and save; writes a new version only when it differs from the latest one."""
    recipe = validate_recipe(recipe)
    spec = recipe.model_dump(mode="json")
    with open_session() as session:
        latest = _latest(session, recipe.name)
        count = _version_count(session, recipe.name)
        if latest is not None:
            if latest.modality != recipe.modality:
                raise RecipeError(
                    [f"name: recipe {recipe.name!r} is for {latest.modality} data; save this "
                     f"{recipe.modality} recipe under another name"]
                )  # fmt: skip
            if latest.spec == spec:
                return _summary(latest, count, new_version=False)
        row = RecipeVersion(
            name=recipe.name,
            version=latest.version + 1 if latest else 1,
            modality=recipe.modality,
            spec=spec,
        )
        session.add(row)
        try:
            session.flush()
        except IntegrityError:
            raise RecipeError(
                [f"name: another save wrote a version of {recipe.name!r} at the same moment; save again"]
            ) from None
        return _summary(row, count + 1, new_version=True)


def list_recipes() -> list[RecipeSummary]:
    """Every recipe, by name, with its latest version and how many versions it has."""
    stats = (
        select(
            RecipeVersion.name,
            func.max(RecipeVersion.version).label("latest"),
            func.count().label("versions"),
        )
        .group_by(RecipeVersion.name)
        .subquery()
    )
    query = (
        select(RecipeVersion, stats.c.versions)
        .join(stats, (RecipeVersion.name == stats.c.name) & (RecipeVersion.version == stats.c.latest))
        .order_by(func.lower(RecipeVersion.name), RecipeVersion.name)
    )
    with open_session() as session:
        return [_summary(row, versions) for row, versions in session.execute(query)]


def recipe_names(modality: str, first: str | None = None) -> list[str]:
    """The modality's recipe names in the order a picker offers them: ``first`` (a trainer's own
    starter) when it exists, then the modality's starter, then the rest by name."""
    names = [r.name for r in list_recipes() if r.modality == modality]
    leading = [n for n in dict.fromkeys((first, f"{modality}-starter")) if n in names]
    return leading + [n for n in names if n not in leading]


def load_recipe(name: str, version: int | None = None) -> Recipe:
    """A saved recipe (the latest version unless one is given), exactly as it was saved.

    It is not re-checked against today's brushes, so a recipe whose brush has since changed still
    opens for editing; composing it validates it again.
    """
    with open_session() as session:
        return Recipe.model_validate(_row(session, name, version).spec)


def recipe_versions(name: str) -> list[RecipeVersionInfo]:
    """The saved versions of a recipe, oldest first."""
    with open_session() as session:
        rows = session.scalars(
            select(RecipeVersion).where(RecipeVersion.name == name).order_by(RecipeVersion.version)
        ).all()
        if not rows:
            raise _unknown(session, name)
        return [
            RecipeVersionInfo(r.name, r.version, r.modality, len(r.spec.get("brushes", [])), r.created_at)
            for r in rows
        ]


def import_recipe_text(text: str) -> RecipeSummary:
    """Save a recipe from YAML text (a file or an upload); every problem is reported at once."""
    return save_recipe(from_yaml(text))


def export_recipe(name: str, version: int | None = None) -> str:
    """A saved recipe as YAML, ready to share or to edit and import again."""
    return to_yaml(load_recipe(name, version))


def duplicate_recipe(name: str, new_name: str) -> RecipeSummary:
    """Save the latest version of ``name`` under ``new_name`` as that recipe's first version."""
    source = load_recipe(name)
    copy = validate_recipe({**source.model_dump(), "name": new_name})
    with open_session() as session:
        if _latest(session, copy.name) is not None:
            raise RecipeError([f"name: a recipe named {copy.name!r} already exists; choose another name"])
    return save_recipe(copy)


def ensure_starter_recipes() -> list[str]:
    """Save each starter recipe whose name is not taken yet; returns the names saved.

    A starter that does not validate is logged and left out rather than stopping the studio from
    starting: the test suite checks that every starter validates.
    """
    names = [starter.name for starter in STARTER_RECIPES]
    with open_session() as session:
        taken = set(session.scalars(select(RecipeVersion.name).where(RecipeVersion.name.in_(names))))
    saved = []
    for starter in STARTER_RECIPES:
        if starter.name in taken:
            continue
        try:
            save_recipe(starter)
        except RecipeError as error:
            with open_session() as session:
                if _latest(session, starter.name) is not None:
                    continue  # another process saved it at the same moment
            log.warning("starter recipe %r was not saved: %s", starter.name, error)
            continue
        saved.append(starter.name)
    return saved


def _latest(session: Session, name: str) -> RecipeVersion | None:
    return session.scalars(
        select(RecipeVersion)
        .where(RecipeVersion.name == name)
        .order_by(RecipeVersion.version.desc())
        .limit(1)
    ).first()


def _version_count(session: Session, name: str) -> int:
    query = select(func.count()).select_from(RecipeVersion).where(RecipeVersion.name == name)
    return session.scalar(query) or 0


def _row(session: Session, name: str, version: int | None) -> RecipeVersion:
    if version is None:
        row = _latest(session, name)
        if row is None:
            raise _unknown(session, name)
        return row
    row = session.scalars(
        select(RecipeVersion).where(RecipeVersion.name == name, RecipeVersion.version == version)
    ).first()
    if row is None:
        versions = session.scalars(
            select(RecipeVersion.version).where(RecipeVersion.name == name).order_by(RecipeVersion.version)
        ).all()
        if not versions:
            raise _unknown(session, name)
        raise RecipeError(
            [f"recipe {name!r} has no version {version}; its versions are {', '.join(map(str, versions))}"]
        )
    return row


def _unknown(session: Session, name: str) -> UnknownRecipeError:
    known = sorted(set(session.scalars(select(RecipeVersion.name))), key=str.lower)
    if not known:
        return UnknownRecipeError(
            [f"no recipe named {name!r}: there are no recipes yet; import or create one"]
        )
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    shown = ", ".join(known[:KNOWN_SHOWN]) + (
        f" and {len(known) - KNOWN_SHOWN} more" if len(known) > KNOWN_SHOWN else ""
    )
    return UnknownRecipeError([f"no recipe named {name!r}{hint} (known recipes: {shown})"])


def _summary(row: RecipeVersion, version_count: int, new_version: bool = False) -> RecipeSummary:
    return RecipeSummary(
        name=row.name,
        modality=row.modality,
        version=row.version,
        version_count=version_count,
        brush_count=len(row.spec.get("brushes", [])),
        description=str(row.spec.get("description", "")),
        created_at=row.created_at,
        new_version=new_version,
    )
