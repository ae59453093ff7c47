"""retrains: a model's retrains, from the training job to the promotion or the approval

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retrains",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("alias", sa.String(length=200), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("candidate_version", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("check_id", sa.Integer(), nullable=True),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("base_metric", sa.Float(), nullable=True),
        sa.Column("candidate_metric", sa.Float(), nullable=True),
        sa.Column("items", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["check_id"], ["drift_checks.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("retrains", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retrains_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_retrains_model_name"), ["model_name"], unique=False)
        batch_op.create_index(batch_op.f("ix_retrains_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("retrains", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retrains_state"))
        batch_op.drop_index(batch_op.f("ix_retrains_model_name"))
        batch_op.drop_index(batch_op.f("ix_retrains_created_at"))
    op.drop_table("retrains")
