"""A model's drift reference, prepared once and stored in the workspace for every later check.

A check compares the current batch with the feature table of the model's training data. Rebuilding that
table means reading up to :data:`~canvascraft.drift.checks.REFERENCE_ITEMS` stored items and computing
their features, then sorting every column; the result only depends on the run (its params pin the
dataset version, and stored items never change) and on which features its profile lists. So it is built
once, when the model is first watched or when a check finds none, and kept as
``workspace/drift-references/RUN_ID.npz``:

* per column, its finite values sorted (one float64 array, cut by ``offsets``) and how many values were
  NaN or infinite: everything KS, Wasserstein and the histograms read, exactly;
* per column, the quantile bin edges PSI and Jensen–Shannon use, and the spread Wasserstein is divided by;
* per column, pandas' mean and standard deviation (the "how unusual" score of table rows);
* the number of rows, and a key (format, run id, profile features, bins) that must match on load.

Plain ``np.savez`` arrays read with ``allow_pickle=False``: loading never runs code. The file is sealed
like stored files when encryption at rest is on (:mod:`canvascraft.store.sealing`). A file that is
missing, unreadable, sealed with a key that is not set, or built for another key is rebuilt and replaced
(written to a temporary name and renamed, so a reader never sees half a file).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from canvascraft.drift.metrics import MetricResult, NumericReference, quantile_edges, sorted_finite
from canvascraft.errors import CanvasCraftError

log = logging.getLogger(__name__)

REFERENCE_FORMAT = 1
"""Bumped when the stored layout or what goes into it changes, so old files are rebuilt, not misread."""

BINS = 10
"""Quantile bins of PSI and Jensen–Shannon (``numeric_drift``'s default, what checks use)."""


def references_dir() -> Path:
    """``workspace/drift-references``: one file per run."""
    from canvascraft.config import get_settings

    return get_settings().drift_reference_dir


def reference_path(run_id: str) -> Path:
    return references_dir() / f"{run_id}.npz"


def reference_key(run_id: str, features: Iterable[str], items: int) -> str:
    """What a stored reference was built for: the format, the run, its profile's features, the item cap
    and the bins. Any change gives another key, so the stored file is rebuilt."""
    payload = json.dumps([REFERENCE_FORMAT, run_id, sorted(features), items, BINS])
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class StoredReference:
    """The prepared reference of one run: see the module docstring for what each array holds."""

    key: str
    rows: int
    columns: list[str]
    values: list[np.ndarray]
    dropped: np.ndarray
    edges: list[np.ndarray]
    spread: np.ndarray
    means: np.ndarray
    stds: np.ndarray

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, key: str) -> StoredReference:
        """Every column of ``frame`` as numbers (text becomes NaN, as checks read it), prepared."""
        columns = [str(name) for name in frame.columns]
        coerced = frame.apply(pd.to_numeric, errors="coerce") if columns else frame
        values, dropped, edges, spread = [], [], [], []
        for name in frame.columns:
            column = sorted_finite(pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64))
            values.append(column.values)
            dropped.append(column.dropped)
            has_values = column.values.size > 0
            edges.append(quantile_edges(column.values, BINS) if has_values else np.empty(0))
            spread.append(float(np.std(column.values)) if has_values else 0.0)
        means = coerced.mean().to_numpy(dtype=np.float64) if columns else np.empty(0)
        stds = coerced.std().to_numpy(dtype=np.float64) if columns else np.empty(0)
        return cls(
            key, len(frame), columns, values, np.array(dropped, dtype=np.int64), edges,
            np.array(spread, dtype=np.float64), means, stds,
        )  # fmt: skip

    def finite_count(self, column: str) -> int:
        """How many finite values the reference has in ``column`` (0 for a column it does not have)."""
        return self.values[self.columns.index(column)].size if column in self.columns else 0

    def column(self, column: str) -> np.ndarray:
        """The column's finite values, sorted (empty for a column the reference does not have)."""
        return self.values[self.columns.index(column)] if column in self.columns else np.empty(0)

    def numeric(self, columns: Sequence[str], workers: int | None = None) -> NumericReference:
        """A :class:`NumericReference` over ``columns``, from the stored arrays (nothing sorted again)."""
        chosen = [self.columns.index(name) for name in columns]
        return NumericReference.prepared(
            list(columns),
            [self.values[i] for i in chosen],
            [int(self.dropped[i]) for i in chosen],
            [self.edges[i] if self.values[i].size else None for i in chosen],
            [float(self.spread[i]) for i in chosen],
            bins=BINS,
            workers=workers,
        )

    def compare(
        self,
        current: pd.DataFrame,
        columns: Sequence[str],
        thresholds: Mapping[str, float] | None = None,
        workers: int | None = None,
    ) -> dict[str, dict[str, MetricResult]]:
        """PSI, KS and Wasserstein of ``columns`` of a current table (text becomes NaN) against this
        reference: what a check runs on its numeric features."""
        table = current[list(columns)].apply(pd.to_numeric, errors="coerce")
        return self.numeric(columns, workers).compare(table, thresholds=thresholds)

    def column_stats(self, columns: Sequence[str]) -> tuple[pd.Series, pd.Series]:
        """pandas' mean and standard deviation of ``columns`` (those the reference has)."""
        index = pd.Index(self.columns)
        means, stds = pd.Series(self.means, index=index), pd.Series(self.stds, index=index)
        return means[list(columns)], stds[list(columns)]

    # ----------------------------------------------------------------------------------------- storage

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(
            buffer,
            key=np.array(self.key),
            rows=np.array(self.rows, dtype=np.int64),
            columns=np.array(self.columns, dtype=np.str_),
            values=np.concatenate(self.values) if self.values else np.empty(0),
            offsets=np.cumsum([0, *(v.size for v in self.values)], dtype=np.int64),
            dropped=self.dropped,
            edges=np.concatenate(self.edges) if self.edges else np.empty(0),
            edge_offsets=np.cumsum([0, *(e.size for e in self.edges)], dtype=np.int64),
            spread=self.spread,
            means=self.means,
            stds=self.stds,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> StoredReference:
        """The reference stored in ``data``; ``ValueError`` when it is not one (damaged, or another
        layout)."""
        return cls.read(io.BytesIO(data))

    @classmethod
    def read(cls, source: Path | BinaryIO) -> StoredReference:
        """The reference stored in a file (read straight into its arrays, no copy of the whole file in
        between) or a binary stream; ``ValueError`` when it is not one."""
        try:
            with np.load(source, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
        except (OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
            raise ValueError(f"not a stored reference: {error}") from None
        try:
            columns = [str(name) for name in arrays["columns"].tolist()]
            offsets, edge_offsets = arrays["offsets"], arrays["edge_offsets"]
            count = len(columns)
            lengths = {name: arrays[name].shape for name in ("dropped", "spread", "means", "stds")}
            if (
                offsets.size != count + 1
                or edge_offsets.size != count + 1
                or any(shape != (count,) for shape in lengths.values())
            ):
                raise ValueError("its arrays do not match its columns")
            if offsets[-1] != arrays["values"].size or edge_offsets[-1] != arrays["edges"].size:
                raise ValueError("its values are cut short")
            values = [arrays["values"][offsets[i] : offsets[i + 1]] for i in range(count)]
            edges = [arrays["edges"][edge_offsets[i] : edge_offsets[i + 1]] for i in range(count)]
            return cls(
                str(arrays["key"]), int(arrays["rows"]), columns, values, arrays["dropped"], edges,
                arrays["spread"], arrays["means"], arrays["stds"],
            )  # fmt: skip
        except KeyError as error:
            raise ValueError(f"not a stored reference: no {error}") from None


def load_reference(path: Path, key: str) -> StoredReference | None:
    """The reference stored at ``path`` when it is whole and built for ``key``; None otherwise (the
    reason is logged, and the caller rebuilds it)."""
    from canvascraft.store.sealing import MAGIC, is_sealed, read_file

    if not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            sealed = is_sealed(handle.read(len(MAGIC)))
        found = StoredReference.from_bytes(read_file(path)) if sealed else StoredReference.read(path)
    except (ValueError, OSError, CanvasCraftError) as error:
        log.warning("drift reference %s cannot be read (%s); rebuilding it", path.name, error)
        return None
    if found.key != key:
        log.info("drift reference %s was built for other features or an older format; rebuilding", path.name)
        return None
    return found


def save_reference(path: Path, reference: StoredReference) -> None:
    """Write ``reference`` to ``path`` whole (a temporary file renamed over the old one)."""
    from canvascraft.store.sealing import seal

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_bytes(seal(reference.to_bytes()))
    os.replace(partial, path)


def stored_reference(run_id: str, key: str, build: Callable[[], pd.DataFrame]) -> StoredReference:
    """The run's stored reference for ``key``, built from ``build()`` and stored when there is none
    usable. A file that cannot be written leaves the check working on the one just built."""
    path = reference_path(run_id)
    found = load_reference(path, key)
    if found is not None:
        return found
    reference = StoredReference.from_frame(build(), key)
    try:
        save_reference(path, reference)
    except OSError as error:
        log.warning("drift reference for run %s could not be stored (%s)", run_id, error)
    return reference
