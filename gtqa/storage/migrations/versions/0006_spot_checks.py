"""Spot checks are a stratified sample: each sampled queue item names its stratum (unflagged labels, or a
band of flag probability) and stores its inclusion probability, so estimates (Horvitz-Thompson) can be
made from the audited ones. Items that are not part of the sample have neither.

Revision ID: 0006_spot_checks
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_spot_checks"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("review_items") as table:
        table.add_column(sa.Column("stratum", sa.String(length=40), nullable=True))
        table.add_column(sa.Column("inclusion_probability", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_items") as table:
        table.drop_column("inclusion_probability")
        table.drop_column("stratum")
