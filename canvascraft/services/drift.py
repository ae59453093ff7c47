"""Watched models and their drift checks: what the Drift page and the CLI call.

A *monitor* is a registered model under watch: the alias it follows, where its current data comes from,
its schedule and its metric limits. A check is queued as a pool job (``jobs/drift.py``, lane ``drift``,
one at a time), so neither a page nor the scheduler's thread ever waits on one; ``run_check_now`` runs one
in this process for the CLI. Every check is stored with its metrics per feature and what its views draw.

Current data by source:

* ``folder``: the files in the model's watched folder (``workspace/watch/<slug>``) that no earlier check
  read (a file counts as new again when its size or time changes);
* ``sent``: files sent to Try for this model, kept under ``workspace/sent/<slug>`` by content hash;
* ``dataset``: the dataset's latest version, whole.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from sqlalchemy import select

from canvascraft.config import get_settings
from canvascraft.drift.charts import histogram_figure as histogram_figure
from canvascraft.drift.charts import metric_label as metric_label
from canvascraft.drift.charts import projection_figure as projection_figure
from canvascraft.drift.charts import series_figure as series_figure
from canvascraft.drift.metrics import METRICS, resolve_thresholds
from canvascraft.drift.queue import FINISHED, finish, new_check, reserve, submit
from canvascraft.drift.queue import enqueue_scheduled as enqueue_scheduled  # the schedules' tick, re-exported
from canvascraft.drift.report import as_sentence as as_sentence
from canvascraft.drift.report import report_html as report_html
from canvascraft.drift.views import (
    CheckDetail,
    CheckSummary,
    FarItem,
    FeatureHistogram,
    MetricPoint,
    MonitorView,
    Projection,
    monitor_folder,
    sent_root,
    watch_root,
)
from canvascraft.errors import CanvasCraftError, DriftError, UnknownDriftError
from canvascraft.modalities import modality_for_file
from canvascraft.services.guard import action
from canvascraft.store.models import DriftCheck, DriftMetric, DriftMonitor, DriftSeenFile, as_utc, utcnow
from canvascraft.store.session import engine_for, open_session

log = logging.getLogger(__name__)
SOURCES = {"folder": "the watched folder", "sent": "files sent to Try", "dataset": "a dataset"}
MAX_FILES_PER_CHECK = 2000
"""New files read by one check, oldest first; the rest wait for the next check."""
_EVERY = re.compile(r"^\s*(\d+)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?)?\s*$", re.I)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


# ----------------------------------------------------------------------------------------- monitors


def parse_every(every: str | int) -> int:
    """``"90s"``, ``"15min"``, ``"1h"``, ``"2d"`` or seconds as a number → seconds (at least 1)."""
    if isinstance(every, int):
        seconds = every
    else:
        match = _EVERY.match(every)
        if match is None:
            raise DriftError(
                f"every {every!r} is not an interval; write a number and a unit: 90s, 15min, 1h or 1d"
            )
        seconds = int(match.group(1)) * _UNIT_S[(match.group(2) or "s")[0].lower()]
    if seconds < 1:
        raise DriftError(f"every must be at least 1 second, got {seconds}")
    return seconds


def _check_model(model_name: str, alias: str) -> None:
    from canvascraft.errors import ModelError
    from canvascraft.gallery.registry import resolve

    separator = "/" if alias.isdigit() else "@"
    try:
        version = resolve(f"{model_name}{separator}{alias}")
    except ModelError as error:
        raise DriftError(
            f"cannot watch {model_name}{separator}{alias}: {error}. Register the model and give it the "
            "alias in the Gallery first"
        ) from None
    if version.objective.task != "classify":
        raise DriftError(
            f"cannot watch {model_name}{separator}{alias}: it is a generator, and drift checks compare "
            "what a classifier is shown with what it trained on; watch a classifier of the same data"
        )


def _check_source(kind: str, source: str) -> str:
    if kind not in SOURCES:
        raise DriftError(f"source must be one of {', '.join(SOURCES)}, got {kind!r}")
    if kind != "dataset":
        return ""
    from canvascraft.data.reads import open_version

    try:
        open_version(source)
    except CanvasCraftError as error:
        raise DriftError(f"source dataset {source!r} cannot be read: {error}") from None
    return source


def _folder_name(session: Any, model_name: str, monitor_id: int | None) -> str:
    """A safe, unique folder name from the model name (never a path a name could steer)."""
    base = _SLUG.sub("-", model_name).strip(".-") or "model"
    name, counter = base, 1
    while True:
        taken = session.scalar(select(DriftMonitor).where(DriftMonitor.folder == name))
        if taken is None or taken.id == monitor_id:
            return name
        counter += 1
        name = f"{base}-{counter}"


def _view(row: DriftMonitor, next_run: datetime | None) -> MonitorView:
    custom = {str(k): float(v) for k, v in (row.thresholds or {}).items()}
    return MonitorView(
        id=row.id,
        model_name=row.model_name,
        alias=row.alias,
        source_kind=row.source_kind,
        source=row.source,
        folder=monitor_folder(row.source_kind, row.folder),
        every_s=row.every_s,
        cron=row.cron,
        paused=row.paused,
        thresholds=resolve_thresholds(custom),
        custom_thresholds=custom,
        next_run=None if row.paused else next_run,
    )


def list_monitors() -> list[MonitorView]:
    from canvascraft.scheduler.drift import next_runs

    due = next_runs()
    with open_session() as session:
        rows = session.scalars(select(DriftMonitor).order_by(DriftMonitor.model_name)).all()
        return [_view(row, due.get(row.id)) for row in rows]


def _monitor_row(session: Any, model_name: str) -> DriftMonitor:
    row = session.scalar(select(DriftMonitor).where(DriftMonitor.model_name == model_name))
    if row is None:
        raise UnknownDriftError(
            f"model {model_name!r} is not watched; watch it on the Drift page or with "
            f"`canvascraft drift schedule {model_name}@champion --every 1h`"
        )
    return row


def get_monitor(model_name: str) -> MonitorView:
    from canvascraft.scheduler.drift import next_runs

    with open_session() as session:
        row = _monitor_row(session, model_name)
        return _view(row, next_runs().get(row.id))


@action(role="admin", does="change a drift watch", audit="drift.watch", target="{model_name}")
def save_monitor(
    model_name: str,
    *,
    alias: str = "champion",
    source_kind: str = "folder",
    source: str = "",
    every: str | int | None = None,
    cron: str | None = None,
    thresholds: dict[str, float] | None = None,
) -> MonitorView:
    """Watch a model, or change how: alias, data source, schedule (an interval, a crontab line, or
    neither for checks by hand only) and metric limits (only those given differ from the defaults).
    Each bad field raises :class:`DriftError` naming it; nothing is saved then."""
    from canvascraft.scheduler.drift import put_schedule, trigger_for

    model_name, alias = model_name.strip(), alias.strip()
    if not model_name or not alias:
        raise DriftError("a watched model needs a model name and an alias (or a version number)")
    if every not in (None, "") and cron not in (None, ""):
        raise DriftError("give either an interval (every) or a cron line, not both")
    every_s = parse_every(every) if every not in (None, "") else None
    cron = cron.strip() if cron else None
    if cron:
        trigger_for(None, cron)
    _check_model(model_name, alias)
    source = _check_source(source_kind, source.strip())
    custom = {str(k): float(v) for k, v in (thresholds or {}).items()}
    resolve_thresholds(custom)
    with open_session() as session:
        row = session.scalar(select(DriftMonitor).where(DriftMonitor.model_name == model_name))
        watched = None if row is None else row.alias
        if row is None:
            row = DriftMonitor(model_name=model_name, paused=False, created_at=utcnow())
            row.folder = _folder_name(session, model_name, None)
            session.add(row)
        row.alias, row.source_kind, row.source = alias, source_kind, source
        row.every_s, row.cron, row.thresholds = every_s, cron, custom
        row.updated_at = utcnow()
        session.flush()
        monitor_id, paused = row.id, row.paused
        (watch_root() / row.folder).mkdir(parents=True, exist_ok=True)
    put_schedule(monitor_id, every_s, cron, paused)
    view = get_monitor(model_name)
    if watched != alias:
        _prepare_reference(view.ref)
    return view


def _prepare_reference(model_ref: str) -> None:
    """Store the newly watched model's drift reference now, so its first check only compares; a failure
    here is logged and left to that check, which builds it again and reports what went wrong."""
    from canvascraft.drift.checks import prepare_reference

    try:
        prepare_reference(model_ref)
    except (CanvasCraftError, OSError, ValueError) as error:
        log.warning("drift reference of %s not prepared: %s", model_ref, error)


@action(role="admin", does="pause or resume a drift watch", audit="drift.pause",
        target=lambda v: f"{v['model_name']} {'paused' if v['paused'] else 'resumed'}")  # fmt: skip
def set_paused(model_name: str, paused: bool) -> MonitorView:
    """Pause or resume a model's schedule; its checks and settings stay."""
    from canvascraft.scheduler.drift import put_schedule

    with open_session() as session:
        row = _monitor_row(session, model_name)
        row.paused, row.updated_at = paused, utcnow()
        spec = (row.id, row.every_s, row.cron)
    put_schedule(*spec, paused)
    return get_monitor(model_name)


