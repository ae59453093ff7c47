"""generated items: a manifest row says which generator and seed made it

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every item stored so far was imported by the artist, so it starts unmarked (NULL).
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("generated", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("generated")
