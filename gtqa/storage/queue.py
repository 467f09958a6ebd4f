"""The auditors' queue: items (built by ``queue_build``) claimed one at a time with a lease, then decided
(an Audit), released or skipped.

``claim_next`` is one UPDATE of the best of two candidates, the highest-priority pending item and the
highest-priority claim whose lease ran out, each chosen by a sub-select that locks its row and skips
rows other auditors are locking (PostgreSQL ``FOR UPDATE SKIP LOCKED``; SQLite runs every transaction
``BEGIN IMMEDIATE``, so claims are serialised). Two auditors never get the same item, and an auditor
whose claim lapsed can no longer decide it. ``decide``, ``skip`` and ``extend_claim`` write through one
conditional UPDATE that holds only while the claim does.

Blind items (``gtqa.storage.blind``) are claimed like any other, except that a second review never goes
to the auditor who made the first decision (``blind_to``); their decisions are audits of their own
source (``second_review``, ``gold``) that change no label's outcome.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Executable, Select, bindparam, func, insert, or_, select, text, union_all, update
from sqlalchemy.orm import Session, aliased

from gtqa.domain import Audit, AuditSource, Box2D, IssueType, Label, Verdict
from gtqa.storage._sql import IS_CLAIMED, IS_PENDING, SYNC, rowcount
from gtqa.storage.blind import chosen_for_second_review, queue_second_review
from gtqa.storage.errors import ClaimCapError, DecisionError, LeaseError, NotFoundError
from gtqa.storage.mapping import audit_values, to_finding, to_label
from gtqa.storage.models import (
    AuditRow,
    BatchRow,
    DatasetRow,
    FindingRow,
    FrameRow,
    LabelRow,
    ReviewItemRow,
    ReviewJobRow,
)
from gtqa.storage.records import FrameEdit, ItemContext, ItemKind, ItemPurpose, ItemStatus, ReviewItem
from gtqa.storage.scope import EVERYTHING, Scope, of_batches
from gtqa.storage.types import UTCDateTime, utcnow


def claim_next(
    session: Session,
    auditor: str,
    *,
    lease_s: float,
    job_id: int | None = None,
    durable: bool = False,
    max_held: int | None = None,
    now: datetime | None = None,
) -> ReviewItem | None:
    """Claim the highest-priority pending item (of one job, or of all) for ``lease_s`` seconds; None
    when nothing is pending. Commit promptly: the row stays locked until the transaction ends.
    ``max_held``: ``ClaimCapError`` when the auditor already holds that many live claims. With a cap,
    one auditor's claims are serialised until the transaction ends (``_lock_auditor``), so two claims
    racing (two tabs, a double click) cannot both pass the count and end one over the cap.

    Unless ``durable``, PostgreSQL commits this transaction without waiting for its WAL flush (one disk
    flush, milliseconds, saved per claim). A claim lost in a server crash is harmless: the item is simply
    pending again and the late decision is refused like any lapsed claim; a crash never keeps half a
    transaction. Keep writes that must survive a crash out of the claim's transaction, or pass
    ``durable=True``.
    """
    now = now or utcnow()
    if not durable and session.get_bind().dialect.name == "postgresql":
        session.execute(_ASYNC_COMMIT)
    if max_held is not None:
        _lock_auditor(session, auditor)
    if max_held is not None and held_by(session, auditor, now=now) >= max_held:
        raise ClaimCapError(f"{auditor} already holds {max_held} items: decide, skip or release one first")
    expires = now + timedelta(seconds=lease_s)
    params = {"q_auditor": auditor, "q_now": now, "q_expires": expires, "q_job": job_id}
    row = session.execute(_claim_statement(job_id is not None), params).one_or_none()
    return None if row is None else ReviewItem(*row)


def _lock_auditor(session: Session, auditor: str) -> None:
    """Make counting an auditor's claims and claiming one step: on PostgreSQL a transaction-scoped
    advisory lock keyed by the auditor's name (another auditor is not held up, except by a hash
    collision, which only serialises the two); SQLite's ``BEGIN IMMEDIATE`` already serialises every
    claim."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_AUDITOR_LOCK, {"auditor": auditor})


