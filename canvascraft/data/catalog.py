"""Read-only queries over datasets and versions, returned as plain data for pages and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from canvascraft.errors import DatasetError, Skipped, UnknownDatasetError
from canvascraft.store.models import Dataset, DatasetVersion, Item, SkippedItem


@dataclass(frozen=True)
class VersionSummary:
    number: int
    created_at: datetime
    source: str
    label_column: str | None
    item_count: int
    added_count: int
    skipped_count: int
    label_count: int


@dataclass(frozen=True)
class DatasetSummary:
    name: str
    modality: str
    created_at: datetime
    latest_version: int
    version_count: int
    item_count: int
    label_count: int
    row_count: int | None
    latest_version_id: int


@dataclass(frozen=True)
class ItemView:
    name: str
    label: str | None
    sha256: str
    format: str
    size_bytes: int
    width: int | None
    height: int | None
    channels: int | None
    duration_s: float | None
    sample_rate: int | None
    n_rows: int | None
    columns: list[dict[str, Any]] | None
    class_counts: dict[str, int] | None
    #: Who made a generated item (``{"generator": REF, "seed": S}``); None for imported files.
    generated: dict[str, Any] | None = None
    #: The version whose labelling held this item back for validation (never trained on); else None.
    held_back: int | None = None

    @property
    def is_generated(self) -> bool:
        return self.generated is not None

    @property
    def is_held_back(self) -> bool:
        return self.held_back is not None


MANIFEST_FIELDS = tuple(f.name for f in fields(ItemView))


@dataclass(frozen=True)
class VersionView:
    """One version with its manifest: what the Data page and training read."""

    dataset: str
    modality: str
    version: VersionSummary
    items: list[ItemView]
    skipped: list[Skipped]


def _summary(version: DatasetVersion) -> VersionSummary:
    return VersionSummary(
        number=version.number,
        created_at=version.created_at,
        source=version.source,
        label_column=version.label_column,
        item_count=version.item_count,
        added_count=version.added_count,
        skipped_count=version.skipped_count,
        label_count=version.label_count,
    )


def list_datasets(session: Session) -> list[DatasetSummary]:
    latest = (
        select(DatasetVersion.dataset_id, func.max(DatasetVersion.number).label("latest"),
               func.count().label("versions"))
        .group_by(DatasetVersion.dataset_id)
        .subquery()
    )  # fmt: skip
    rows = session.execute(
        select(Dataset, latest.c.latest, latest.c.versions, DatasetVersion)
        .join(latest, latest.c.dataset_id == Dataset.id)
        .join(
            DatasetVersion,
            (DatasetVersion.dataset_id == Dataset.id) & (DatasetVersion.number == latest.c.latest),
        )
        .order_by(Dataset.name)
    ).all()
    row_counts = dict(
        session.execute(
            select(Item.version_id, func.sum(Item.n_rows))
            .where(Item.version_id.in_([r.DatasetVersion.id for r in rows]), Item.n_rows.is_not(None))
            .group_by(Item.version_id)
        ).all()
    )
    return [
        DatasetSummary(
            name=r.Dataset.name,
            modality=r.Dataset.modality,
            created_at=r.Dataset.created_at,
            latest_version=r.latest,
            version_count=r.versions,
            item_count=r.DatasetVersion.item_count,
            label_count=r.DatasetVersion.label_count,
            row_count=row_counts.get(r.DatasetVersion.id),
            latest_version_id=r.DatasetVersion.id,
        )
        for r in rows
    ]


def get_dataset(session: Session, name: str) -> Dataset:
    dataset = session.scalars(select(Dataset).where(Dataset.name == name)).one_or_none()
    if dataset is None:
        known = ", ".join(session.scalars(select(Dataset.name).order_by(Dataset.name))) or "none yet"
        raise UnknownDatasetError(f"no dataset named '{name}' (datasets: {known}); import one first")
    return dataset


def list_versions(session: Session, name: str) -> list[VersionSummary]:
    return [_summary(v) for v in get_dataset(session, name).versions]


def get_version(session: Session, name: str, number: int | None = None) -> DatasetVersion:
    dataset = get_dataset(session, name)
    if number is None:
        return dataset.versions[-1]
    for version in dataset.versions:
        if version.number == number:
            return version
    numbers = ", ".join(str(v.number) for v in dataset.versions)
    raise DatasetError(f"dataset '{name}' has no version {number} (versions: {numbers})")


def version_view(session: Session, name: str, number: int | None = None) -> VersionView:
    version = get_version(session, name, number)
    items = session.scalars(select(Item).where(Item.version_id == version.id).order_by(Item.name)).all()
    skipped = session.scalars(
        select(SkippedItem).where(SkippedItem.version_id == version.id).order_by(SkippedItem.id)
    ).all()
    return VersionView(
        dataset=name,
        modality=version.dataset.modality,
        version=_summary(version),
        items=[_item_view(i) for i in items],
        skipped=[Skipped(s.name, s.reason) for s in skipped],
    )


def preview_items(session: Session, version_id: int, limit: int = 6) -> list[ItemView]:
    """A few items of a version, one per label first, for a dataset's card."""
    first_per_label = (
        select(func.min(Item.id)).where(Item.version_id == version_id).group_by(Item.label).limit(limit)
    )
    items = session.scalars(select(Item).where(Item.id.in_(first_per_label)).order_by(Item.label)).all()
    return [_item_view(i) for i in items]


def _item_view(item: Item) -> ItemView:
    return ItemView(**{f: getattr(item, f) for f in MANIFEST_FIELDS})
