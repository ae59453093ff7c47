"""Dataset actions: import from a path or from browser uploads, list, open a version, health.

Opening a version and reading stored files are ``canvascraft.data.reads``, shared with the core."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from canvascraft.config import get_settings
from canvascraft.data import catalog
from canvascraft.data.catalog import DatasetSummary, ItemView, VersionSummary, VersionView
from canvascraft.data.health import Health, assess
from canvascraft.data.importer import ImportReport, ProgressCallback, import_entries
from canvascraft.data.preview import column_stats, thumbnail_png, waveform_png
from canvascraft.data.reads import item_bytes, open_version, table_rows
from canvascraft.data.sources import Entry, path_entries, upload_entries_with_folder, upload_source
from canvascraft.gallery import augment
from canvascraft.gallery.augment import MAX_PER_LABEL, AugmentReport
from canvascraft.modalities import get_modality, upload_suffixes
from canvascraft.store.session import open_session

__all__ = [
    "MAX_PER_LABEL",
    "AugmentReport",
    "Health",
    "ItemView",
    "add_generated",
    "column_stats",
    "import_path",
    "import_uploads",
    "item_bytes",
    "list_datasets",
    "list_versions",
    "open_version",
    "table_rows",
    "thumbnail_png",
    "upload_types",
    "version_health",
    "waveform_png",
]


def _import(
    name: str, entries: Callable[[int], Iterable[Entry]], source: str, **options: Any
) -> ImportReport:
    """One import in one transaction; ``entries`` gets the size limit and lists the candidates."""
    settings = get_settings()
    with open_session() as session:
        return import_entries(
            session, settings, name=name, entries=entries(settings.max_upload_bytes), source=source, **options
        )


def import_path(
    path: Path,
    name: str,
    *,
    label_column: str | None = None,
    replace: bool = False,
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import a folder (labels from sub-folder names), a ``.zip`` or one data file."""
    return _import(
        name,
        lambda limit: path_entries(path, limit),
        f"{'folder' if path.is_dir() else 'file'} {path.name}",
        label_column=label_column,
        replace=replace,
        on_progress=on_progress,
    )


def import_uploads(
    files: list[tuple[str, bytes]],
    name: str,
    *,
    label: str | None = None,
    label_column: str | None = None,
    replace: bool = False,
    on_progress: ProgressCallback | None = None,
    folder_files: list[tuple[str, bytes]] | None = None,
) -> ImportReport:
    """Import files uploaded in the browser, all in one version; ``label`` applies to loose files (zips
    and ``folder_files``, a folder chosen in the browser with paths as names, bring sub-folders)."""
    return _import(
        name,
        lambda limit: upload_entries_with_folder(files, folder_files or [], limit, label),
        upload_source(files, folder_files or []),
        label_column=label_column,
        replace=replace,
        on_progress=on_progress,
    )


def list_datasets() -> list[DatasetSummary]:
    with open_session() as session:
        return catalog.list_datasets(session)


def list_versions(name: str) -> list[VersionSummary]:
    with open_session() as session:
        return catalog.list_versions(session, name)


def version_health(view: VersionView) -> Health:
    return assess(view)


def add_generated(
    name: str,
    generator: str,
    per_label: int,
    *,
    labels: list[str] | None = None,
    seed: int = 0,
    steps: int = 20,
    guidance: float = 2.0,
) -> AugmentReport:
    """The DiffusionBrush in one transaction: a new version of ``name`` with generated pictures added."""
    settings = get_settings()
    with open_session() as session:
        return augment.add_generated(
            session,
            settings,
            name,
            generator,
            per_label,
            labels=labels,
            seed=seed,
            steps=steps,
            guidance=guidance,
        )


def upload_types(modality: str | None = None) -> list[str]:
    """The suffixes (no dot) a file picker offers: every file an import reads plus ``zip``, or one
    modality's; kinds the studio refuses with a reason (``m4a``) are let through to be told why."""
    if modality is None:
        return [*upload_suffixes(), "zip"]
    found = get_modality(modality)
    return [s.removeprefix(".") for s in (*found.extensions, *found.undecodable)]
