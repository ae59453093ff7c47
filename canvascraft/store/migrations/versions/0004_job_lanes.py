"""job lanes: a job may run in a lane with its own concurrency limit (a study's trials)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lane", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("lane_limit", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_jobs_lane"), ["lane"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_lane"))
        batch_op.drop_column("lane_limit")
        batch_op.drop_column("lane")
