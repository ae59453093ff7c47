"""channel targets: alert settings hold targets of any registered alert channel

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Saved settings get an empty list: their webhook URL and emails keep working as before.
    with op.batch_alter_table("alert_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel_targets", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("alert_settings", schema=None) as batch_op:
        batch_op.drop_column("channel_targets")