@action(role="admin", does="stop watching a model", audit="drift.unwatch", target="{model_name}")
def remove_monitor(model_name: str) -> None:
    """Stop watching a model: its schedule goes; its past checks stay in the history."""
    from canvascraft.scheduler.drift import remove_schedule

    with open_session() as session:
        row = _monitor_row(session, model_name)
        monitor_id = row.id
        session.delete(row)
    remove_schedule(monitor_id)


def watchable_models() -> list[str]:
    """Registered model names, for choosing one to watch."""
    from canvascraft.gallery.registry import list_models

    return sorted(model.name for model in list_models())


# ------------------------------------------------------------------------------------------- checks


@action(role="artist", does="run a drift check", audit="drift.check", target="{model_name}: check {result}")
def request_check(model_name: str, trigger: str = "manual") -> int:
    """Queue a check now (Run now); returns its id at once. The check runs as a background job."""
    with open_session() as session:
        check_id, new = reserve(session, _monitor_row(session, model_name), trigger)
    if new:
        submit(check_id)
    return check_id


@action(role="artist", does="run a drift check", audit="drift.check", target="{model_name}")
def run_check_now(model_name: str, trigger: str = "cli") -> CheckDetail:
    """Check a watched model in this process and return the stored check (``no_data`` when its folder
    holds nothing new). A check that fails is stored as failed and raises :class:`DriftError`."""
    with open_session() as session:
        check_id = int(new_check(session, _monitor_row(session, model_name), trigger).id)
    execute_check(check_id)
    return get_check(check_id, finished_only=False)


