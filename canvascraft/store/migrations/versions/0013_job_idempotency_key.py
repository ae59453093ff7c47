"""job idempotency key: one job per launch request, however often it is sent

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Jobs launched so far carry no key (NULL): a unique constraint allows any number of NULLs on
    # SQLite and PostgreSQL alike, so only keyed launches are deduplicated.
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=128), nullable=True))
        batch_op.create_unique_constraint("uq_jobs_idempotency_key", ["idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint("uq_jobs_idempotency_key", type_="unique")
        batch_op.drop_column("idempotency_key")
