"""A proposed missing object inferred from a track's gap names that track (``Finding.track``): it is the
track's object, so it neither follows nor leads a label's flag in the queue (two objects).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("findings") as table:
        table.add_column(sa.Column("track", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("findings") as table:
        table.drop_column("track")
