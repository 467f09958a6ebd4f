"""The tables, as typed SQLAlchemy 2 ORM classes. The schema itself is owned by the Alembic migrations in
``gtqa/storage/migrations`` (a test checks the two agree); never ``create_all`` outside a scratch script.

Boxes are four float columns ``x1, y1, x2, y2`` in image pixels (see ``gtqa.domain.geometry``); gtqa ids
(frame ``000015``, label ``000015:3``) are kept as ``key`` next to the integer primary keys.
Domain vocabularies that grow with the code (issue types, verdicts) are plain strings; the states of
storage's own workflows are constrained enums.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gtqa.domain import AuditSource, IssueType, Verdict
from gtqa.storage.records import (
    CalibrationState,
    ChunkStatus,
    ItemKind,
    ItemPurpose,
    ItemStatus,
    JobStatus,
    Role,
)
from gtqa.storage.types import BigId, Json, UTCDateTime, utcnow

# Deterministic constraint names: later migrations (and SQLite batch mode) need to name what they alter.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _state(enum: type[Enum], name: str) -> SAEnum:
    """A workflow state: VARCHAR plus a CHECK constraint (no native enum type to migrate)."""
    return SAEnum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda e: [m.value for m in e],
    )


def _vocab(enum: type[Enum]) -> SAEnum:
    """A domain vocabulary: VARCHAR, validated by the domain model, not by the database."""
    return SAEnum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda e: [m.value for m in e],
    )


def _id() -> Mapped[int]:
    return mapped_column(BigId, primary_key=True, autoincrement=True)


def _fk(target: str, ondelete: str = "CASCADE", nullable: bool = False) -> Any:
    return mapped_column(BigId, ForeignKey(target, ondelete=ondelete), nullable=nullable)


def _created() -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), default=utcnow)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = _id()
    name: Mapped[str] = mapped_column(String(120), unique=True)
    role: Mapped[Role] = mapped_column(_state(Role, "role"))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # sha256 hex of the API token
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _created()


class DatasetRow(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = _id()
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = _created()


class BatchRow(Base):
    """One delivery of a dataset by a vendor, reviewed under one spec."""

    __tablename__ = "batches"

    id: Mapped[int] = _id()
    dataset_id: Mapped[int] = _fk("datasets.id", ondelete="RESTRICT")
    vendor: Mapped[str] = mapped_column(String(200), default="")
    team: Mapped[str] = mapped_column(String(200), default="")  # the labelling team
    format: Mapped[str] = mapped_column(String(40))
    spec_name: Mapped[str] = mapped_column(String(120))
    spec_version: Mapped[str] = mapped_column(String(40))
    spec_hash: Mapped[str] = mapped_column(String(64))
    due_date: Mapped[date | None] = mapped_column(Date)
    source_path: Mapped[str] = mapped_column(Text, default="")
    frame_count: Mapped[int] = mapped_column(Integer, default=0)
    label_count: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list[dict[str, Any]]] = mapped_column(Json(), default=list)  # InputProblem dumps
    idempotency_key: Mapped[str | None] = mapped_column(String(200))  # the client's, to replay a retry
    created_at: Mapped[datetime] = _created()

    __table_args__ = (Index(None, "dataset_id"), Index(None, "idempotency_key", unique=True))


class FrameRow(Base):
    __tablename__ = "frames"

    id: Mapped[int] = _id()
    batch_id: Mapped[int] = _fk("batches.id")
    key: Mapped[str] = mapped_column(String(200))  # gtqa frame id
    position: Mapped[int] = mapped_column(Integer)  # reading order within the batch
    sequence: Mapped[str | None] = mapped_column(String(64))
    seq_index: Mapped[int] = mapped_column(Integer, default=0)
    image: Mapped[str | None] = mapped_column(Text)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    calib: Mapped[dict[str, Any] | None] = mapped_column(Json())

    __table_args__ = (UniqueConstraint("batch_id", "key"), Index(None, "batch_id", "position"))


class LabelRow(Base):
    __tablename__ = "labels"

    id: Mapped[int] = _id()
    batch_id: Mapped[int] = _fk("batches.id")
    frame_id: Mapped[int] = _fk("frames.id")
    key: Mapped[str] = mapped_column(String(200))  # gtqa label id
    position: Mapped[int] = mapped_column(Integer)  # order within the frame
    cls: Mapped[str] = mapped_column(String(64))
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    x2: Mapped[float] = mapped_column(Float)
    y2: Mapped[float] = mapped_column(Float)
    cuboid: Mapped[dict[str, Any] | None] = mapped_column(Json())
    truncation: Mapped[float | None] = mapped_column(Float)
    occlusion: Mapped[int | None] = mapped_column(Integer)
    alpha: Mapped[float | None] = mapped_column(Float)
    track_id: Mapped[int | None] = mapped_column(Integer)
    attributes: Mapped[dict[str, Any]] = mapped_column(Json(), default=dict)
    source_path: Mapped[str | None] = mapped_column(Text)
    source_line: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("batch_id", "key"), Index(None, "frame_id"))


class PredictionRow(Base):
    __tablename__ = "predictions"

    id: Mapped[int] = _id()
    batch_id: Mapped[int] = _fk("batches.id")
    frame_id: Mapped[int] = _fk("frames.id")
    position: Mapped[int] = mapped_column(Integer)
    detector: Mapped[str] = mapped_column(String(120))
    cls: Mapped[str] = mapped_column(String(64))
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    x2: Mapped[float] = mapped_column(Float)
    y2: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    raw_score: Mapped[float] = mapped_column(Float)
    cuboid: Mapped[dict[str, Any] | None] = mapped_column(Json())
    source_path: Mapped[str | None] = mapped_column(Text)
    source_line: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index(None, "frame_id"), Index(None, "batch_id"))


class ReviewJobRow(Base):
    __tablename__ = "review_jobs"

    id: Mapped[int] = _id()
    batch_id: Mapped[int] = _fk("batches.id")
    spec_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[JobStatus] = mapped_column(_state(JobStatus, "job_status"), default=JobStatus.pending)
    chunk_size: Mapped[int] = mapped_column(Integer)
    options: Mapped[dict[str, Any]] = mapped_column(Json(), default=dict)  # e.g. checks / exclude
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    chunks_failed: Mapped[int] = mapped_column(Integer, default=0)
    frames_total: Mapped[int] = mapped_column(Integer, default=0)
    frames_done: Mapped[int] = mapped_column(Integer, default=0)
    findings_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = _created()
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index(None, "batch_id"), Index(None, "status"))


class JobChunkRow(Base):
    """A slice of a job's frames that one worker task reviews under a lease."""

    __tablename__ = "job_chunks"

    id: Mapped[int] = _id()
    job_id: Mapped[int] = _fk("review_jobs.id")
    seq: Mapped[int] = mapped_column(Integer)
    frame_keys: Mapped[list[str]] = mapped_column(Json())
    frame_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[ChunkStatus] = mapped_column(
        _state(ChunkStatus, "chunk_status"), default=ChunkStatus.pending
    )
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    findings_count: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("job_id", "seq"),
        Index(None, "status", "lease_expires_at"),  # the reconciler's sweep
        Index(None, "job_id", "status"),
    )


