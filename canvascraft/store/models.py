"""ORM models of the studio's own tables.

Dataset versions are immutable once written: an import always makes a new version, so a run that
points at a version can trust its items never change underneath it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, overload

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """A stored time as an aware UTC time: SQLite hands back naive ones (written in UTC), PostgreSQL
    aware ones in the session's zone."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base; Alembic autogenerates migrations from its metadata."""


class Dataset(Base):
    """A named collection of items of one modality (image, audio or table)."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    modality: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: The terms the data came under (``canvascraft.data.licence``): an SPDX id or ``own work``, None
    #: while nobody has said; the source or attribution in the artist's words; and whether the people
    #: or artists in the data agreed to training (``yes``, ``no`` or ``unknown``).
    licence: Mapped[str | None] = mapped_column(String(64), nullable=True)
    licence_source: Mapped[str] = mapped_column(Text, default="", server_default="")
    consent: Mapped[str] = mapped_column(String(8), default="unknown", server_default="unknown")

    versions: Mapped[list[DatasetVersion]] = relationship(
        back_populates="dataset", order_by="DatasetVersion.number", cascade="all, delete-orphan"
    )


class DatasetVersion(Base):
    """One immutable import result: the manifest of items plus the files the import skipped."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "number", name="uq_dataset_version_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    source: Mapped[str] = mapped_column(Text, default="")
    label_column: Mapped[str | None] = mapped_column(String(200), nullable=True)
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    added_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    label_count: Mapped[int] = mapped_column(Integer, default=0)

    dataset: Mapped[Dataset] = relationship(back_populates="versions")
    items: Mapped[list[Item]] = relationship(
        back_populates="version", order_by="Item.id", cascade="all, delete-orphan"
    )
    skipped: Mapped[list[SkippedItem]] = relationship(
        back_populates="version", order_by="SkippedItem.id", cascade="all, delete-orphan"
    )


class Item(Base):
    """One manifest row: a stored file (by sha256) with its label and what inspection found."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    format: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    channels: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    sample_rate: Mapped[int | None] = mapped_column(Integer, nullable=True)
    n_rows: Mapped[int | None] = mapped_column(Integer, nullable=True)
    columns: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    class_counts: Mapped[dict[str, int] | None] = mapped_column(JSON, nullable=True)
    #: ``{"generator": REF, "seed": S}`` for a picture a generative model made (the DiffusionBrush);
    #: None for files the artist imported. Training keeps generated items out of validation.
    generated: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: The version number whose labelling (``canvascraft.retrain.labelling``) held this item back: it
    #: stays out of training and always validates, so a retrain measures itself on new items it never
    #: learned. None for every other item.
    held_back: Mapped[int | None] = mapped_column(Integer, nullable=True)

    version: Mapped[DatasetVersion] = relationship(back_populates="items")


class SkippedItem(Base):
    """A file an import left out, kept with its reason so the user can fix and re-import it."""

    __tablename__ = "skipped_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)

    version: Mapped[DatasetVersion] = relationship(back_populates="skipped")


class RecipeVersion(Base):
    """One immutable saved version of a recipe; saving an unchanged recipe writes nothing new, so a
    training run can point at (name, version) and trust the brushes never change underneath it."""

    __tablename__ = "recipe_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_recipe_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer)
    modality: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Job(Base):
    """One background job; the row is the only channel between the pool, the job process and the page.

    ``state`` only moves along ``canvascraft.jobs.states.TRANSITIONS``; the pool changes it with
    conditional updates, the job process only writes ``pid``, ``host``, ``heartbeat_at`` and ``progress``.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    handle: Mapped[str | None] = mapped_column(String(200), nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    signal: Mapped[int | None] = mapped_column(Integer, nullable=True)
    log_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_tail: Mapped[str | None] = mapped_column(Text, nullable=True)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    resume_from: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True, index=True
    )
    #: Jobs in a lane (a study's trials) count against ``lane_limit`` instead of the pool's own limit.
    lane: Mapped[str | None] = mapped_column(String(120), nullable=True, index=True)
    lane_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The launch request's own key (a form submission): a second submit with it gets this job back.
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    #: Who queued it (a person's subject; ``local`` for the embedded default, the CLI, the scheduler and
    #: a job's own follow-ups): an artist may cancel or resume their own jobs, an admin anyone's.
    subject: Mapped[str] = mapped_column(String(255), default="local", server_default="local")

    __table_args__ = (UniqueConstraint("idempotency_key", name="uq_jobs_idempotency_key"),)


