"""Initial schema: users, datasets, batches, frames, labels, predictions, review jobs and chunks,
findings, review items, audits.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Written out in plain column types (not imported from gtqa.storage.models) so that this revision keeps
meaning what it meant when the models change. Every constraint and index is named as the models'
naming convention names it; CHECK names go through ``op.f`` so the convention does not prefix them twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.schema import SchemaItem

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)


def _fk(name: str, target: str, ondelete: str = "CASCADE", nullable: bool = False) -> sa.Column[int]:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    return sa.Column(name, big, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable)


def _ts(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=nullable)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _int(name: str, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def _float(name: str, nullable: bool = False) -> sa.Column[float]:
    return sa.Column(name, sa.Float(), nullable=nullable)


def _text(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _box(nullable: bool = False) -> list[sa.Column[float]]:
    return [_float(c, nullable) for c in ("x1", "y1", "x2", "y2")]


def _one_of(table: str, column: str, constraint: str, values: Sequence[str]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=op.f(f"ck_{table}_{constraint}"))


def _table(name: str, *items: SchemaItem | list[sa.Column[float]]) -> None:
    flat: list[SchemaItem] = []
    for item in items:
        flat.extend(item if isinstance(item, list) else [item])
    for element in flat:  # foreign keys named as the models' naming convention names them
        if isinstance(element, sa.Column):
            for fk in element.foreign_keys:
                fk.name = f"fk_{name}_{element.name}_{fk.target_fullname.split('.')[0]}"
    op.create_table(name, *flat, sa.PrimaryKeyConstraint("id", name=f"pk_{name}"))


def _index(table: str, columns: Sequence[str], *, name: str | None = None, where: str | None = None) -> None:
    clause = {"postgresql_where": sa.text(where), "sqlite_where": sa.text(where)} if where else {}
    op.create_index(name or f"ix_{table}_{'_'.join(columns)}", table, list(columns), **clause)  # type: ignore[arg-type]


_JOB_STATES = ("pending", "running", "done", "failed")
_ITEM_STATES = ("pending", "claimed", "decided", "skipped")


def upgrade() -> None:
    _table(
        "users",
        _id(),
        _str("name", 120),
        _str("role", 16),
        _str("token_hash", 64, nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("created_at", nullable=False),
        sa.UniqueConstraint("name", name="uq_users_name"),
        sa.UniqueConstraint("token_hash", name="uq_users_token_hash"),
        _one_of("users", "role", "role", ("auditor", "spec_author", "ops", "admin")),
    )
    _table(
        "datasets",
        _id(),
        _str("name", 200),
        _ts("created_at", nullable=False),
        sa.UniqueConstraint("name", name="uq_datasets_name"),
    )
    _table(
        "batches",
        _id(),
        _fk("dataset_id", "datasets.id", ondelete="RESTRICT"),
        _str("vendor", 200),
        _str("team", 200),
        _str("format", 40),
        _str("spec_name", 120),
        _str("spec_version", 40),
        _str("spec_hash", 64),
        sa.Column("due_date", sa.Date(), nullable=True),
        _text("source_path"),
        _int("frame_count"),
        _int("label_count"),
        _json("problems"),
        _ts("created_at", nullable=False),
    )
    _index("batches", ["dataset_id"])
    _table(
        "frames",
        _id(),
        _fk("batch_id", "batches.id"),
        _str("key", 200),
        _int("position"),
        _str("sequence", 64, nullable=True),
        _int("seq_index"),
        _text("image", nullable=True),
        _int("width", nullable=True),
        _int("height", nullable=True),
        _json("calib", nullable=True),
        sa.UniqueConstraint("batch_id", "key", name="uq_frames_batch_id_key"),
    )
    _index("frames", ["batch_id", "position"])
    _table(
        "labels",
        _id(),
        _fk("batch_id", "batches.id"),
        _fk("frame_id", "frames.id"),
        _str("key", 200),
        _int("position"),
        _str("cls", 64),
        _box(),
        _json("cuboid", nullable=True),
        _float("truncation", nullable=True),
        _int("occlusion", nullable=True),
        _float("alpha", nullable=True),
        _int("track_id", nullable=True),
        _json("attributes"),
        _text("source_path", nullable=True),
        _int("source_line", nullable=True),
        sa.UniqueConstraint("batch_id", "key", name="uq_labels_batch_id_key"),
    )
    _index("labels", ["frame_id"])
    _table(
        "predictions",
        _id(),
        _fk("batch_id", "batches.id"),
        _fk("frame_id", "frames.id"),
        _int("position"),
        _str("detector", 120),
        _str("cls", 64),
        _box(),
        _float("score"),
        _float("raw_score"),
        _json("cuboid", nullable=True),
        _text("source_path", nullable=True),
        _int("source_line", nullable=True),
    )
    _index("predictions", ["frame_id"])
    _index("predictions", ["batch_id"])
    _table(
        "review_jobs",
        _id(),
        _fk("batch_id", "batches.id"),
        _str("spec_hash", 64),
        _str("status", 16),
        _int("chunk_size"),
        _json("options"),
        *(_int(c) for c in ("chunks_total", "chunks_done", "chunks_failed", "frames_total", "frames_done")),
        _int("findings_count"),
        _ts("created_at", nullable=False),
        _ts("started_at"),
        _ts("finished_at"),
        _one_of("review_jobs", "status", "job_status", _JOB_STATES),
    )
    _index("review_jobs", ["batch_id"])
    _index("review_jobs", ["status"])
    _table(
        "job_chunks",
        _id(),
        _fk("job_id", "review_jobs.id"),
        _int("seq"),
        _json("frame_keys"),
        _int("frame_count"),
        _str("status", 16),
        _str("lease_owner", 200, nullable=True),
        _ts("lease_expires_at"),
        _int("attempts"),
        _text("last_error", nullable=True),
        _int("findings_count"),
        _ts("started_at"),
        _ts("finished_at"),
        sa.UniqueConstraint("job_id", "seq", name="uq_job_chunks_job_id_seq"),
        _one_of("job_chunks", "status", "chunk_status", _JOB_STATES),
    )
    _index("job_chunks", ["status", "lease_expires_at"])
    _index("job_chunks", ["job_id", "status"])
    _table(
        "findings",
        _id(),
        _fk("job_id", "review_jobs.id"),
        _fk("chunk_id", "job_chunks.id"),
        _fk("batch_id", "batches.id"),
        _fk("frame_id", "frames.id"),
        _fk("label_id", "labels.id", nullable=True),
        _str("frame_key", 200),
        _str("label_key", 200, nullable=True),
        _str("type", 32),
        _float("score"),
        _float("raw"),
        _float("priority"),
        _box(),
        _str("check", 80),
        _text("message"),
        _json("features"),
        _json("evidence"),
        _json("rule_ids"),
        _json("params"),
        _str("spec_hash", 64),
    )
    _index("findings", ["batch_id", "type", "score"])
    _index("findings", ["chunk_id"])
    _index("findings", ["job_id", "priority"])
    _index("findings", ["frame_id"])
    _index("findings", ["label_id"])
    _table(
        "review_items",
        _id(),
        _fk("job_id", "review_jobs.id"),
        _fk("batch_id", "batches.id"),
        _str("kind", 16),
        _fk("finding_id", "findings.id", nullable=True),
        _fk("label_id", "labels.id", nullable=True),
        _fk("frame_id", "frames.id"),
        _float("priority"),
        _str("status", 16),
        _str("claimed_by", 120, nullable=True),
        _ts("claimed_at"),
        _ts("lease_expires_at"),
        _int("claims"),
        _ts("decided_at"),
        _text("note"),
        _ts("created_at", nullable=False),
        sa.UniqueConstraint("finding_id", name="uq_review_items_finding_id"),
        _one_of("review_items", "kind", "item_kind", ("flag", "spot_check")),
        _one_of("review_items", "status", "item_status", _ITEM_STATES),
        sa.CheckConstraint(
            "(kind = 'flag' AND finding_id IS NOT NULL) OR (kind = 'spot_check' AND label_id IS NOT NULL)",
            name=op.f("ck_review_items_item_subject"),
        ),
    )
    # The auditors' queue: pending items by priority, globally and per job (see models.ReviewItemRow).
    _index("review_items", ["priority", "id"], name="ix_review_items_queue", where="status = 'pending'")
    _index(
        "review_items",
        ["job_id", "priority", "id"],
        name="ix_review_items_job_queue",
        where="status = 'pending'",
    )
    _index("review_items", ["lease_expires_at"], name="ix_review_items_claims", where="status = 'claimed'")
    op.create_index(
        "uq_review_items_spot_check",
        "review_items",
        ["job_id", "label_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'spot_check'"),
        sqlite_where=sa.text("kind = 'spot_check'"),
    )
    _index("review_items", ["job_id", "status"])
    _index("review_items", ["label_id"])
    _index("review_items", ["frame_id"])
    _index("review_items", ["batch_id"])
    _table(
        "audits",
        sa.Column("id", sa.String(64), primary_key=True),
        _fk("item_id", "review_items.id", ondelete="SET NULL", nullable=True),
        _fk("batch_id", "batches.id", ondelete="SET NULL", nullable=True),
        _str("dataset", 200),
        _str("frame_key", 200),
        _str("label_key", 200, nullable=True),
        _box(nullable=True),
        _str("verdict", 32),
        _str("issue_type", 32, nullable=True),
        _json("corrected", nullable=True),
        _str("flag_check", 80, nullable=True),
        _str("auditor", 120),
        _float("seconds", nullable=True),
        _str("spec_hash", 64, nullable=True),
        _str("source", 32),
        _text("comment"),
        _ts("created_at", nullable=False),
        sa.UniqueConstraint("item_id", name="uq_audits_item_id"),
    )
    _index("audits", ["spec_hash", "created_at"])
    _index("audits", ["auditor", "created_at"])
    _index("audits", ["batch_id"])
    _index("audits", ["created_at"])


_TABLES = (
    "audits",
    "review_items",
    "findings",
    "job_chunks",
    "review_jobs",
    "predictions",
    "labels",
    "frames",
    "batches",
    "datasets",
    "users",
)


def downgrade() -> None:
    for table in _TABLES:  # dependents first; dropping a table drops its indexes
        op.drop_table(table)
