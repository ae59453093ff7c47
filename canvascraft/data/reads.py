"""What training, drift checks and predictions read of stored datasets: a version by name, a stored
file's bytes, and a table version's rows. Each opens its own session, so callers hold none."""

from __future__ import annotations

import pandas as pd

from canvascraft.config import get_settings
from canvascraft.data import catalog
from canvascraft.data.blobs import BlobStore
from canvascraft.data.catalog import VersionView
from canvascraft.data.inspect import read_table
from canvascraft.store.session import open_session


def open_version(name: str, number: int | None = None) -> VersionView:
    """A version's manifest and skipped list (the latest version when ``number`` is None)."""
    with open_session() as session:
        return catalog.version_view(session, name, number)


def item_bytes(sha256: str) -> bytes:
    return BlobStore(get_settings().blob_dir).read(sha256)


def table_rows(view: VersionView) -> pd.DataFrame:
    """All rows of a table version, its files stacked in manifest order."""
    frames = [read_table(item_bytes(item.sha256), item.format) for item in view.items]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