class DriftMonitor(Base):
    """A model under watch: which version to check (``alias``), on what data, how often, and its limits.

    The schedule itself lives in APScheduler's job store in this database (``canvascraft.scheduler.drift``);
    ``every_s``/``cron`` are the spec it was built from, kept here so pages and the CLI can show and edit
    it. ``claimed_slot`` (epoch seconds of the last scheduled tick a studio took) makes a tick run once
    when several studios share the workspace.
    """

    __tablename__ = "drift_monitors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_name: Mapped[str] = mapped_column(String(200), unique=True)
    alias: Mapped[str] = mapped_column(String(120))
    #: ``folder`` (the watched folder), ``sent`` (files sent to Try) or ``dataset`` (its latest version).
    source_kind: Mapped[str] = mapped_column(String(16))
    #: The dataset's name for ``dataset``; empty otherwise.
    source: Mapped[str] = mapped_column(String(500), default="")
    #: Folder name under ``workspace/watch`` (a safe slug of the model name, never a user path).
    folder: Mapped[str] = mapped_column(String(200), unique=True)
    every_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cron: Mapped[str | None] = mapped_column(String(120), nullable=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    claimed_slot: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DriftCheck(Base):
    """One drift check, queued, running or done: what was compared with what, and the verdict.

    ``detail`` holds what the drill-down draws (binned histograms of both sides, the embedding
    projection, the farthest items) so a check reopens exactly as it was, even after the files moved.
    """

    __tablename__ = "drift_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("drift_monitors.id", ondelete="SET NULL"), nullable=True, index=True
    )
    model_name: Mapped[str] = mapped_column(String(200), index=True)
    model_ref: Mapped[str] = mapped_column(String(330))
    model_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: What the current data was, in words: ``3 new files in the watched folder``, ``dataset shapes v2``.
    current: Mapped[str] = mapped_column(Text, default="")
    #: ``schedule``, ``manual`` (Run now on the page) or ``cli``.
    trigger: Mapped[str] = mapped_column(String(16))
    #: ``queued``, ``running``, ``done``, ``no_data`` (nothing new to read) or ``failed``.
    state: Mapped[str] = mapped_column(String(16), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    drifted: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    n_reference: Mapped[int | None] = mapped_column(Integer, nullable=True)
    n_current: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sentences: Mapped[list[str]] = mapped_column(JSON, default=list)
    skipped: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Once its items were labelled and added: ``{"dataset", "version", "added", "held_back", "skipped"}``.
    labelled: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    metrics: Mapped[list[DriftMetric]] = relationship(
        back_populates="check", cascade="all, delete-orphan", order_by="DriftMetric.id"
    )


class DriftMetric(Base):
    """One metric of one feature in one check: a point of the drift time series."""

    __tablename__ = "drift_metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("drift_checks.id", ondelete="CASCADE"), index=True)
    #: A feature (column or signal statistic), ``embedding`` or ``prediction``.
    feature: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(32))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold: Mapped[float] = mapped_column(Float)
    p_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    drifted: Mapped[bool] = mapped_column(Boolean)

    check: Mapped[DriftCheck] = relationship(back_populates="metrics")