class FindingRow(Base):
    __tablename__ = "findings"

    id: Mapped[int] = _id()
    job_id: Mapped[int] = _fk("review_jobs.id")
    chunk_id: Mapped[int] = _fk("job_chunks.id")
    batch_id: Mapped[int] = _fk("batches.id")
    frame_id: Mapped[int] = _fk("frames.id")
    label_id: Mapped[int | None] = _fk("labels.id", nullable=True)  # None for a missing object
    frame_key: Mapped[str] = mapped_column(String(200))
    label_key: Mapped[str | None] = mapped_column(String(200))
    type: Mapped[IssueType] = mapped_column(_vocab(IssueType))
    score: Mapped[float] = mapped_column(Float)  # probability of a real defect
    raw: Mapped[float] = mapped_column(Float, default=0.0)
    priority: Mapped[float] = mapped_column(Float)  # score x severity weight under the job's spec
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    x2: Mapped[float] = mapped_column(Float)
    y2: Mapped[float] = mapped_column(Float)
    check: Mapped[str] = mapped_column(String(80))
    message: Mapped[str] = mapped_column(Text)
    features: Mapped[dict[str, float]] = mapped_column(Json(), default=dict)
    evidence: Mapped[list[str]] = mapped_column(Json(), default=list)
    rule_ids: Mapped[list[str]] = mapped_column(Json(), default=list)
    params: Mapped[dict[str, Any]] = mapped_column(Json(), default=dict)
    spec_hash: Mapped[str] = mapped_column(String(64))
    cls: Mapped[str | None] = mapped_column(String(64))  # the label's class, or a missing object's
    proposed_box: Mapped[list[float] | None] = mapped_column(Json())  # [x1, y1, x2, y2] pixels
    track: Mapped[int | None] = mapped_column(Integer)  # the track a proposed missing object continues
    heuristic_score: Mapped[float | None] = mapped_column(Float)  # before the judge's opinion
    needs_human: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    follows: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # see Finding
    judge: Mapped[dict[str, Any] | None] = mapped_column(Json())  # a JudgeOpinion dump
    judge_cost_usd: Mapped[float | None] = mapped_column(Float)  # paid for it (0: cached); None: not asked
    # The refitted calibration that scored it (``calibration_versions``); None: the shipped default
    # calibration or the spec's priors, as the worker's plan chose.
    calibration_version: Mapped[int | None] = _fk(
        "calibration_versions.id", ondelete="SET NULL", nullable=True
    )

    __table_args__ = (
        Index(None, "batch_id", "type", "score"),
        Index(None, "chunk_id"),
        Index(None, "job_id", "priority"),
        Index(None, "frame_id"),
        Index(None, "label_id"),
    )


