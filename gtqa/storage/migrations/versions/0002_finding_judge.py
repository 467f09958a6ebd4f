"""Findings keep what the reviewer said beyond the score: the class (the label's, or a missing object's
proposed one), the proposed box, the heuristic score before the judge, whether a human is needed, the
judge's opinion (a ``JudgeOpinion`` dump) and what the judge cost for the flag.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

``judge_cost_usd`` is NULL when the judge was not asked, 0 when its answer came from the cache; summed
per batch it is the judge spend the ops dashboard reports.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("findings") as table:
        table.add_column(sa.Column("cls", sa.String(64), nullable=True))
        table.add_column(sa.Column("proposed_box", _JSON, nullable=True))
        table.add_column(sa.Column("heuristic_score", sa.Float(), nullable=True))
        table.add_column(sa.Column("needs_human", sa.Boolean(), nullable=False, server_default=sa.false()))
        table.add_column(sa.Column("judge", _JSON, nullable=True))
        table.add_column(sa.Column("judge_cost_usd", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("findings") as table:
        for column in ("judge_cost_usd", "judge", "needs_human", "heuristic_score", "proposed_box", "cls"):
            table.drop_column(column)
