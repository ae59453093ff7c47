"""drift: monitors (per-model schedule spec and limits), checks with their metrics, and seen files

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "drift_monitors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("alias", sa.String(length=120), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("folder", sa.String(length=200), nullable=False),
        sa.Column("every_s", sa.Integer(), nullable=True),
        sa.Column("cron", sa.String(length=120), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("claimed_slot", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("folder"),
        sa.UniqueConstraint("model_name"),
    )
    op.create_table(
        "drift_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=True),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("model_ref", sa.String(length=330), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("current", sa.Text(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("drifted", sa.Boolean(), nullable=True),
        sa.Column("n_reference", sa.Integer(), nullable=True),
        sa.Column("n_current", sa.Integer(), nullable=True),
        sa.Column("sentences", sa.JSON(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["monitor_id"], ["drift_monitors.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("drift_checks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drift_checks_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_drift_checks_model_name"), ["model_name"], unique=False)
        batch_op.create_index(batch_op.f("ix_drift_checks_monitor_id"), ["monitor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_drift_checks_state"), ["state"], unique=False)
    op.create_table(
        "drift_metrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_id", sa.Integer(), nullable=False),
        sa.Column("feature", sa.String(length=200), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=True),
        sa.Column("drifted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["check_id"], ["drift_checks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("drift_metrics", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drift_metrics_check_id"), ["check_id"], unique=False)
    op.create_table(
        "drift_seen_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("check_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["check_id"], ["drift_checks.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["monitor_id"], ["drift_monitors.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("monitor_id", "name", "size", "mtime_ns"),
    )
    with op.batch_alter_table("drift_seen_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drift_seen_files_monitor_id"), ["monitor_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("drift_seen_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drift_seen_files_monitor_id"))
    op.drop_table("drift_seen_files")
    with op.batch_alter_table("drift_metrics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drift_metrics_check_id"))
    op.drop_table("drift_metrics")
    with op.batch_alter_table("drift_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drift_checks_state"))
        batch_op.drop_index(batch_op.f("ix_drift_checks_monitor_id"))
        batch_op.drop_index(batch_op.f("ix_drift_checks_model_name"))
        batch_op.drop_index(batch_op.f("ix_drift_checks_created_at"))
    op.drop_table("drift_checks")
    op.drop_table("drift_monitors")
