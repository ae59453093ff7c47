"""What pages, the CLI and reports read about monitors and checks: plain frozen records, no ORM rows.

A stored check carries everything its views draw (``CheckDetail``): metrics per feature, binned
histograms of both sides, the embedding projection and the farthest items, so a check reopens exactly
as it was after its files have moved on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


def watch_root() -> Path:
    """Where watched models' folders live (``workspace/watch``)."""
    from canvascraft.config import get_settings

    return get_settings().workspace / "watch"


def sent_root() -> Path:
    """Where files sent to Try are kept for the models watched on them (``workspace/sent``)."""
    from canvascraft.config import get_settings

    return get_settings().workspace / "sent"


def monitor_folder(source_kind: str, folder: str) -> Path:
    """The folder a monitor's checks read: its files sent to Try, or its watched folder."""
    return (sent_root() if source_kind == "sent" else watch_root()) / folder


def model_ref(model_name: str, alias: str) -> str:
    """``NAME@ALIAS`` (or ``NAME/VERSION`` when the alias is a number): what a monitor watches."""
    separator = "/" if alias.isdigit() else "@"
    return f"{model_name}{separator}{alias}"


FEW_ITEMS = 30
"""Checks on fewer current items carry a caveat: 30 is the usual rule of thumb below which a sample's
distribution (and the KS, chi-square and MMD tests on it) says little, and PSI's ten bins hold about
three items each."""


@dataclass(frozen=True)
class MonitorView:
    """A model under watch: the version it checks, its data, its schedule and its limits."""

    id: int
    model_name: str
    alias: str
    source_kind: str
    """``folder`` (the watched folder), ``sent`` (files sent to Try) or ``dataset``."""
    source: str
    """The dataset's name when ``source_kind`` is ``dataset``; empty otherwise."""
    folder: Path
    """Where new files for this model land (``workspace/watch/<slug>``)."""
    every_s: int | None
    cron: str | None
    paused: bool
    thresholds: dict[str, float]
    """Every metric's limit: the model's own where set, else the default."""
    custom_thresholds: dict[str, float]
    """Only the limits this model overrides."""
    next_run: datetime | None
    """When the scheduler runs the next check (None when paused or not scheduled)."""

    @property
    def ref(self) -> str:
        return model_ref(self.model_name, self.alias)

    @property
    def scheduled(self) -> bool:
        return self.every_s is not None or self.cron is not None

    @property
    def schedule_label(self) -> str:
        """``every 1 h``, ``cron 0 * * * *``, ``not scheduled``; ``(paused)`` appended when paused."""
        if self.every_s is not None:
            text = f"every {format_every(self.every_s)}"
        elif self.cron is not None:
            text = f"cron {self.cron}"
        else:
            return "not scheduled"
        return f"{text} (paused)" if self.paused else text

    @property
    def source_label(self) -> str:
        """The current data in words, for tables and headers."""
        if self.source_kind == "dataset":
            return f"latest version of dataset {self.source}"
        if self.source_kind == "sent":
            return "files sent to Try"
        return f"new files in {self.folder}"


def format_every(seconds: int) -> str:
    """``90`` → ``90 s``, ``3600`` → ``1 h``, ``5400`` → ``90 min``: the largest unit that divides evenly."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


@dataclass(frozen=True)
class MetricPoint:
    """One metric of one feature in one check."""

    feature: str
    """A column or signal statistic, ``embedding`` or ``prediction``."""
    metric: str
    value: float | None
    threshold: float
    p_value: float | None
    drifted: bool


@dataclass(frozen=True)
class CheckSummary:
    """One check's row: when, which version against which data, and the verdict."""

    id: int
    model_name: str
    model_ref: str
    model_version: int | None
    run_id: str | None
    current: str
    trigger: str
    """``schedule``, ``manual`` or ``cli``."""
    state: str
    """``queued``, ``running``, ``done``, ``no_data`` or ``failed``."""
    created_at: datetime
    finished_at: datetime | None
    drifted: bool | None
    n_reference: int | None
    n_current: int | None
    sentences: list[str]
    error: str | None
    job_id: int | None

    @property
    def verdict(self) -> str:
        """``drift``, ``no drift`` or the state when the check has no verdict."""
        if self.state == "done":
            return "drift" if self.drifted else "no drift"
        return {"no_data": "no new data"}.get(self.state, self.state)

    @property
    def caveat(self) -> str | None:
        """Said beside the verdict of a check on fewer than ``FEW_ITEMS`` current items: the verdict of
        5 items read as firmly as one of 500. None when the check had enough items or no verdict."""
        if self.state != "done" or self.n_current is None or self.n_current >= FEW_ITEMS:
            return None
        return (
            f"Only {self.n_current} item(s) were checked. With fewer than {FEW_ITEMS}, one or two unusual "
            "items can decide the verdict and the tests have little power: read it as a hint, and check "
            "again when more data has arrived."
        )


@dataclass(frozen=True)
class FeatureHistogram:
    """Both sides of one feature, binned alike, as fractions (each side sums to 1)."""

    feature: str
    kind: str
    """``numeric`` (``edges`` has one more entry than the fractions) or ``categorical`` (``labels``)."""
    reference: list[float]
    current: list[float]
    edges: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Projection:
    """Embeddings of both sides in the same two PCA axes (fitted on the reference)."""

    reference: list[tuple[float, float]]
    current: list[tuple[float, float]]
    current_names: list[str]


@dataclass(frozen=True)
class FarItem:
    """A current item far from the training data, with how far (larger is farther)."""

    name: str
    score: float
    kind: str
    """``image``, ``audio`` or ``row``."""
    thumbnail_png: bytes | None = None
    values: dict[str, object] | None = None
    """A table row's values, for ``row`` items."""


@dataclass(frozen=True)
class CheckDetail:
    """A finished check with everything its drill-down and report draw."""

    summary: CheckSummary
    metrics: list[MetricPoint]
    skipped: list[tuple[str, str]]
    histograms: dict[str, FeatureHistogram]
    projection: Projection | None
    farthest: list[FarItem]

    def features(self) -> list[str]:
        """Features in check order, drifted ones first."""
        names = list(dict.fromkeys(point.feature for point in self.metrics))
        drifted = {point.feature for point in self.metrics if point.drifted}
        return sorted(names, key=lambda name: name not in drifted)