def _new_files(session: Any, row: DriftMonitor, folder: Path) -> list[tuple[Path, int, int]]:
    """Plain files in ``folder`` no check of this monitor has read, oldest first, at most a batch."""
    if not folder.is_dir():
        return []
    seen = {
        (name, size, mtime)
        for name, size, mtime in session.execute(
            select(DriftSeenFile.name, DriftSeenFile.size, DriftSeenFile.mtime_ns).where(
                DriftSeenFile.monitor_id == row.id
            )
        ).all()
    }
    found = []
    for path in folder.iterdir():
        if path.is_symlink() or not path.is_file() or path.name.startswith("."):
            continue
        stat = path.stat()
        if (path.name, stat.st_size, stat.st_mtime_ns) not in seen:
            found.append((path, stat.st_size, stat.st_mtime_ns))
    found.sort(key=lambda entry: (entry[2], entry[0].name))
    return found[:MAX_FILES_PER_CHECK]


def execute_check(check_id: int) -> str:
    """Run a queued check (the ``drift`` job does this) and store its outcome; returns the final state."""
    from canvascraft.drift.checks import run_check

    with open_session() as session:
        check = session.get(DriftCheck, check_id)
        if check is None:
            raise DriftError(f"there is no drift check {check_id}")
        row = session.get(DriftMonitor, check.monitor_id) if check.monitor_id is not None else None
        if row is None:
            finish(check, "failed", error="the model is no longer watched")
            return "failed"
        check.state = "running"
        view = _view(row, None)
        files: list[tuple[Path, int, int]] = []
        if row.source_kind == "dataset":
            current, payload = row.source, None
        else:
            files = _new_files(session, row, view.folder)
            if not files:
                check.current = f"nothing new in {view.folder}"
                finish(check, "no_data")
                return "no_data"
            current = f"{len(files)} new file{'s' if len(files) != 1 else ''} in {view.folder}"
            payload = [(path.name, path.read_bytes()) for path, _, _ in files]
        check.current = current
        ref, thresholds, monitor_id = view.ref, dict(row.thresholds or {}), row.id
    try:
        result = run_check(ref, current, thresholds, files=payload)
    except DriftError as error:
        state, outcome = "failed", str(error)
    except Exception as error:  # a check must end stored, whatever broke; the job log has the trace
        log.exception("drift check %s failed", check_id)
        state, outcome = "failed", f"the check stopped on an unexpected error: {error}"
    else:
        state, outcome = "done", result
    with open_session() as session:
        check = session.get(DriftCheck, check_id)
        if state == "done":  # a failed check leaves its files new, so the next one reads them again
            session.add_all(
                DriftSeenFile(monitor_id=monitor_id, name=p.name, size=n, mtime_ns=mtime, check_id=check_id)
                for p, n, mtime in files
            )
        if state == "failed":
            finish(check, "failed", error=str(outcome))
        else:
            _store_result(session, check, outcome)
    if state == "done":
        announce(check_id)
    return state


