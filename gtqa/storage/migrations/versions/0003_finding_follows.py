"""Findings say whether they follow a more probable flag on the same object (``Finding.follows``): the
queue lists such a flag after every leading one, since the auditor sees it while reviewing its leader.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("findings") as table:
        table.add_column(sa.Column("follows", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("findings") as table:
        table.drop_column("follows")