class CalibrationVersionRow(Base):
    """A refit of a spec's calibration on the service's own audits, and what the gate said of it. The
    model is the ``CalibrationModel`` JSON (LightGBM text inside: some hundred kB), with its sha256."""

    __tablename__ = "calibration_versions"

    id: Mapped[int] = _id()
    spec_name: Mapped[str] = mapped_column(String(120))
    spec_hash: Mapped[str] = mapped_column(String(64))
    data_format: Mapped[str] = mapped_column(String(40))
    parent_id: Mapped[int | None] = _fk("calibration_versions.id", ondelete="SET NULL", nullable=True)
    status: Mapped[CalibrationState] = mapped_column(_state(CalibrationState, "calibration_state"))
    reason: Mapped[str] = mapped_column(Text, default="")
    n_audits: Mapped[int] = mapped_column(Integer, default=0)
    evaluation: Mapped[dict[str, Any] | None] = mapped_column(Json())
    model: Mapped[str | None] = mapped_column(Text)
    model_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created()
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index(None, "spec_name", "data_format", "created_at"),)


class CalibrationHeadRow(Base):
    """Per (spec name, data format): the version in use (None: the shipped default or the priors), the
    decisions counted since the last refit started, and the refit lease (one refit at a time)."""

    __tablename__ = "calibration_heads"

    spec_name: Mapped[str] = mapped_column(String(120), primary_key=True)
    data_format: Mapped[str] = mapped_column(String(40), primary_key=True)
    version_id: Mapped[int | None] = _fk("calibration_versions.id", ondelete="SET NULL", nullable=True)
    decisions: Mapped[int] = mapped_column(Integer, default=0)
    refit_owner: Mapped[str | None] = mapped_column(String(200))
    refit_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


_PENDING = text("status = 'pending'")
_CLAIMED = text("status = 'claimed'")
_AUDIT = text("purpose = 'audit'")
_SPOT = text("kind = 'spot_check' AND purpose = 'audit'")