class DriftSeenFile(Base):
    """A file of a monitor's folder that a check has read already, so the next check reads only new ones.
    A file counts as new again when its size or modification time changes."""

    __tablename__ = "drift_seen_files"
    __table_args__ = (UniqueConstraint("monitor_id", "name", "size", "mtime_ns"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("drift_monitors.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    check_id: Mapped[int | None] = mapped_column(
        ForeignKey("drift_checks.id", ondelete="SET NULL"), nullable=True
    )


DEFAULT_ALERT_EVENTS = ("drift_detected", "training_failed")
"""What a model's people hear about when nobody chose: drift and failed training."""


class AlertSettings(Base):
    """Who hears about a model's events, and whether drift retrains it (read by the retrain observer)."""

    __tablename__ = "alert_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The registered model's name; ``""`` holds the studio-wide settings (training runs with no model).
    model_name: Mapped[str] = mapped_column(String(200), unique=True)
    webhook_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    #: Post Slack's ``{"text", "blocks"}`` body instead of the plain JSON alert.
    slack_format: Mapped[bool] = mapped_column(Boolean, default=False)
    emails: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Targets of any registered alert channel (``canvascraft.events.channels``) beside the webhook URL
    #: and the emails above, as ``[{"channel": "...", "target": "..."}]`` in the order they were given.
    channel_targets: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    #: Event names (``canvascraft.events.EVENT_TYPES``) that reach the webhook, the emails and the targets.
    events: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(DEFAULT_ALERT_EVENTS))
    auto_retrain: Mapped[bool] = mapped_column(Boolean, default=False)
    #: With auto-retrain on: the retrained version waits for a person to approve it before the alias moves
    #: (True), or the alias moves at once when the new version is more accurate (False).
    ask_first: Mapped[bool] = mapped_column(Boolean, default=True)
    cooldown_s: Mapped[int] = mapped_column(Integer, default=3600)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Alert(Base):
    """One published event as the alert log recorded it; every event is logged, wanted or not."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event: Mapped[str] = mapped_column(String(40), index=True)
    #: ``""`` for events that concern no model (shown as "studio").
    model_name: Mapped[str] = mapped_column(String(200), index=True)
    correlation_id: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    #: The event's ``to_dict()``: what webhooks receive, and enough to rebuild the event.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    deliveries: Mapped[list[AlertDelivery]] = relationship(
        back_populates="alert", cascade="all, delete-orphan", order_by="AlertDelivery.id"
    )


class AlertDelivery(Base):
    """The outbox: one row per alert and channel target, kept until it is delivered or dead-lettered.

    ``next_attempt_at`` doubles as a lease: a sender claims a due row by moving it ahead with a
    conditional update on ``attempts``, so two processes never send the same delivery at once.
    """

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("alert_id", "channel", "target", name="uq_alert_delivery_target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    #: A registered alert channel's name (``webhook``, ``email``, …).
    channel: Mapped[str] = mapped_column(String(16))
    #: Where that channel sends: the URL, the email address, ….
    target: Mapped[str] = mapped_column(String(2000))
    #: ``pending``, ``retrying``, ``delivered`` or ``dead``.
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    alert: Mapped[Alert] = relationship(back_populates="deliveries")


class Retrain(Base):
    """One retrain of a registered model (``canvascraft.retrain.flow``): the job that trains a
    candidate on the latest data, then the comparison with the version the alias points at.

    ``state`` moves ``training`` → ``comparing`` → ``promoted`` | ``pending_approval`` | ``kept_current``
    | ``failed``, and ``pending_approval`` → ``promoted`` | ``rejected``. ``items`` holds both versions'
    predictions on the same validation items, so the approval view shows what the accuracies count.
    """

    __tablename__ = "retrains"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_name: Mapped[str] = mapped_column(String(200), index=True)
    #: The alias that moves to the candidate when it is promoted.
    alias: Mapped[str] = mapped_column(String(200))
    base_version: Mapped[int] = mapped_column(Integer)
    candidate_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True)
    state: Mapped[str] = mapped_column(String(24), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    #: ``manual`` (a person, the CLI) or ``drift`` (the retrain observer).
    trigger: Mapped[str] = mapped_column(String(16))
    check_id: Mapped[int | None] = mapped_column(
        ForeignKey("drift_checks.id", ondelete="SET NULL"), nullable=True
    )
    metric: Mapped[str] = mapped_column(String(40), default="accuracy")
    base_metric: Mapped[float | None] = mapped_column(Float, nullable=True)
    candidate_metric: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Per validation item: index, name, sha256, label, and each version's prediction and probability.
    items: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    #: The dataset and version the candidate trains on (None: rows from before versions were recorded).
    dataset: Mapped[str | None] = mapped_column(String(120), nullable=True)
    dataset_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Both versions' accuracy on the held-back new items of that version (None when it has none).
    new_base_metric: Mapped[float | None] = mapped_column(Float, nullable=True)
    new_candidate_metric: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ApiToken(Base):
    """A bearer token for the studio's HTTP API (``canvascraft tokens``). Only the SHA-256 of the secret
    is kept, so the database never holds a usable token; the secret is shown once, when it is made.

    ``scope`` is ``read`` (GET), ``train`` (plus launching, cancelling, resuming, importing, predicting)
    or ``admin`` (plus the registry, alert settings and tokens). A revoked or expired row stays, so the
    list shows what was cut off and when.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    scope: Mapped[str] = mapped_column(String(16))
    #: Hex SHA-256 of the secret; looked up by value, then compared in constant time.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: Who made the token (``canvascraft.auth.identity.Person``): requests with it act as that person,
    #: and its scope never goes beyond their role. Tokens made before people existed were made by the
    #: CLI's local admin.
    subject: Mapped[str] = mapped_column(String(255), default="local", server_default="local")
    maker_name: Mapped[str] = mapped_column(String(255), default="local user", server_default="local user")
    maker_role: Mapped[str] = mapped_column(String(16), default="admin", server_default="admin")


class AuditRecord(Base):
    """One change someone made (``canvascraft.auth.audit``): who (their subject, name and role at the
    time), when, the action (``model.alias``, ``retrain.approve``, ``token.create``…), what it named
    and the rest of its arguments as JSON. Rows are only ever added."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    subject: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(500), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class KnownPerson(Base):
    """Someone who signed in through the studio's identity provider (``canvascraft people list``).

    ``claim_role`` is what the provider's role claim gave at their last sign-in; ``role`` is what an admin
    set in the studio (``None``: the claim decides). The admin's role wins.
    """

    __tablename__ = "people"

    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    claim_role: Mapped[str] = mapped_column(String(16), default="viewer")
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ShareLink(Base):
    """A signed share link (``canvascraft link``, **Copy link**): it opens one view read only, for
    someone without an account too, until ``expires_at`` or until it is revoked.

    ``payload`` is the view's query parameters as JSON, the same the signed token carries; the token is
    not stored (it is made again from the row and the newest key only when it is first printed). A
    revoked or expired row stays, so the list shows what was cut off and when.
    """

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``run``, ``compare``, ``model``, ``try`` or ``drift``.
    view: Mapped[str] = mapped_column(String(16))
    payload: Mapped[str] = mapped_column(Text)
    created_by_subject: Mapped[str] = mapped_column(String(200))
    created_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
