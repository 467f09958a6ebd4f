"""Calibration versions: every refit of a spec's calibration on the service's own audits (its model, its
evaluation by the gate, its outcome), the version in use per spec name and data format with the refit
lease, and the version that scored each finding.

Revision ID: 0008_calibration_versions
Revises: 0007_reliability
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008_calibration_versions"
down_revision: str | Sequence[str] | None = "0007_reliability"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_STATES = ("candidate", "promoted", "refused", "rolled_back", "failed")


def _version_fk(table: str, column: str) -> sa.Column[int]:
    fk = sa.ForeignKey(
        "calibration_versions.id", ondelete="SET NULL", name=f"fk_{table}_{column}_calibration_versions"
    )
    return sa.Column(column, _BIG, fk, nullable=True)


def upgrade() -> None:
    allowed = ", ".join(f"'{s}'" for s in _STATES)
    op.create_table(
        "calibration_versions",
        sa.Column("id", _BIG, primary_key=True),
        sa.Column("spec_name", sa.String(120), nullable=False),
        sa.Column("spec_hash", sa.String(64), nullable=False),
        sa.Column("data_format", sa.String(40), nullable=False),
        _version_fk("calibration_versions", "parent_id"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("n_audits", sa.Integer(), nullable=False),
        sa.Column("evaluation", _JSON, nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("model_sha256", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"status IN ({allowed})", name=op.f("ck_calibration_versions_calibration_state")),
        sa.PrimaryKeyConstraint("id", name="pk_calibration_versions"),
    )
    op.create_index(
        "ix_calibration_versions_spec_name_data_format_created_at",
        "calibration_versions",
        ["spec_name", "data_format", "created_at"],
    )
    op.create_table(
        "calibration_heads",
        sa.Column("spec_name", sa.String(120), nullable=False),
        sa.Column("data_format", sa.String(40), nullable=False),
        _version_fk("calibration_heads", "version_id"),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.Column("refit_owner", sa.String(200), nullable=True),
        sa.Column("refit_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("spec_name", "data_format", name="pk_calibration_heads"),
    )
    with op.batch_alter_table("findings") as table:
        table.add_column(_version_fk("findings", "calibration_version"))


def downgrade() -> None:
    with op.batch_alter_table("findings") as table:
        table.drop_constraint("fk_findings_calibration_version_calibration_versions", type_="foreignkey")
        table.drop_column("calibration_version")
    op.drop_table("calibration_heads")
    op.drop_index("ix_calibration_versions_spec_name_data_format_created_at", "calibration_versions")
    op.drop_table("calibration_versions")