@action(role="artist", does="run a drift check", audit="drift.check", target="{model_ref}")
def check_once(model_ref: str, current: str) -> CheckDetail:
    """A one-off check of any registered version against a folder or a dataset (the CLI's ``drift check``),
    stored like scheduled ones so it shows in the model's history; the model's own limits apply when it
    is watched. A check that cannot run raises :class:`DriftError` and stores nothing."""
    from canvascraft.drift.checks import run_check
    from canvascraft.gallery.registry import parse_ref

    name = parse_ref(model_ref)[0]
    with open_session() as session:
        row = session.scalar(select(DriftMonitor).where(DriftMonitor.model_name == name))
        thresholds, monitor_id = (dict(row.thresholds or {}), row.id) if row is not None else ({}, None)
    result = run_check(model_ref, current, thresholds)
    with open_session() as session:
        check = DriftCheck(
            monitor_id=monitor_id,
            model_name=result.model_name or name,
            model_ref=model_ref,
            current=current,
            trigger="cli",
            state="running",
            created_at=utcnow(),
            sentences=[],
            skipped=[],
            detail={},
        )
        session.add(check)
        _store_result(session, check, result)
        session.flush()
        check_id = int(check.id)
    announce(check_id)
    return get_check(check_id)


def check_link(check: CheckSummary) -> str:
    """The share link that reopens a check on the Drift page."""
    from canvascraft.share.links import DriftState, link

    return link(get_settings().link_base, DriftState(model=check.model_name, check=check.id))


def announce(check_id: int) -> None:
    """Tell whoever listens that a check ended (``CheckCompleted``) and, when it found drift,
    ``DriftDetected``; a listener's failure is the bus's to log, never the check's."""
    from canvascraft.events import publish
    from canvascraft.events.types import CheckCompleted, DriftDetected

    detail = get_check(check_id)
    check = detail.summary
    url = check_link(check)
    common = {"model_name": check.model_name, "model_ref": check.model_ref,
              "model_version": check.model_version, "check_id": check.id, "link": url}  # fmt: skip
    publish(CheckCompleted(drifted=bool(check.drifted), **common))
    if check.drifted:
        drifted = tuple(dict.fromkeys(point.feature for point in detail.metrics if point.drifted))
        publish(DriftDetected(drifted_features=drifted, sentences=tuple(check.sentences), **common))


def _store_result(session: Any, check: DriftCheck, result: Any) -> None:
    check.model_version, check.run_id = result.model_version, result.run_id
    check.model_ref = result.model_ref
    check.drifted, check.sentences = result.drifted, list(result.sentences)
    check.n_reference, check.n_current = result.n_reference, result.n_current
    check.skipped = [{"name": name, "reason": reason} for name, reason in result.skipped]
    check.detail = {
        "histograms": {name: asdict(h) for name, h in result.histograms.items()},
        "projection": asdict(result.projection) if result.projection is not None else None,
        "farthest": [{**asdict(item), "thumbnail_png": _b64(item.thumbnail_png)} for item in result.farthest],
    }
    found = [(feature, r) for feature, metrics in result.results.items() for r in metrics.values()]
    if result.prediction is not None:
        found.append(("prediction", result.prediction))
    check.metrics = [
        DriftMetric(
            feature=feature,
            metric=r.name,
            value=_finite(r.value),
            threshold=float(r.threshold),
            p_value=_finite(r.p_value),
            drifted=bool(r.drifted),
        )
        for feature, r in found
    ]
    finish(check, "done")


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode("ascii") if data else None


