"""Building the auditors' queue of a job: one item per finding, plus random spot checks of unflagged
labels so that what the reviewer misses can be estimated from audits."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise, zip_longest

import numpy as np
from sqlalchemy import delete, exists, insert, literal, select, update
from sqlalchemy.orm import Session

from gtqa.spec import CompiledSpec
from gtqa.storage._sql import IS_AUDIT, IS_PENDING, SYNC, rowcount
from gtqa.storage.errors import NotFoundError
from gtqa.storage.models import FindingRow, FrameRow, JobChunkRow, LabelRow, ReviewItemRow, ReviewJobRow
from gtqa.storage.records import ChunkStatus, ItemKind, ItemStatus, QueueBuild
from gtqa.storage.types import UTCDateTime, utcnow

FLAG_BANDS = (0.02, 0.05)  # flag probability bands sampled as spot checks: [0, 0.02) and [0.02, 0.05)
UNFLAGGED = "unflagged"


def build_review_items(
    session: Session,
    job_id: int,
    spec: CompiledSpec,
    *,
    spot_check_share: float,
    stream_rate: float = 0.1,
    flag_bands: Sequence[float] = FLAG_BANDS,
    seed: int | None = None,
    spot_priority: float | None = None,
    now: datetime | None = None,
) -> QueueBuild:
    """Queue a job's findings for audit, plus a stratified random sample of spot checks.

    A flag's priority is the one stored with its finding (probability x severity weight under the
    spec). The spot-check sample takes ``spot_check_share`` of each stratum, with
    ``np.random.default_rng(seed)`` (seed defaults to the job id): the unflagged labels of reviewed
    classes in chunks already done, and the pending flags of each probability band of ``flag_bands``
    (the flags a budget would never reach). Each sampled item stores its stratum and inclusion
    probability. The sample is mixed into the stream at ``stream_rate``: in priority order every
    ``1 / stream_rate``-th item is a spot check from the first claim on (ties with a flag go to the
    spot check), until the sample runs out, so estimates are defined after a few decisions; with
    ``spot_priority`` every spot check gets that priority instead.
    Rebuilding is safe: pending items are dropped and remade, claimed and decided ones are kept, and so
    are blind items (second reviews and gold, ``gtqa.storage.blind``), which the sample never picks.
    """
    if not 0.0 <= spot_check_share <= 1.0:
        raise ValueError(f"spot_check_share must be in [0, 1], not {spot_check_share}")
    if not 0.0 < stream_rate <= 1.0:
        raise ValueError(f"stream_rate must be in (0, 1], not {stream_rate}")
    now = now or utcnow()
    job = session.get(ReviewJobRow, job_id)
    if job is None:
        raise NotFoundError(f"no review job {job_id}")
    if spec.hash != job.spec_hash:
        raise ValueError(f"spec {spec.hash[:12]} is not the job's spec {job.spec_hash[:12]}")
    removed = rowcount(
        session.execute(
            delete(ReviewItemRow)
            .where(ReviewItemRow.job_id == job_id, IS_PENDING, IS_AUDIT)
            .execution_options(**SYNC)
        )
    )
    flags = _queue_flags(session, job, now)
    rng = np.random.default_rng(job_id if seed is None else seed)
    picks = _sample(_strata(session, job, spec, flag_bands), spot_check_share, rng)
    priorities = _slots(session, job.id, picks, stream_rate, rng, spot_priority)
    spots = _store_sample(session, job, picks, priorities, now)
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
    ).where(FindingRow.job_id == job.id, ~exists().where(ReviewItemRow.finding_id == FindingRow.id, IS_AUDIT))
    stmt = insert(ReviewItemRow).from_select(columns, source).execution_options(preserve_rowcount=True)
    return rowcount(session.execute(stmt))


@dataclass(frozen=True)
class _Unit:
    """A unit a spot check may pick: an unflagged label (``item`` None) or a flag's pending item."""

    label_id: int | None
    frame_id: int
    item: int | None = None


@dataclass(frozen=True)
class _Pick:
    unit: _Unit
    stratum: str
    inclusion_probability: float


def _sample(
    strata: dict[str, tuple[list[_Unit], int]], share: float, rng: np.random.Generator
) -> list[_Pick]:
    """``share`` of each stratum (counting the sampled items an earlier build kept), in stream order:
    the strata take turns (unflagged labels first: the miss rate rests on them), each stratum's picks in
    random order. Taking turns does not change what was sampled, only when each pick is reached, and
    within a stratum the picks reached first are a uniform random subset of its sample, so estimates
    from the decided ones stay unbiased; what it buys is every stratum's first audits within the
    first few spot checks, where a random order let the large bands of low-probability flags take the
    first ones and left the miss rate undefined."""
    turns: list[list[_Pick]] = []
    for name, (pool, kept) in strata.items():
        population = len(pool) + kept
        wanted = min(int(share * population + 0.5) - kept, len(pool))
        if wanted <= 0:
            continue
        chosen = rng.choice(len(pool), size=wanted, replace=False).tolist()  # a random order
        pi = (kept + wanted) / population
        turns.append([_Pick(pool[i], name, pi) for i in chosen])
    return [p for group in zip_longest(*turns) for p in group if p is not None]