# Two-key form: the first key is this project's namespace for advisory locks ("gtqa" as an int4).
_AUDITOR_LOCK = text("SELECT pg_advisory_xact_lock(CAST(1735684449 AS integer), hashtext(:auditor))")


def held_by(session: Session, auditor: str, *, now: datetime | None = None) -> int:
    """How many items ``auditor`` holds under a claim that has not lapsed."""
    live = ReviewItemRow.lease_expires_at > (now or utcnow())
    where = (IS_CLAIMED, ReviewItemRow.claimed_by == auditor, live)
    return session.scalar(select(func.count()).select_from(ReviewItemRow).where(*where)) or 0


def return_skipped(session: Session, *, job_id: int | None = None, now: datetime | None = None) -> int:
    """Put skipped items (of one job, or of all) back in the queue as pending; how many. Their skip
    note stays as a record of why an auditor set them aside."""
    scope = [ReviewItemRow.job_id == job_id] if job_id is not None else []
    returned = session.execute(
        update(ReviewItemRow)
        .where(ReviewItemRow.status == ItemStatus.skipped, *scope)
        .values(status=ItemStatus.pending, claimed_by=None, claimed_at=None, lease_expires_at=None,
                decided_at=None)
        .returning(ReviewItemRow.id)
        .execution_options(**SYNC)
    ).all()  # fmt: skip
    return len(returned)


def expire_claims(session: Session, *, job_id: int | None = None, now: datetime | None = None) -> int:
    """Return claims whose lease ran out to pending; how many. ``claim_next`` takes lapsed claims as it
    finds them; this sweep (the reconciler's) keeps the statuses and counts true meanwhile."""
    params = {"q_now": now or utcnow(), "q_job": job_id}
    return rowcount(session.execute(_expire_statement(job_id is not None), params))


def extend_claim(
    session: Session, item_id: int, auditor: str, *, lease_s: float, now: datetime | None = None
) -> datetime:
    """Keep a claim alive (the auditor is still looking); the new expiry."""
    now = now or utcnow()
    expires = now + timedelta(seconds=lease_s)
    _transition(session, item_id, auditor, now, lease_expires_at=expires)
    return expires


def decide(
    session: Session,
    item_id: int,
    auditor: str,
    verdict: Verdict | str,
    *,
    issue_type: IssueType | str | None = None,
    corrected: Label | None = None,
    comment: str = "",
    seconds: float | None = None,
    second_review_share: float = 0.0,
    now: datetime | None = None,
) -> Audit:
    """Record the claimant's decision on an item as an Audit and mark the item decided.

    Only the auditor holding the claim, and only while its lease holds (else ``LeaseError``). A defect
    needs an issue type (a flag's own type if not given); ``not_defect`` and ``unsure`` take neither an
    issue type nor a correction; a correction must be in the item's frame and keep the judged label's id
    (``DecisionError``). ``second_review_share`` of the items (chosen by a hash of the item id, so the
    same items every time) are queued again, blind, for a different auditor.
    """
    now = now or utcnow()
    ctx = item_context(session, item_id)
    _check_holder(ctx.item, auditor, now)
    audit = _audit(ctx, auditor, verdict, issue_type, corrected, comment, seconds, now)
    _transition(session, item_id, auditor, now, status=ItemStatus.decided, decided_at=now)
    session.execute(
        insert(AuditRow), {**audit_values(audit), "item_id": item_id, "batch_id": ctx.item.batch_id}
    )
    if ctx.purpose == ItemPurpose.audit and chosen_for_second_review(item_id, second_review_share):
        queue_second_review(session, ctx.item, auditor, now)
    return audit


