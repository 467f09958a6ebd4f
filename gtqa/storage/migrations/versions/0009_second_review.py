"""Blind items in the queue: a decided item sent to a second auditor, and known-answer (gold) items.

Each review item gets a ``purpose`` (``audit``, ``second_review``, ``gold``); a second review names the
item it repeats (``review_of``) and the auditor it must never go to (``blind_to``). One audit item per
finding and per spot-checked label still holds, now among ``audit`` items only (a blind item repeats its
subject). Gold answers live in a table of their own, out of the auditors' sight.

Revision ID: 0009_second_review
Revises: 0008_calibration_versions (written on 0007_reliability; rechained when main gained 0008)
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_second_review"
down_revision: str | Sequence[str] | None = "0008_calibration_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AUDIT = "purpose = 'audit'"


def _partial(name: str, columns: list[str], where: str) -> None:
    clause = sa.text(where)
    op.create_index(name, "review_items", columns, unique=True, postgresql_where=clause, sqlite_where=clause)


def upgrade() -> None:
    with op.batch_alter_table("review_items") as table:
        table.add_column(sa.Column("purpose", sa.String(16), nullable=False, server_default="audit"))
        table.add_column(sa.Column("review_of", _BIG, nullable=True))
        table.add_column(sa.Column("blind_to", sa.String(120), nullable=True))
        table.create_foreign_key(
            "fk_review_items_review_of_review_items",
            "review_items",
            ["review_of"],
            ["id"],
            ondelete="CASCADE",
        )
        table.create_check_constraint(
            op.f("ck_review_items_item_purpose"), "purpose IN ('audit', 'second_review', 'gold')"
        )
        table.drop_constraint("uq_review_items_finding_id", type_="unique")
        table.drop_index("uq_review_items_spot_check")
        table.create_index("ix_review_items_review_of", ["review_of"])
    _partial("uq_review_items_finding", ["finding_id"], _AUDIT)
    _partial("uq_review_items_spot_check", ["job_id", "label_id"], f"kind = 'spot_check' AND {_AUDIT}")
    op.create_table(
        "gold_answers",
        sa.Column("item_id", _BIG, nullable=False),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("issue_type", sa.String(32), nullable=True),
        sa.Column("seeded_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["review_items.id"], name="fk_gold_answers_item_id_review_items", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("item_id", name="pk_gold_answers"),
    )


def downgrade() -> None:
    op.drop_table("gold_answers")
    op.execute("DELETE FROM review_items WHERE purpose <> 'audit'")
    op.drop_index("uq_review_items_spot_check", table_name="review_items")
    op.drop_index("uq_review_items_finding", table_name="review_items")
    with op.batch_alter_table("review_items") as table:
        table.drop_index("ix_review_items_review_of")
        table.drop_constraint(op.f("ck_review_items_item_purpose"), type_="check")
        table.drop_constraint("fk_review_items_review_of_review_items", type_="foreignkey")
        table.drop_column("blind_to")
        table.drop_column("review_of")
        table.drop_column("purpose")
        table.create_unique_constraint("uq_review_items_finding_id", ["finding_id"])
    clause = sa.text("kind = 'spot_check'")
    op.create_index(
        "uq_review_items_spot_check", "review_items", ["job_id", "label_id"], unique=True,
        postgresql_where=clause, sqlite_where=clause,
    )  # fmt: skip
