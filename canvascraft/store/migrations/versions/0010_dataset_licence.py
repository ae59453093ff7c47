"""dataset licence: each dataset says under which licence and consent its data may train models

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Datasets imported so far said nothing about their terms: no licence, no source, consent unknown,
    # so their models' cards warn until the artist fills them in.
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("licence", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("licence_source", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("consent", sa.String(length=8), nullable=False, server_default="unknown")
        )


def downgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_column("consent")
        batch_op.drop_column("licence_source")
        batch_op.drop_column("licence")