def record_frame_edits(
    session: Session,
    item_id: int,
    auditor: str,
    edits: Sequence[FrameEdit],
    *,
    of_audit: str,
    now: datetime | None = None,
) -> list[Audit]:
    """Store the corrections of other labels of an item's frame made while deciding it (a duplicate
    deleted, a neighbour fixed, a missing object drawn), each an Audit (a defect) of the item's batch and
    frame with the id ``<of_audit>-<n>``: an item has one audit of its own, these hang off it by id.
    Call it in the transaction of ``decide`` (which checked the claim)."""
    now = now or utcnow()
    ctx = item_context(session, item_id)
    made = [_edit_audit(ctx, auditor, e, f"{of_audit}-{n}", now) for n, e in enumerate(edits, 1)]
    for audit in made:
        _check_edit(ctx, audit)
    if made:
        rows = [{**audit_values(a), "item_id": None, "batch_id": ctx.item.batch_id} for a in made]
        session.execute(insert(AuditRow), rows)
    return made


def _edit_audit(ctx: ItemContext, auditor: str, edit: FrameEdit, audit_id: str, now: datetime) -> Audit:
    try:
        return Audit(
            id=audit_id, dataset=ctx.dataset, frame=ctx.item.frame_key, label=edit.label, box=edit.box,
            verdict=Verdict.defect, issue_type=edit.issue_type, corrected=edit.corrected, auditor=auditor,
            spec_hash=ctx.spec_hash, source=_edit_source(ctx), created_at=now,
            comment=f"corrected while deciding item {ctx.item.id}",
        )  # fmt: skip
    except ValidationError as exc:
        raise DecisionError(f"invalid edit of frame {ctx.item.frame_key}: {exc}") from exc


def _source(ctx: ItemContext) -> AuditSource:
    """A blind item's decision is of its own source; else a flag's is a queue decision."""
    if ctx.purpose != ItemPurpose.audit:
        return AuditSource(ctx.purpose.value)
    return AuditSource.queue if ctx.item.kind == ItemKind.flag else AuditSource.spot_check


def _edit_source(ctx: ItemContext) -> AuditSource:
    """Frame edits made on a blind item are blind answers too: they must not correct the labels."""
    return AuditSource.queue if ctx.purpose == ItemPurpose.audit else AuditSource(ctx.purpose.value)


def _check_edit(ctx: ItemContext, audit: Audit) -> None:
    if audit.corrected is not None and audit.corrected.frame != ctx.item.frame_key:
        raise DecisionError(f"an edit of frame {ctx.item.frame_key} names frame {audit.corrected.frame}")
    if audit.label is not None and audit.label == ctx.item.label_key:
        raise DecisionError("the judged label is corrected by the decision itself, not by a frame edit")


def release(session: Session, item_id: int, auditor: str, *, now: datetime | None = None) -> None:
    """Give a claimed item back to the queue undecided."""
    now = now or utcnow()
    released = session.execute(
        update(ReviewItemRow)
        .where(ReviewItemRow.id == item_id, IS_CLAIMED, ReviewItemRow.claimed_by == auditor)
        .values(status=ItemStatus.pending, claimed_by=None, claimed_at=None, lease_expires_at=None)
        .returning(ReviewItemRow.id)
        .execution_options(**SYNC)
    ).one_or_none()
    if released is None:
        raise LeaseError(_why_not(review_item(session, item_id), auditor, now))


def skip(
    session: Session, item_id: int, auditor: str, *, reason: str = "", now: datetime | None = None
) -> None:
    """Take a claimed item out of the queue without a decision (unjudgeable: no image, out of scope…)."""
    now = now or utcnow()
    _transition(session, item_id, auditor, now, status=ItemStatus.skipped, decided_at=now, note=reason)


def review_item(session: Session, item_id: int) -> ReviewItem:
    row = session.execute(_item_query(), {"q_item": item_id}).one_or_none()
    if row is None:
        raise NotFoundError(f"no review item {item_id}")
    return ReviewItem(*row)


