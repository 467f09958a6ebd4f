"""A batch may carry the client's ``Idempotency-Key`` (unique): a retried creation returns the batch the
first request made instead of making a second one.

Revision ID: 0007_reliability
Revises: 0006_spot_checks
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_reliability"
down_revision: str | Sequence[str] | None = "0006_spot_checks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("batches") as table:
        table.add_column(sa.Column("idempotency_key", sa.String(length=200), nullable=True))
        table.create_index("ix_batches_idempotency_key", ["idempotency_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("batches") as table:
        table.drop_index("ix_batches_idempotency_key")
        table.drop_column("idempotency_key")
