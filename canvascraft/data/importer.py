"""Turn a stream of candidate files into a new immutable dataset version.

A bad file never stops an import: each one is skipped and listed with its reason, and the rest is
stored. Validation, hashing and storing run in a small thread pool (decoding and hashing release the
GIL), and manifest rows are written in one bulk insert.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from canvascraft.config import Settings
from canvascraft.data.blobs import BlobStore
from canvascraft.data.catalog import MANIFEST_FIELDS, ItemView
from canvascraft.data.health import class_counts
from canvascraft.data.inspect import UNLABELLED, ItemInfo, Modality, inspect_item, modality_of
from canvascraft.data.sources import Candidate, Entry
from canvascraft.errors import CorruptItemError, DatasetError, NothingImportedError, Skipped
from canvascraft.modalities import all_modalities, get_modality, listed, supported_files, unsupported_reason
from canvascraft.store.models import Dataset, DatasetVersion, Item, SkippedItem

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,119}$")
ProgressCallback = Callable[[int, int], None]


@dataclass
class ImportReport:
    """What an import did, for the CLI's summary and the Data page's result box."""

    dataset: str
    modality: str
    version: int
    added: int
    stored_new: int
    item_count: int
    skipped: list[Skipped] = field(default_factory=list)
    repeats: int = 0
    """Files of this import whose bytes repeat another file of the same import (stored once)."""
    source: str = ""
    unchanged: bool = False
    """True when every file was already in the last version as it is: no version was made, and
    ``version`` is that last version."""

    @property
    def deduplicated(self) -> int:
        """Files whose bytes were already stored (earlier, or by another file of this import)."""
        return self.added - self.stored_new

    @property
    def already_stored(self) -> int:
        """Files whose bytes the workspace held before this import (in any dataset)."""
        return self.deduplicated - self.repeats

    @property
    def summary(self) -> str:
        """One plain sentence of what happened, shared by the CLI and the Data page."""
        if self.unchanged:
            text = "the file is" if self.added == 1 else f"all {count_files(self.added)} are"
            return f"{text} already in version {self.version} of {self.dataset}; no new version made"
        parts = [
            f"imported {count_files(self.added)} into {self.dataset} v{self.version} ({self.modality}): "
            f"{self.item_count} items in this version"
        ]
        if self.repeats:
            where = "upload" if self.source.startswith("upload") else "import"
            parts.append(
                f"{count_files(self.repeats)} in the {where} {'repeats' if self.repeats == 1 else 'repeat'} "
                "others in it; each is stored once"
            )
        if self.already_stored:
            parts.append(
                f"{count_files(self.already_stored)} {'was' if self.already_stored == 1 else 'were'} already "
                "in the workspace, so no second copy was stored"
            )
        return "; ".join(parts)


def count_files(count: int) -> str:
    """``1 file``, ``3 files``."""
    return f"{count} file{'' if count == 1 else 's'}"


@dataclass
class _Accepted:
    row: dict[str, object]
    stored_new: bool


def check_dataset_name(name: str) -> str:
    name = name.strip()
    if not NAME_PATTERN.match(name):
        raise DatasetError(
            f"dataset name {name!r} is not allowed: use 1–120 letters, digits, spaces, '-', '_' or '.', "
            "starting with a letter or digit"
        )
    return name


def choose_modality(candidates: list[Candidate], skipped: list[Skipped] | None = None) -> Modality:
    """A new dataset takes the modality most of its files have; the others are skipped."""
    counts = Counter(m for c in candidates if (m := modality_of(c.name)) is not None)
    if not counts:
        names = listed([m.name for m in all_modalities()])
        raise NothingImportedError(
            f"no {names} files found: the studio reads {supported_files()}",
            [*(skipped or []), *(Skipped(c.name, unsupported_reason(c.name)) for c in candidates)],
        )
    return counts.most_common(1)[0][0]


class _ItemProcessor:
    """Validates and stores one candidate; runs on worker threads, touches no database."""

    def __init__(self, settings: Settings, modality: str, dataset: str, label_column: str | None) -> None:
        self.store = BlobStore(settings.blob_dir)
        self.max_pixels = settings.max_image_pixels
        self.modality = modality
        self.dataset = dataset
        self.label_column = label_column

    def __call__(self, candidate: Candidate) -> _Accepted | Skipped:
        kind = modality_of(candidate.name)
        if kind is not None and kind != self.modality:
            return Skipped(
                candidate.name, f"{kind} file, but dataset '{self.dataset}' holds {self.modality} items"
            )
        try:
            data = candidate.read()
            info = inspect_item(
                candidate.name, data, max_image_pixels=self.max_pixels, label_column=self.label_column
            )
        except CorruptItemError as error:
            return Skipped(candidate.name, str(error))
        except (OSError, ValueError) as error:
            return Skipped(candidate.name, f"could not read the file: {error}")
        sha256, stored_new = self.store.put(data)
        return _Accepted(self._row(candidate, info, sha256, len(data)), stored_new)

    @staticmethod
    def _row(candidate: Candidate, info: ItemInfo, sha256: str, size: int) -> dict[str, object]:
        return {
            "name": candidate.name,
            # Rows are labelled by a column, not by the folder their file came from.
            "label": None if get_modality(info.modality).rows else candidate.label,
            "sha256": sha256,
            "format": info.format,
            "size_bytes": size,
            "width": info.width,
            "height": info.height,
            "channels": info.channels,
            "duration_s": info.duration_s,
            "sample_rate": info.sample_rate,
            "n_rows": info.n_rows,
            "columns": info.columns,
            "class_counts": info.class_counts,
            "generated": None,
            "held_back": None,
        }


def import_entries(
    session: Session,
    settings: Settings,
    *,
    name: str,
    entries: Iterable[Entry],
    source: str,
    label_column: str | None = None,
    replace: bool = False,
    on_progress: ProgressCallback | None = None,
    generated: Mapping[str, dict[str, Any]] | None = None,
    held_back: Collection[str] = (),
) -> ImportReport:
    """Validate and store every candidate, then write version N+1 of dataset ``name``.

    The new version holds the previous version's items plus the imported ones (a file with the same
    name replaces the old one), or only the imported ones when ``replace`` is set. ``generated`` marks
    candidates (by name) that a generative model made, so training keeps them out of validation;
    ``held_back`` names candidates training must keep out of training (they always validate), marked
    with the new version's number so a retrain can tell this round's new items from older ones.
    """
    name = check_dataset_name(name)
    listed = list(entries)
    candidates = [e for e in listed if isinstance(e, Candidate)]
    skipped = [e for e in listed if isinstance(e, Skipped)]
    dataset = session.scalars(select(Dataset).where(Dataset.name == name)).one_or_none()
    modality = dataset.modality if dataset else choose_modality(candidates, skipped)
    if get_modality(modality).rows and label_column is None and dataset and dataset.versions:
        label_column = dataset.versions[-1].label_column

    process = _ItemProcessor(settings, modality, name, label_column)
    accepted: list[_Accepted] = []
    total = len(candidates)
    with ThreadPoolExecutor(max_workers=settings.import_workers) as pool:
        for done, outcome in enumerate(pool.map(process, candidates), start=1):
            if isinstance(outcome, Skipped):
                skipped.append(outcome)
            else:
                if generated and outcome.row["name"] in generated:
                    outcome.row["generated"] = dict(generated[str(outcome.row["name"])])
                accepted.append(outcome)
            if on_progress is not None:
                on_progress(done, total)
    if not accepted:
        raise NothingImportedError(
            f"nothing imported into '{name}': all {len(skipped)} files were skipped (reasons listed)",
            skipped,
        )
    return _write_version(
        session, name, modality, dataset, accepted, skipped, source, label_column, replace, set(held_back)
    )


def _write_version(
    session: Session,
    name: str,
    modality: str,
    dataset: Dataset | None,
    accepted: list[_Accepted],
    skipped: list[Skipped],
    source: str,
    label_column: str | None,
    replace: bool,
    held_back: set[str] | None = None,
) -> ImportReport:
    if dataset is None:
        dataset = Dataset(name=name, modality=modality)
        session.add(dataset)
        try:
            session.flush()
        except IntegrityError:
            raise DatasetError(
                f"another import created dataset '{name}' at the same moment; run this import again"
            ) from None
    previous = dataset.versions[-1] if dataset.versions else None
    rows: dict[str, dict[str, object]] = {}
    if previous is not None and not replace:
        old_items = session.execute(
            select(*(getattr(Item, f) for f in MANIFEST_FIELDS)).where(Item.version_id == previous.id)
        )
        rows = {row.name: dict(row._mapping) for row in old_items}
    for item in accepted:
        rows[str(item.row["name"])] = item.row
    report = ImportReport(
        dataset=name,
        modality=modality,
        version=previous.number if previous else 1,
        added=len(accepted),
        stored_new=sum(a.stored_new for a in accepted),
        item_count=len(rows),
        skipped=skipped,
        repeats=len(accepted) - len({a.row["sha256"] for a in accepted}),
        source=source,
    )
    if previous is not None and _same_items(session, previous, rows, label_column):
        report.unchanged = True
        report.item_count = previous.item_count
        return report

    version = DatasetVersion(
        dataset_id=dataset.id,
        number=(previous.number + 1) if previous else 1,
        source=source,
        label_column=label_column,
        item_count=len(rows),
        label_count=len(set(class_counts([ItemView(**row) for row in rows.values()])) - {UNLABELLED}),
        added_count=len(accepted),
        skipped_count=len(skipped),
    )
    session.add(version)
    try:
        session.flush()
    except IntegrityError:
        raise DatasetError(
            f"another import wrote a version of '{name}' at the same moment; run this import again"
        ) from None
    for item in accepted:
        if held_back and item.row["name"] in held_back:
            rows[str(item.row["name"])]["held_back"] = version.number
    session.execute(insert(Item), [{**row, "version_id": version.id} for row in rows.values()])
    if skipped:
        session.execute(
            insert(SkippedItem),
            [{"version_id": version.id, "name": s.name, "reason": s.reason} for s in skipped],
        )
    report.version = version.number
    return report


def _same_items(
    session: Session, previous: DatasetVersion, rows: dict[str, dict[str, object]], label_column: str | None
) -> bool:
    """Whether a version of ``rows`` would hold exactly what ``previous`` holds: the same names with
    the same bytes and labels, and the same label column (a re-upload must not make an empty version)."""
    if label_column != previous.label_column:
        return False
    old = session.execute(select(Item.name, Item.sha256, Item.label).where(Item.version_id == previous.id))
    return {row.name: (row.sha256, row.label) for row in old} == {
        name: (row["sha256"], row["label"]) for name, row in rows.items()
    }