def item_context(session: Session, item_id: int) -> ItemContext:
    """An item with what is judged: its finding (flags) and its label (None for a missing object)."""
    row = session.execute(_context_query(), {"q_item": item_id}).one_or_none()
    if row is None:
        raise NotFoundError(f"no review item {item_id}")
    *columns, finding, label, dataset, spec_hash, purpose = row
    item = ReviewItem(*columns)
    return ItemContext(
        item=item,
        dataset=dataset,
        spec_hash=spec_hash,
        finding=to_finding(finding) if finding is not None else None,
        label=to_label(label, item.frame_key) if label is not None else None,
        purpose=purpose,
    )


def top_pending(session: Session, limit: int, *, job_ids: Sequence[int] | None = None) -> list[ItemContext]:
    """The first ``limit`` pending items in queue order (what the next auditors will get), read only."""
    query = select(ReviewItemRow.id).where(IS_PENDING)
    if job_ids is not None:
        query = query.where(ReviewItemRow.job_id.in_(list(job_ids)))
    query = query.order_by(ReviewItemRow.priority.desc(), ReviewItemRow.id.desc()).limit(limit)
    return [item_context(session, item_id) for item_id in session.scalars(query)]


def queue_counts(
    session: Session, *, job_id: int | None = None, scope: Scope = EVERYTHING
) -> dict[ItemStatus, int]:
    """Items per status (every status present, zeros included), of one job or of the scope's batches."""
    query = select(ReviewItemRow.status, func.count()).group_by(ReviewItemRow.status)
    query = query.where(*of_batches(scope, ReviewItemRow.batch_id))
    if job_id is not None:
        query = query.where(ReviewItemRow.job_id == job_id)
    counts = {status: n for status, n in session.execute(query)}
    return {status: counts.get(status, 0) for status in ItemStatus}


@dataclass(frozen=True, slots=True)
class JobQueue:
    """One job's part of the auditors' queue: what the review page offers to work on alone."""

    job_id: int
    batch_id: int
    dataset: str
    pending: int


def pending_by_job(session: Session) -> list[JobQueue]:
    """Every job with pending items, with its batch's dataset name, highest job id first."""
    query = (
        select(ReviewItemRow.job_id, ReviewItemRow.batch_id, DatasetRow.name, func.count())
        .join(BatchRow, BatchRow.id == ReviewItemRow.batch_id)
        .join(DatasetRow, DatasetRow.id == BatchRow.dataset_id)
        .where(IS_PENDING)
        .group_by(ReviewItemRow.job_id, ReviewItemRow.batch_id, DatasetRow.name)
        .order_by(ReviewItemRow.job_id.desc())
    )
    return [JobQueue(job, batch, name, n) for job, batch, name, n in session.execute(query)]


def _transition(session: Session, item_id: int, auditor: str, now: datetime, **values: Any) -> None:
    """Apply ``values`` to an item only if ``auditor`` holds an unexpired claim on it (one conditional
    UPDATE, so a claim that expires or moves meanwhile can never be written through)."""
    params = {
        "q_item": item_id,
        "q_auditor": auditor,
        "q_now": now,
        **{f"v_{k}": v for k, v in values.items()},
    }
    changed = session.execute(_transition_statement(tuple(sorted(values))), params).one_or_none()
    if changed is None:
        raise LeaseError(_why_not(review_item(session, item_id), auditor, now))


def _check_holder(item: ReviewItem, auditor: str, now: datetime) -> None:
    held = item.status == ItemStatus.claimed and item.claimed_by == auditor
    if not held or item.lease_expires_at is None or item.lease_expires_at <= now:
        raise LeaseError(_why_not(item, auditor, now))


