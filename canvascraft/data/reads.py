"""What training, drift checks and predictions read of stored datasets: a version by name, a stored
file's bytes, and a table version's rows. Each opens its own session, so callers hold none."""

from __future__ import annotations

from collections.abc import Callable
from itertools import zip_longest

import pandas as pd

from canvascraft.config import get_settings
from canvascraft.data import catalog
from canvascraft.data.blobs import BlobStore
from canvascraft.data.catalog import ItemView, VersionView
from canvascraft.errors import DatasetError
from canvascraft.modalities.registry import get_modality
from canvascraft.store.session import open_session


def open_version(name: str, number: int | None = None) -> VersionView:
    """A version's manifest and skipped list (the latest version when ``number`` is None)."""
    with open_session() as session:
        return catalog.version_view(session, name, number)


def item_bytes(sha256: str) -> bytes:
    return BlobStore(get_settings().blob_dir).read(sha256)


def table_rows(view: VersionView, read: Callable[[str], bytes] | None = None) -> pd.DataFrame:
    """All rows of a table version, its files stacked in manifest order (``read`` gives stored bytes
    by hash; the workspace's blob store by default)."""
    read = read or item_bytes
    modality = get_modality(view.modality)
    frames = [modality.decode(read(item.sha256), item.format) for item in view.items]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def items_across_labels(view: VersionView, count: int) -> list[ItemView]:
    """``count`` items spread over the labels (one of each label in turn): what previews show."""
    by_label: dict[str | None, list[ItemView]] = {}
    for item in view.items:
        by_label.setdefault(item.label, []).append(item)
    interleaved = [i for group in zip_longest(*by_label.values()) for i in group if i is not None]
    if not interleaved:
        raise DatasetError(f"dataset '{view.dataset}' has no items to preview")
    return interleaved[:count]