def _summary(check: DriftCheck) -> CheckSummary:
    return CheckSummary(
        id=check.id,
        model_name=check.model_name,
        model_ref=check.model_ref,
        model_version=check.model_version,
        run_id=check.run_id,
        current=check.current,
        trigger=check.trigger,
        state=check.state,
        created_at=as_utc(check.created_at),
        finished_at=as_utc(check.finished_at) if check.finished_at else None,
        drifted=check.drifted,
        n_reference=check.n_reference,
        n_current=check.n_current,
        sentences=list(check.sentences or []),
        error=check.error,
        job_id=check.job_id,
    )


def list_checks(model_name: str | None = None, limit: int = 100) -> list[CheckSummary]:
    """Checks, newest first, of one model or all."""
    query = select(DriftCheck).order_by(DriftCheck.created_at.desc(), DriftCheck.id.desc()).limit(limit)
    if model_name is not None:
        query = query.where(DriftCheck.model_name == model_name)
    with open_session() as session:
        return [_summary(check) for check in session.scalars(query).all()]


def get_check(check_id: int, *, finished_only: bool = True) -> CheckDetail:
    """A check with everything its views draw; a missing one (or, with ``finished_only``, one still
    queued or running) raises :class:`DriftError`."""
    with open_session() as session:
        check = session.get(DriftCheck, check_id)
        if check is None:
            raise UnknownDriftError(f"there is no drift check {check_id}; it may have been removed")
        if finished_only and check.state not in FINISHED:
            raise DriftError(
                f"drift check {check_id} is still {check.state}; its results follow when it ends"
            )
        detail = dict(check.detail or {})
        return CheckDetail(
            summary=_summary(check),
            metrics=[
                MetricPoint(m.feature, m.metric, m.value, m.threshold, m.p_value, m.drifted)
                for m in check.metrics
            ],
            skipped=[(entry["name"], entry["reason"]) for entry in check.skipped or []],
            histograms={name: FeatureHistogram(**h) for name, h in (detail.get("histograms") or {}).items()},
            projection=_projection(detail.get("projection")),
            farthest=[_far_item(item) for item in detail.get("farthest") or []],
        )


def _projection(data: dict[str, Any] | None) -> Projection | None:
    if not data:
        return None
    return Projection(
        reference=[tuple(p) for p in data["reference"]],  # type: ignore[misc]
        current=[tuple(p) for p in data["current"]],  # type: ignore[misc]
        current_names=list(data["current_names"]),
    )


def _far_item(data: dict[str, Any]) -> FarItem:
    thumbnail = data.get("thumbnail_png")
    return FarItem(
        name=data["name"],
        score=float(data["score"]),
        kind=data["kind"],
        thumbnail_png=base64.b64decode(thumbnail) if thumbnail else None,
        values=data.get("values"),
    )


def check_series(model_name: str) -> pd.DataFrame:
    """Every metric of the model's finished checks, oldest first, for the drift chart."""
    columns = ["check_id", "created_at", "feature", "metric", "value", "threshold", "p_value", "drifted"]
    query = (
        select(
            DriftCheck.id,
            DriftCheck.created_at,
            DriftMetric.feature,
            DriftMetric.metric,
            DriftMetric.value,
            DriftMetric.threshold,
            DriftMetric.p_value,
            DriftMetric.drifted,
        )
        .join(DriftMetric, DriftMetric.check_id == DriftCheck.id)
        .where(DriftCheck.model_name == model_name, DriftCheck.state == "done")
        .order_by(DriftCheck.created_at, DriftCheck.id, DriftMetric.id)
    )
    with engine_for(get_settings().db_url).connect() as connection:
        frame = pd.DataFrame(connection.execute(query).all(), columns=columns)
    if not frame.empty:
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def metric_names() -> dict[str, str]:
    """Metric name → what it compares, for threshold forms."""
    return {name: spec.kind for name, spec in METRICS.items()}


# ------------------------------------------------------------------------------- files sent to Try


def content_name(filename: str, data: bytes) -> str:
    """The name a user's file is kept under: its content hash and its lower-cased extension only.

    The uploaded name never becomes a path (``../x.png`` is kept as ``<hash>.png`` in its folder), and
    the same content sent twice is one file.
    """
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
        suffix = ""
    return f"{hashlib.sha256(data).hexdigest()[:32]}{suffix}"