class ReviewItemRow(Base):
    """An entry of the auditors' queue: a flag, or a spot-checked unflagged label."""

    __tablename__ = "review_items"

    id: Mapped[int] = _id()
    job_id: Mapped[int] = _fk("review_jobs.id")
    batch_id: Mapped[int] = _fk("batches.id")
    kind: Mapped[ItemKind] = mapped_column(_state(ItemKind, "item_kind"))
    finding_id: Mapped[int | None] = _fk("findings.id", nullable=True)
    label_id: Mapped[int | None] = _fk("labels.id", nullable=True)
    frame_id: Mapped[int] = _fk("frames.id")
    priority: Mapped[float] = mapped_column(Float)
    status: Mapped[ItemStatus] = mapped_column(_state(ItemStatus, "item_status"), default=ItemStatus.pending)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claims: Mapped[int] = mapped_column(Integer, default=0)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")
    # Part of the spot-check sample (``gtqa.storage.queue_build``): its stratum and the probability that
    # the sample included it; both None for an item outside the sample.
    stratum: Mapped[str | None] = mapped_column(String(40))
    inclusion_probability: Mapped[float | None] = mapped_column(Float)
    # Blind items (``gtqa.storage.blind``): a second review names the item it repeats and the auditor who
    # decided that one (never handed it); a gold item has its answer in ``gold_answers``.
    purpose: Mapped[ItemPurpose] = mapped_column(
        _state(ItemPurpose, "item_purpose"), default=ItemPurpose.audit, server_default=ItemPurpose.audit.value
    )
    review_of: Mapped[int | None] = _fk("review_items.id", nullable=True)
    blind_to: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = _created()

    __table_args__ = (
        CheckConstraint(
            "(kind = 'flag' AND finding_id IS NOT NULL) OR (kind = 'spot_check' AND label_id IS NOT NULL)",
            name="item_subject",
        ),
        # One audit item per finding; blind items repeat a finding.
        Index(
            "uq_review_items_finding", "finding_id", unique=True, postgresql_where=_AUDIT, sqlite_where=_AUDIT
        ),
        # The queue: highest priority first among pending items, globally or within one job. Scanned
        # backwards for ORDER BY priority DESC, id DESC; partial, so claimed and decided rows cost nothing.
        Index("ix_review_items_queue", "priority", "id", postgresql_where=_PENDING, sqlite_where=_PENDING),
        Index(
            "ix_review_items_job_queue",
            "job_id",
            "priority",
            "id",
            postgresql_where=_PENDING,
            sqlite_where=_PENDING,
        ),
        Index("ix_review_items_claims", "lease_expires_at", postgresql_where=_CLAIMED, sqlite_where=_CLAIMED),
        Index(
            "uq_review_items_spot_check",
            "job_id",
            "label_id",
            unique=True,
            postgresql_where=_SPOT,
            sqlite_where=_SPOT,
        ),
        Index(None, "job_id", "status"),
        Index(None, "label_id"),
        Index(None, "frame_id"),
        Index(None, "batch_id"),
        Index(None, "review_of"),
    )


class GoldAnswerRow(Base):
    """The known answer of a gold item (a ``gtqa.domain.GoldAnswer``)."""

    __tablename__ = "gold_answers"

    item_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("review_items.id", ondelete="CASCADE"), primary_key=True
    )
    verdict: Mapped[Verdict] = mapped_column(_vocab(Verdict))
    issue_type: Mapped[IssueType | None] = mapped_column(_vocab(IssueType))
    seeded_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = _created()


class AuditRow(Base):
    """A human decision (the ``gtqa.domain.Audit`` model). Audits outlive the items and batches they
    judged: those references are set to NULL when the rows go, the copied keys stay."""

    __tablename__ = "audits"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[int | None] = _fk("review_items.id", ondelete="SET NULL", nullable=True)
    batch_id: Mapped[int | None] = _fk("batches.id", ondelete="SET NULL", nullable=True)
    dataset: Mapped[str] = mapped_column(String(200), default="")
    frame_key: Mapped[str] = mapped_column(String(200))
    label_key: Mapped[str | None] = mapped_column(String(200))
    x1: Mapped[float | None] = mapped_column(Float)
    y1: Mapped[float | None] = mapped_column(Float)
    x2: Mapped[float | None] = mapped_column(Float)
    y2: Mapped[float | None] = mapped_column(Float)
    verdict: Mapped[Verdict] = mapped_column(_vocab(Verdict))
    issue_type: Mapped[IssueType | None] = mapped_column(_vocab(IssueType))
    corrected: Mapped[dict[str, Any] | None] = mapped_column(Json())  # a gtqa Label dump
    flag_check: Mapped[str | None] = mapped_column(String(80))
    auditor: Mapped[str] = mapped_column(String(120), default="")
    seconds: Mapped[float | None] = mapped_column(Float)
    spec_hash: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[AuditSource] = mapped_column(_vocab(AuditSource))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = _created()

    __table_args__ = (
        UniqueConstraint("item_id"),
        Index(None, "spec_hash", "created_at"),
        Index(None, "auditor", "created_at"),
        Index(None, "batch_id"),
        Index(None, "created_at"),
    )