def _why_not(item: ReviewItem, auditor: str, now: datetime) -> str:
    if item.status != ItemStatus.claimed:
        return f"item {item.id} is {item.status.value}, not claimed by {auditor}"
    if item.claimed_by != auditor:
        return f"item {item.id} is claimed by {item.claimed_by}, not by {auditor}"
    expired = item.lease_expires_at.isoformat() if item.lease_expires_at else "?"
    return f"the claim of {auditor} on item {item.id} expired at {expired}; claim an item again"


def _audit(
    ctx: ItemContext,
    auditor: str,
    verdict: Verdict | str,
    issue_type: IssueType | str | None,
    corrected: Label | None,
    comment: str,
    seconds: float | None,
    now: datetime,
) -> Audit:
    verdict, issue = _decision(ctx, verdict, issue_type, corrected)
    box = Box2D.from_seq(ctx.finding.box) if ctx.finding else (ctx.label.box if ctx.label else None)
    try:
        return Audit(
            id=uuid.uuid4().hex,
            dataset=ctx.dataset,
            frame=ctx.item.frame_key,
            label=ctx.item.label_key,
            box=box,
            verdict=verdict,
            issue_type=issue,
            corrected=corrected,
            flag_check=ctx.finding.check if ctx.finding else None,
            auditor=auditor,
            seconds=seconds,
            spec_hash=ctx.spec_hash,
            source=_source(ctx),
            comment=comment,
            created_at=now,
        )
    except ValidationError as exc:
        raise DecisionError(f"invalid decision on item {ctx.item.id}: {exc}") from exc


def _decision(
    ctx: ItemContext, verdict: Verdict | str, issue_type: IssueType | str | None, corrected: Label | None
) -> tuple[Verdict, IssueType | None]:
    try:
        verdict = Verdict(verdict)
        issue = IssueType(issue_type) if issue_type is not None else None
    except ValueError as exc:
        raise DecisionError(str(exc)) from exc
    if verdict != Verdict.defect and (issue is not None or corrected is not None):
        raise DecisionError(f"a {verdict.value} verdict takes no issue type and no correction")
    if verdict == Verdict.defect and issue is None:
        if ctx.finding is None:
            raise DecisionError("a defect found by a spot check needs an issue type")
        issue = ctx.finding.type
    if corrected is not None:
        _check_correction(ctx, corrected)
    return verdict, issue


def _check_correction(ctx: ItemContext, corrected: Label) -> None:
    if corrected.frame != ctx.item.frame_key:
        raise DecisionError(
            f"the correction is for frame {corrected.frame}, the item is in {ctx.item.frame_key}"
        )
    if ctx.item.label_key is not None and corrected.id != ctx.item.label_key:
        raise DecisionError(
            f"a correction of label {ctx.item.label_key} must keep its id, not {corrected.id}"
        )


@cache
def _item_columns() -> tuple[Any, ...]:
    """The columns of a ``ReviewItem``, in its field order; the keys as correlated sub-selects, so that
    an UPDATE … RETURNING hands back a whole record."""
    frame, label = aliased(FrameRow), aliased(LabelRow)  # aliases keep the inner names unambiguous
    keys = {
        "frame_key": select(frame.key).where(frame.id == ReviewItemRow.frame_id).scalar_subquery(),
        "label_key": select(label.key).where(label.id == ReviewItemRow.label_id).scalar_subquery(),
    }
    return tuple(
        keys[f.name].label(f.name) if f.name in keys else getattr(ReviewItemRow, f.name)
        for f in fields(ReviewItem)
    )


_ASYNC_COMMIT = text("SET LOCAL synchronous_commit = off")