def capture_sent(model_name: str, filename: str, data: bytes) -> Path | None:
    """Keep a file sent to Try for ``model_name`` when the model is watched with the ``sent`` source, so
    its next check reads it. Stored by content hash: the uploaded name never becomes a path."""
    if not data or modality_for_file(filename) is None:
        return None
    with open_session() as session:
        row = session.scalar(select(DriftMonitor).where(DriftMonitor.model_name == model_name))
        if row is None or row.source_kind != "sent":
            return None
        folder = sent_root() / row.folder
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / content_name(filename, data)
    if not path.exists():
        _write_whole(path, data)
    return path


def _write_whole(path: Path, data: bytes) -> None:
    """Write under a hidden name, then rename: a check running meanwhile never reads half a file."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


@dataclass(frozen=True)
class FolderUpload:
    """What adding files to a watched folder did: names as the user gave them, never as paths."""

    folder: Path
    added: list[str]
    already_there: list[str]
    refused: list[tuple[str, str]]
    """(the file's name, why it was not added)."""

    @property
    def summary(self) -> str:
        """``2 files added to the watched folder, 1 already there, 1 refused``."""
        count = len(self.added)
        parts = [f"{count} file{'s' if count != 1 else ''} added to the watched folder"]
        if self.already_there:
            parts.append(f"{len(self.already_there)} already there")
        if self.refused:
            parts.append(f"{len(self.refused)} refused")
        return ", ".join(parts)


@action(role="artist", does="add files to a watched folder", audit="drift.add_files", target="{model_name}")
def add_to_watched_folder(model_name: str, files: list[tuple[str, bytes]]) -> FolderUpload:
    """Put uploaded files into a watched model's folder, for its next check to read.

    Only files the watched version's kind of data reads are kept, each decoded first as a check would
    decode it; each is stored under ``content_name`` (its hash and extension), so no uploaded name can
    steer where it lands and the same file uploaded twice is kept once.
    """
    from canvascraft.errors import ModelError
    from canvascraft.gallery.registry import resolve
    from canvascraft.modalities import get_modality
    from canvascraft.training.trainers import get_trainer

    monitor = get_monitor(model_name)
    if monitor.source_kind != "folder":
        raise DriftError(
            f"{model_name} is checked against {SOURCES[monitor.source_kind]}, not a watched folder: "
            "choose 'New files dropped into its watched folder' under Edit to add files"
        )
    try:
        version = resolve(monitor.ref)
        trainer = version.lineage.trainer if version.lineage else None
        modality = get_modality(get_trainer(trainer).modality) if trainer else None
    except (ModelError, CanvasCraftError) as error:
        raise DriftError(f"cannot tell what {monitor.ref} reads: {error}") from None
    if modality is None:
        raise DriftError(f"cannot tell what {monitor.ref} reads: its run does not name its trainer")
    added: list[str] = []
    already: list[str] = []
    refused: list[tuple[str, str]] = []
    monitor.folder.mkdir(parents=True, exist_ok=True)
    for filename, data in files:
        reason = _unreadable(modality, filename, data)
        if reason is not None:
            refused.append((filename, reason))
            continue
        path = monitor.folder / content_name(filename, data)
        if path.exists():
            already.append(filename)
            continue
        _write_whole(path, data)
        added.append(filename)
    return FolderUpload(monitor.folder, added, already, refused)


def _unreadable(modality: Any, filename: str, data: bytes) -> str | None:
    """Why a check of a model of ``modality`` could not read this file; None when it can."""
    if not data:
        return "the file is empty"
    if modality.format_of(filename) is None:
        reason = modality.cannot_read(filename)
        return reason or f"this model reads {modality.supported()}"
    try:
        modality.read_file(data, filename)
    except (CanvasCraftError, OSError, ValueError) as error:
        return f"cannot read it as {modality.files}: {error}"
    return None


@action(role="artist", does="try a model")
def capture_try(model_ref: str, files: list[tuple[str, bytes]]) -> int:
    """``capture_sent`` for files Try predicted with ``model_ref`` (a checkpoint, not a registered
    version, keeps nothing); returns how many are kept. Sending the same file again keeps one copy."""
    from canvascraft.errors import ModelError
    from canvascraft.gallery.registry import parse_ref

    try:
        name = parse_ref(model_ref)[0]
    except ModelError:
        return 0
    return sum(capture_sent(name, filename, data) is not None for filename, data in files)
