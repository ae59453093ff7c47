"""A dataset version out of the studio, so data is never locked in: one zip holding the data as label
folders (pictures, clips) or one CSV (a table), ``manifest.json`` and ``LICENCE.md``.

The zip imports back into the studio as the same items and labels: folders are labels there too, and
the two sidecars at its top are left alone by imports (``sources.EXPORT_SIDECARS``). Stored names are
whatever the artist's files were called, so they never become member paths as they are: each part is
cleaned (no separators, drive letters, control characters, leading dots or names Windows reserves)
and made unique without regard to case, and the manifest keeps the original name beside the path it
got.
"""

from __future__ import annotations

import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import PurePosixPath
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canvascraft.config import Settings
from canvascraft.data.blobs import BlobStore
from canvascraft.data.catalog import get_version, version_view
from canvascraft.data.licence import LicenceTerms, get_terms, licence_markdown
from canvascraft.data.reads import table_rows
from canvascraft.data.sources import EXPORT_SIDECARS
from canvascraft.modalities import get_modality
from canvascraft.store.models import Item

MANIFEST, LICENCE = EXPORT_SIDECARS
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
MAX_PART_BYTES = 120


@dataclass(frozen=True)
class ExportedVersion:
    """What an export wrote: the zip's suggested file name, its bytes (None when written to a file),
    how many items it holds, and the dataset's terms with what they lack."""

    file_name: str
    item_count: int
    terms: LicenceTerms
    data: bytes | None = None


def safe_part(text: str, fallback: str) -> str:
    """One path part that is safe on every system: separators and control characters become ``_``,
    leading dots and trailing dots or spaces go, reserved device names get a ``_`` in front, and a
    part longer than ``MAX_PART_BYTES`` is shortened keeping its extension."""
    cleaned = _UNSAFE.sub("_", unicodedata.normalize("NFC", text)).strip().lstrip(".").rstrip(". ")
    if not cleaned or cleaned == "__MACOSX":
        cleaned = fallback if cleaned != "__MACOSX" else f"_{cleaned}"
    if _RESERVED.match(cleaned):
        cleaned = f"_{cleaned}"
    if len(cleaned.encode()) > MAX_PART_BYTES:
        suffix = PurePosixPath(cleaned).suffix
        suffix = suffix if len(suffix.encode()) <= 16 else ""
        stem = cleaned[: len(cleaned) - len(suffix)] if suffix else cleaned
        while len((stem + suffix).encode()) > MAX_PART_BYTES:
            stem = stem[:-1]
        cleaned = stem + suffix
    return cleaned


class _UniquePaths:
    """Member paths, each unique without regard to case (``Cat.png`` and ``cat.png`` would be one file
    on macOS or Windows): a taken path gets ``-2``, ``-3``… before its extension."""

    def __init__(self, reserved: tuple[str, ...]) -> None:
        self._taken = {path.casefold() for path in reserved}

    def claim(self, folder: str | None, name: str) -> str:
        stem, suffix = _split(name)
        candidate, number = name, 1
        while True:
            path = f"{folder}/{candidate}" if folder else candidate
            if path.casefold() not in self._taken:
                self._taken.add(path.casefold())
                return path
            number += 1
            candidate = f"{stem}-{number}{suffix}"


def _split(name: str) -> tuple[str, str]:
    suffix = PurePosixPath(name).suffix
    return (name[: -len(suffix)], suffix) if suffix and suffix != name else (name, "")


def export_version(
    session: Session, settings: Settings, name: str, number: int | None = None, out: IO[bytes] | None = None
) -> ExportedVersion:
    """Write the version's zip into ``out`` (or into memory, returned as ``data``)."""
    version = get_version(session, name, number)
    view = version_view(session, name, version.number)
    terms = get_terms(session, name)
    rows = session.scalars(select(Item).where(Item.version_id == version.id).order_by(Item.name)).all()
    store = BlobStore(settings.blob_dir)
    buffer = BytesIO() if out is None else None
    target = buffer if buffer is not None else out
    assert target is not None
    manifest: list[dict[str, Any]] = []
    table = get_modality(view.modality).rows
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if table:
            csv_name = f"{safe_part(name, 'table')}.csv"
            archive.writestr(csv_name, table_rows(view, store.read).to_csv(index=False))
            manifest = [
                {"id": row.id, "name": row.name, "label": row.label, "sha256": row.sha256,
                 "rows": row.n_rows, "class_counts": row.class_counts, "path": csv_name}
                for row in rows
            ]  # fmt: skip
        else:
            paths = _UniquePaths(EXPORT_SIDECARS)
            for row in rows:
                folder = safe_part(row.label, "label") if row.label else None
                base = PurePosixPath(row.name.replace("\\", "/")).name
                path = paths.claim(folder, safe_part(base, f"item-{row.id}"))
                archive.writestr(path, store.read(row.sha256))
                entry = {"id": row.id, "name": row.name, "label": row.label, "sha256": row.sha256,
                         "path": path}  # fmt: skip
                if row.generated:
                    entry["generated"] = row.generated
                manifest.append(entry)
        document = {
            "dataset": name,
            "version": version.number,
            "modality": view.modality,
            "label_column": version.label_column,
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "licence": {"licence": terms.licence, "source": terms.source, "consent": terms.consent},
            "items": manifest,
        }
        archive.writestr(MANIFEST, json.dumps(document, indent=2, ensure_ascii=False))
        archive.writestr(LICENCE, licence_markdown(name, version.number, terms))
    return ExportedVersion(
        file_name=f"{safe_part(name, 'dataset')}-v{version.number}.zip",
        item_count=len(rows),
        terms=terms,
        data=buffer.getvalue() if buffer is not None else None,
    )