def _slots(
    session: Session,
    job_id: int,
    picks: list[_Pick],
    rate: float,
    rng: np.random.Generator,
    fixed: float | None,
) -> list[float]:
    """The priority of each pick: the j-th goes to stream position ``floor((j + 1) / rate) - 1``, so
    it takes the priority of the flag that is to come right after it (equal priority, higher id first:
    the queue's order). Past the last flag, the last flag's priority."""
    if fixed is not None:
        return [fixed] * len(picks)
    sampled = {p.unit.item for p in picks if p.unit.item is not None}
    rows = session.execute(
        select(ReviewItemRow.id, ReviewItemRow.priority).where(
            ReviewItemRow.job_id == job_id, IS_PENDING, IS_AUDIT
        )
    )
    flags = sorted((p for i, p in rows if i not in sampled), reverse=True)
    if not flags:
        return [float(p) for p in rng.uniform(0.0, 1.0, size=len(picks))]
    before = [int((j + 1) / rate) - 1 - j for j in range(len(picks))]  # flags ahead of the j-th
    return [float(flags[min(b, len(flags) - 1)]) for b in before]


def _store_sample(
    session: Session, job: ReviewJobRow, picks: list[_Pick], priorities: list[float], now: datetime
) -> int:
    """New spot-check items for the unflagged labels picked; the picked flags' items re-prioritised."""
    new, moved = [], []
    for pick, p in zip(picks, priorities, strict=True):
        sample = {"priority": p, "stratum": pick.stratum, "inclusion_probability": pick.inclusion_probability}
        if pick.unit.item is not None:
            moved.append({"id": pick.unit.item, **sample})
            continue
        unit = {"label_id": pick.unit.label_id, "frame_id": pick.unit.frame_id, "created_at": now}
        new.append(
            {"job_id": job.id, "batch_id": job.batch_id, "kind": ItemKind.spot_check, **unit, **sample}
        )
    if new:
        session.execute(insert(ReviewItemRow), new)
    if moved:
        session.execute(update(ReviewItemRow), moved)
    return len(new) + len(moved)


def _strata(
    session: Session, job: ReviewJobRow, spec: CompiledSpec, bands: Sequence[float]
) -> dict[str, tuple[list[_Unit], int]]:
    """Each stratum's units not yet sampled and how many of its sampled items an earlier build kept."""
    kept = Counter(
        session.scalars(
            select(ReviewItemRow.stratum).where(
                ReviewItemRow.job_id == job.id, ReviewItemRow.stratum.is_not(None), ~IS_PENDING
            )
        )
    )
    pool, kept_unflagged = _spot_pool(session, job, spec)
    strata = {
        UNFLAGGED: ([_Unit(label, frame) for label, frame in pool], max(kept_unflagged, kept[UNFLAGGED]))
    }
    for name, units in _flag_bands(session, job.id, bands).items():
        strata[name] = (units, kept[name])
    return strata


def band_name(low: float, high: float) -> str:
    return f"flags {low:.0%}-{high:.0%}"


def _flag_bands(session: Session, job_id: int, bands: Sequence[float]) -> dict[str, list[_Unit]]:
    """The pending flag items whose probability lies in each band ``[edge_i, edge_i+1)`` from 0."""
    edges = [0.0, *sorted(bands)]
    out: dict[str, list[_Unit]] = {band_name(a, b): [] for a, b in pairwise(edges)}
    if not bands:
        return out
    rows = session.execute(
        select(ReviewItemRow.id, ReviewItemRow.label_id, ReviewItemRow.frame_id, FindingRow.score)
        .join(FindingRow, FindingRow.id == ReviewItemRow.finding_id)
        .where(ReviewItemRow.job_id == job_id, IS_PENDING, IS_AUDIT, FindingRow.score < edges[-1])
        .order_by(ReviewItemRow.id)
    )
    for item, label, frame, score in rows:
        i = bisect_right(edges, score) - 1
        out[band_name(edges[i], edges[i + 1])].append(_Unit(label, frame, item))
    return out


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
                ReviewItemRow.job_id == job.id, ReviewItemRow.kind == ItemKind.spot_check, IS_AUDIT
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