# The statements of the hot paths are built once: building one costs more CPU than running it. Their
# parameters are named q_* and v_*, because a parameter named like a column would be taken as a value
# to SET.
@cache
def _claim_statement(per_job: bool) -> Executable:
    """One UPDATE claiming the best of two candidates: the highest-priority pending item and the
    highest-priority lapsed claim, each found by its own partial index and locked with SKIP LOCKED."""
    scope = [ReviewItemRow.job_id == bindparam("q_job")] if per_job else []
    # A second review is never handed to the auditor who made the first decision.
    scope.append(or_(ReviewItemRow.blind_to.is_(None), ReviewItemRow.blind_to != bindparam("q_auditor")))
    lapsed = [IS_CLAIMED, ReviewItemRow.lease_expires_at <= bindparam("q_now", type_=UTCDateTime())]
    best = union_all(_first(IS_PENDING, *scope), _first(*lapsed, *scope)).subquery("candidates")
    candidate = (
        select(best.c.id).order_by(best.c.priority.desc(), best.c.id.desc()).limit(1).scalar_subquery()
    )
    return (
        update(ReviewItemRow)
        .where(ReviewItemRow.id == candidate)
        .values(
            status=ItemStatus.claimed,
            claimed_by=bindparam("q_auditor"),
            claimed_at=bindparam("q_now", type_=UTCDateTime()),
            lease_expires_at=bindparam("q_expires", type_=UTCDateTime()),
            claims=ReviewItemRow.claims + 1,
        )
        .returning(*_item_columns())
        .execution_options(**SYNC)
    )


def _first(*where: Any) -> Select[Any]:
    """The highest-priority item matching ``where``, row-locked unless another transaction holds it;
    wrapped in a sub-select because SQLite allows no ORDER BY / LIMIT inside a UNION."""
    first = (
        select(ReviewItemRow.id, ReviewItemRow.priority)
        .where(*where)
        .order_by(ReviewItemRow.priority.desc(), ReviewItemRow.id.desc())
        .limit(1)
        .with_for_update(skip_locked=True)
        .subquery()
    )
    return select(first.c.id, first.c.priority)


@cache
def _expire_statement(per_job: bool) -> Executable:
    where = [IS_CLAIMED, ReviewItemRow.lease_expires_at <= bindparam("q_now", type_=UTCDateTime())]
    if per_job:
        where.append(ReviewItemRow.job_id == bindparam("q_job"))
    expired = select(ReviewItemRow.id).where(*where).with_for_update(skip_locked=True).scalar_subquery()
    return (
        update(ReviewItemRow)
        .where(ReviewItemRow.id.in_(expired))
        .values(status=ItemStatus.pending, claimed_by=None, claimed_at=None, lease_expires_at=None)
        .execution_options(**SYNC)
    )


@cache
def _item_query() -> Executable:
    return select(*_item_columns()).where(ReviewItemRow.id == bindparam("q_item"))


@cache
def _context_query() -> Executable:
    return (
        select(
            *_item_columns(),
            FindingRow,
            LabelRow,
            DatasetRow.name,
            ReviewJobRow.spec_hash,
            ReviewItemRow.purpose,
        )
        .join(ReviewJobRow, ReviewJobRow.id == ReviewItemRow.job_id)
        .join(BatchRow, BatchRow.id == ReviewJobRow.batch_id)
        .join(DatasetRow, DatasetRow.id == BatchRow.dataset_id)
        .outerjoin(FindingRow, FindingRow.id == ReviewItemRow.finding_id)
        .outerjoin(LabelRow, LabelRow.id == ReviewItemRow.label_id)
        .where(ReviewItemRow.id == bindparam("q_item"))
    )


@cache
def _transition_statement(keys: tuple[str, ...]) -> Executable:
    columns = ReviewItemRow.__table__.c
    return (
        update(ReviewItemRow)
        .where(
            ReviewItemRow.id == bindparam("q_item"),
            IS_CLAIMED,
            ReviewItemRow.claimed_by == bindparam("q_auditor"),
            ReviewItemRow.lease_expires_at > bindparam("q_now", type_=UTCDateTime()),
        )
        .values({key: bindparam(f"v_{key}", type_=columns[key].type) for key in keys})
        .returning(ReviewItemRow.id)
        .execution_options(**SYNC)
    )
