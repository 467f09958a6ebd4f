"""Building the auditors' queue of a job: one item per finding, plus random spot checks of unflagged
labels so that what the reviewer misses can be estimated from audits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
from sqlalchemy import delete, exists, insert, literal, select
from sqlalchemy.orm import Session

from gtqa.spec import CompiledSpec
from gtqa.storage._sql import IS_PENDING, SYNC, rowcount
from gtqa.storage.errors import NotFoundError
from gtqa.storage.models import FindingRow, FrameRow, JobChunkRow, LabelRow, ReviewItemRow, ReviewJobRow
from gtqa.storage.records import ChunkStatus, ItemKind, ItemStatus, QueueBuild
from gtqa.storage.types import UTCDateTime, utcnow


def build_review_items(
    session: Session,
    job_id: int,
    spec: CompiledSpec,
    *,
    spot_check_share: float,
    seed: int | None = None,
    spot_priority: float | None = None,
    now: datetime | None = None,
) -> QueueBuild:
    """Queue a job's findings for audit, plus ``spot_check_share`` of its unflagged labels.

    A flag's priority is the one stored with its finding (probability x severity weight under the
    spec). Spot checks sample, with ``np.random.default_rng(seed)`` (seed defaults to the job id),
    labels of reviewed classes that no finding of the job is about, in chunks already done; each gets
    ``spot_priority`` if given, else a priority drawn from the flags' own priorities, so spot checks are
    spread through the queue like flags and an auditor who stops early has still seen their share.
    Rebuilding is safe: pending items are dropped and remade, claimed and decided ones are kept.
    """
    if not 0.0 <= spot_check_share <= 1.0:
        raise ValueError(f"spot_check_share must be in [0, 1], not {spot_check_share}")
    now = now or utcnow()
    job = session.get(ReviewJobRow, job_id)
    if job is None:
        raise NotFoundError(f"no review job {job_id}")
    if spec.hash != job.spec_hash:
        raise ValueError(f"spec {spec.hash[:12]} is not the job's spec {job.spec_hash[:12]}")
    removed = rowcount(
        session.execute(
            delete(ReviewItemRow).where(ReviewItemRow.job_id == job_id, IS_PENDING).execution_options(**SYNC)
        )
    )
    flags = _queue_flags(session, job, now)
    rng = np.random.default_rng(job_id if seed is None else seed)
    spots = _queue_spot_checks(session, job, spec, spot_check_share, rng, spot_priority, now)
    return QueueBuild(flags=flags, spot_checks=spots, removed=removed)


def _queue_flags(session: Session, job: ReviewJobRow, now: datetime) -> int:
    columns = ["job_id", "batch_id", "kind", "finding_id", "label_id", "frame_id", "priority"]
    columns += ["status", "claims", "note", "created_at"]
    source = select(
        literal(job.id),
        literal(job.batch_id),
        literal(ItemKind.flag, ReviewItemRow.kind.type),
        FindingRow.id,
        FindingRow.label_id,
        FindingRow.frame_id,
        FindingRow.priority,
        literal(ItemStatus.pending, ReviewItemRow.status.type),
        literal(0),
        literal(""),
        literal(now, UTCDateTime()),
    ).where(FindingRow.job_id == job.id, ~exists().where(ReviewItemRow.finding_id == FindingRow.id))
    stmt = insert(ReviewItemRow).from_select(columns, source).execution_options(preserve_rowcount=True)
    return rowcount(session.execute(stmt))


def _queue_spot_checks(
    session: Session,
    job: ReviewJobRow,
    spec: CompiledSpec,
    share: float,
    rng: np.random.Generator,
    spot_priority: float | None,
    now: datetime,
) -> int:
    pool, kept = _spot_pool(session, job, spec)
    wanted = int(share * (len(pool) + kept) + 0.5) - kept
    if wanted <= 0 or not pool:
        return 0
    picked = sorted(rng.choice(len(pool), size=min(wanted, len(pool)), replace=False).tolist())
    priorities = _spot_priorities(session, job.id, len(picked), rng, spot_priority)
    rows = [
        {
            "job_id": job.id,
            "batch_id": job.batch_id,
            "kind": ItemKind.spot_check,
            "label_id": pool[i][0],
            "frame_id": pool[i][1],
            "priority": p,
            "created_at": now,
        }
        for i, p in zip(picked, priorities, strict=True)
    ]
    session.execute(insert(ReviewItemRow), rows)
    return len(rows)


def _spot_pool(session: Session, job: ReviewJobRow, spec: CompiledSpec) -> tuple[list[tuple[int, int]], int]:
    """(label id, frame id) of the labels a spot check may pick, sorted; and how many spot checks the
    job keeps from an earlier build (claimed or decided ones, which the pool leaves out)."""
    done_keys = {
        key
        for keys in session.scalars(
            select(JobChunkRow.frame_keys).where(
                JobChunkRow.job_id == job.id, JobChunkRow.status == ChunkStatus.done
            )
        )
        for key in keys
    }
    flagged = set(session.scalars(select(FindingRow.label_id).where(FindingRow.job_id == job.id).distinct()))
    kept = set(
        session.scalars(
            select(ReviewItemRow.label_id).where(
                ReviewItemRow.job_id == job.id, ReviewItemRow.kind == ItemKind.spot_check
            )
        )
    )
    labels = session.execute(
        select(LabelRow.id, LabelRow.frame_id, LabelRow.cls, FrameRow.key)
        .join(FrameRow, FrameRow.id == LabelRow.frame_id)
        .where(LabelRow.batch_id == job.batch_id)
        .order_by(LabelRow.id)
    )
    pool = [
        (label_id, frame_id)
        for label_id, frame_id, cls, frame_key in labels
        if frame_key in done_keys
        and label_id not in flagged
        and label_id not in kept
        and spec.is_reviewed(cls)
    ]
    return pool, len(kept)


def _spot_priorities(
    session: Session, job_id: int, n: int, rng: np.random.Generator, fixed: float | None
) -> Sequence[float]:
    if fixed is not None:
        return [fixed] * n
    flag_priorities = list(session.scalars(select(FindingRow.priority).where(FindingRow.job_id == job_id)))
    if not flag_priorities:
        return [float(p) for p in rng.uniform(0.0, 1.0, size=n)]
    return [float(p) for p in rng.choice(np.asarray(flag_priorities), size=n, replace=True)]
