"""Dataset actions: import from a path or from browser uploads, list, open a version, health, the
dataset's licence and consent, and export of a version.

Opening a version and reading stored files are ``canvascraft.data.reads``, shared with the core."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from canvascraft.config import get_settings
from canvascraft.data import catalog
from canvascraft.data.catalog import DatasetSummary, ItemView, VersionSummary, VersionView
from canvascraft.data.export import ExportedVersion, export_version
from canvascraft.data.health import Health, assess
from canvascraft.data.importer import ImportReport, ProgressCallback, import_entries
from canvascraft.data.licence import (
    CONSENTS,
    LICENCES,
    OWN_WORK,
    LicenceTerms,
    check_terms,
    get_terms,
    set_terms,
)
from canvascraft.data.preview import column_stats, thumbnail_png, waveform_png
from canvascraft.data.reads import item_bytes, open_version, table_rows
from canvascraft.data.sources import Entry, path_entries, upload_entries_with_folder, upload_source
from canvascraft.gallery import augment
from canvascraft.gallery.augment import MAX_PER_LABEL, AugmentReport
from canvascraft.modalities import get_modality, upload_suffixes
from canvascraft.services.guard import action
from canvascraft.store.session import open_session

__all__ = [
    "CONSENTS",
    "LICENCES",
    "MAX_PER_LABEL",
    "OWN_WORK",
    "AugmentReport",
    "ExportedVersion",
    "Health",
    "ItemView",
    "LicenceTerms",
    "add_generated",
    "column_stats",
    "dataset_licence",
    "export_dataset",
    "export_dataset_to",
    "import_path",
    "import_uploads",
    "item_bytes",
    "list_datasets",
    "list_versions",
    "open_version",
    "set_dataset_licence",
    "table_rows",
    "thumbnail_png",
    "upload_types",
    "version_health",
    "waveform_png",
]


def _import(
    name: str,
    entries: Callable[[int], Iterable[Entry]],
    source: str,
    terms: tuple[str | None, str | None, str | None] = (None, None, None),
    **options: Any,
) -> ImportReport:
    """One import in one transaction; ``entries`` gets the size limit and lists the candidates.
    ``terms`` (licence, source, consent) are checked before any file is read, and set with the
    version, so a bad licence stores nothing."""
    licence, attribution, consent = check_terms(*terms)
    settings = get_settings()
    with open_session() as session:
        report = import_entries(
            session, settings, name=name, entries=entries(settings.max_upload_bytes), source=source, **options
        )
        if (licence, attribution, consent) != (None, None, None):
            set_terms(session, report.dataset, licence=licence, source=attribution, consent=consent)
        return report


@action(role="artist", does="import a dataset", audit="dataset.import", target="{name}")
def import_path(
    path: Path,
    name: str,
    *,
    label_column: str | None = None,
    replace: bool = False,
    on_progress: ProgressCallback | None = None,
    licence: str | None = None,
    source: str | None = None,
    consent: str | None = None,
) -> ImportReport:
    """Import a folder (labels from sub-folder names), a ``.zip`` or one data file; ``licence``,
    ``source`` and ``consent`` set the dataset's terms (left out: kept as they are)."""
    return _import(
        name,
        lambda limit: path_entries(path, limit),
        f"{'folder' if path.is_dir() else 'file'} {path.name}",
        (licence, source, consent),
        label_column=label_column,
        replace=replace,
        on_progress=on_progress,
    )


@action(role="artist", does="import a dataset", audit="dataset.import", target="{name}")
def import_uploads(
    files: list[tuple[str, bytes]],
    name: str,
    *,
    label: str | None = None,
    label_column: str | None = None,
    replace: bool = False,
    on_progress: ProgressCallback | None = None,
    licence: str | None = None,
    source: str | None = None,
    consent: str | None = None,
    folder_files: list[tuple[str, bytes]] | None = None,
) -> ImportReport:
    """Import files uploaded in the browser, all in one version; ``label`` applies to loose files (zips
    and ``folder_files``, a folder chosen in the browser with paths as names, bring sub-folders)."""
    return _import(
        name,
        lambda limit: upload_entries_with_folder(files, folder_files or [], limit, label),
        upload_source(files, folder_files or []),
        (licence, source, consent),
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


def dataset_licence(name: str) -> LicenceTerms:
    """The dataset's licence, source and consent (what its models' cards show)."""
    with open_session() as session:
        return get_terms(session, name)


@action(role="artist", does="change a dataset's licence", audit="dataset.licence", target="{name}")
def set_dataset_licence(
    name: str, *, licence: str | None = None, source: str | None = None, consent: str | None = None
) -> LicenceTerms:
    """Change the parts given: a licence (an SPDX id or 'own work'; empty clears it), the source or
    attribution, consent (yes, no or unknown). Every model trained on the dataset shows the change."""
    with open_session() as session:
        return set_terms(session, name, licence=licence, source=source, consent=consent)


@action(role="artist", does="export a dataset", audit="dataset.export", target="{name} v{version}")
def export_dataset(name: str, version: int | None = None) -> ExportedVersion:
    """A version as a zip that leaves the studio, in memory (``data``): label folders (or one CSV for a
    table), the manifest and the LICENCE.md (the latest version when ``version`` is None)."""
    settings = get_settings()
    with open_session() as session:
        return export_version(session, settings, name, version)


@action(role="artist", does="export a dataset", audit="dataset.export", target="{name} v{version}")
def export_dataset_to(name: str, version: int | None, out: IO[bytes]) -> ExportedVersion:
    """``export_dataset`` written into ``out`` (a large dataset never sits in memory)."""
    settings = get_settings()
    with open_session() as session:
        return export_version(session, settings, name, version, out)


@action(role="artist", does="add generated pictures to a dataset", audit="dataset.add_generated",
        target="{name} from {generator}")  # fmt: skip
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
