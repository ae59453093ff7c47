"""label and add: held-back new items, a check's labelling, and what a retrain trained on and found

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nothing stored so far was held back, labelled from a check, or retrained on a named version:
    # every new column starts NULL, which reads as before (the random split, the latest version).
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_back", sa.Integer(), nullable=True))
    with op.batch_alter_table("drift_checks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("labelled", sa.JSON(), nullable=True))
    with op.batch_alter_table("retrains", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dataset", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("dataset_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("new_base_metric", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("new_candidate_metric", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("retrains", schema=None) as batch_op:
        batch_op.drop_column("new_candidate_metric")
        batch_op.drop_column("new_base_metric")
        batch_op.drop_column("dataset_version")
        batch_op.drop_column("dataset")
    with op.batch_alter_table("drift_checks", schema=None) as batch_op:
        batch_op.drop_column("labelled")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("held_back")
