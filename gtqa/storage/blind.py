"""Blind items that measure the auditors: second reviews and gold (known-answer) items.

A share of decided items goes back to the queue as a second review of the same subject (the same flag or
spot-checked label) for a different auditor: which items is decided by a hash of the item id, so a rerun
picks the same ones. Ops seed gold items, labels whose right answer is known. Both look like any other
item to the auditor (the review page hides earlier decisions for them), and their decisions are audits of
their own source (``second_review``, ``gold``), so a label's outcome is its first decision's.

Priorities: a second review takes the highest pending priority of its job (equal priority goes to the
higher id, so it is next), and with a share of s about one claim in 1/s is a second review, interleaved
like the spot checks. The j-th gold item of a seeding takes the priority of the pending item at stream
position ``(j + 1) * every - 1``, spread through the stream.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, aliased

from gtqa.domain import AuditSource, GoldAnswer, IssueType, Verdict
from gtqa.storage._sql import IS_PENDING
from gtqa.storage.errors import NotFoundError
from gtqa.storage.models import AuditRow, FindingRow, GoldAnswerRow, LabelRow, ReviewItemRow, ReviewJobRow
from gtqa.storage.records import GoldResult, ItemKind, ItemPurpose, ReviewItem, SecondReview
from gtqa.storage.scope import EVERYTHING, Scope, in_range, of_batches
from gtqa.storage.types import utcnow


def chosen_for_second_review(item_id: int, share: float) -> bool:
    """Whether a decided item goes to a second review: a uniform number from the hash of its id below
    ``share`` (0 never, 1 always); the same answer for the same item on every run and machine."""
    if share <= 0.0:
        return False
    digest = hashlib.sha256(f"second-review:{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64 < share


def queue_second_review(session: Session, first: ReviewItem, auditor: str, now: datetime) -> int:
    """Queue a second review of a decided item, never to be handed to ``auditor``; its id."""
    row = session.execute(
        select(ReviewItemRow.label_id, ReviewItemRow.frame_id).where(ReviewItemRow.id == first.id)
    ).one()
    values = {
        "job_id": first.job_id, "batch_id": first.batch_id, "kind": first.kind,
        "finding_id": first.finding_id, "label_id": row.label_id, "frame_id": row.frame_id,
        "priority": _head_priority(session, first), "purpose": ItemPurpose.second_review,
        "review_of": first.id, "blind_to": auditor, "created_at": now,
    }  # fmt: skip
    return int(session.execute(insert(ReviewItemRow).returning(ReviewItemRow.id), values).scalar_one())


def _head_priority(session: Session, item: ReviewItem) -> float:
    """The highest pending priority of the whole queue (the item's own when nothing is pending): the
    head of every auditor's stream, whether they work the whole queue or the item's job only. The head
    of its own job would leave a second review of a low-ranked job behind every other job's flags,
    and agreement would stay unmeasured for as long."""
    top = session.scalar(select(func.max(ReviewItemRow.priority)).where(IS_PENDING))
    return float(top) if top is not None else item.priority


def seed_gold(
    session: Session,
    job_id: int,
    answers: Sequence[GoldAnswer],
    *,
    seeded_by: str = "",
    every: int = 20,
    now: datetime | None = None,
) -> list[int]:
    """Queue one gold item per known answer in a job, spread through its stream (see the module); the
    new item ids. A label with a flag in the job is shown as that flag, any other as a spot check. An
    answer naming a label the job's batch does not have raises ``NotFoundError`` naming its ``where``."""
    if every < 1:
        raise ValueError(f"every must be at least 1, not {every}")
    job = session.get(ReviewJobRow, job_id)
    if job is None:
        raise NotFoundError(f"no review job {job_id}")
    now = now or utcnow()
    subjects = [_subject(session, job, a) for a in answers]
    stream = _stream_priorities(session, job_id)
    ids = []
    for j, (answer, subject) in enumerate(zip(answers, subjects, strict=True)):
        at = min((j + 1) * every - 1, len(stream) - 1)
        priority = stream[at] if stream else 1.0
        item = {**subject, "job_id": job_id, "batch_id": job.batch_id, "priority": priority,
                "purpose": ItemPurpose.gold, "created_at": now}  # fmt: skip
        item_id = int(session.execute(insert(ReviewItemRow).returning(ReviewItemRow.id), item).scalar_one())
        session.execute(
            insert(GoldAnswerRow),
            {"item_id": item_id, "verdict": answer.verdict, "issue_type": answer.issue_type,
             "seeded_by": seeded_by, "created_at": now},
        )  # fmt: skip
        ids.append(item_id)
    return ids


def _subject(session: Session, job: ReviewJobRow, answer: GoldAnswer) -> dict[str, object]:
    """The item columns that show the gold answer's label: its flag in the job if it has one."""
    label = session.execute(
        select(LabelRow.id, LabelRow.frame_id).where(
            LabelRow.batch_id == job.batch_id, LabelRow.key == answer.label
        )
    ).one_or_none()
    if label is None:
        where = f"{answer.where}: " if answer.where else ""
        raise NotFoundError(f"{where}batch {job.batch_id} has no label {answer.label} (frame {answer.frame})")
    finding = session.scalar(
        select(FindingRow.id)
        .where(FindingRow.job_id == job.id, FindingRow.label_id == label.id)
        .order_by(FindingRow.priority.desc(), FindingRow.id)
        .limit(1)
    )
    kind = ItemKind.flag if finding is not None else ItemKind.spot_check
    return {"kind": kind, "finding_id": finding, "label_id": label.id, "frame_id": label.frame_id}


def _stream_priorities(session: Session, job_id: int) -> list[float]:
    """The job's pending priorities in queue order."""
    query = (
        select(ReviewItemRow.priority)
        .where(ReviewItemRow.job_id == job_id, IS_PENDING)
        .order_by(ReviewItemRow.priority.desc(), ReviewItemRow.id.desc())
    )
    return [float(p) for p in session.scalars(query)]


def is_blind(session: Session, item_id: int) -> bool:
    """Whether an item is a second review or a gold item (its page must not show earlier decisions)."""
    purpose = session.scalar(select(ReviewItemRow.purpose).where(ReviewItemRow.id == item_id))
    return purpose is not None and purpose != ItemPurpose.audit


def second_reviews(session: Session, scope: Scope = EVERYTHING) -> list[SecondReview]:
    """Every decided second review (of the scope's batches, decided in its range) with the first decision
    it repeats, oldest first."""
    second, first = aliased(AuditRow), aliased(AuditRow)
    query = (
        select(first, second, FindingRow.type)
        .select_from(ReviewItemRow)
        .join(second, second.item_id == ReviewItemRow.id)
        .join(first, first.item_id == ReviewItemRow.review_of)
        .outerjoin(FindingRow, FindingRow.id == ReviewItemRow.finding_id)
        .where(ReviewItemRow.purpose == ItemPurpose.second_review, second.source == AuditSource.second_review)
        .where(*of_batches(scope, second.batch_id), *in_range(scope, second.created_at))
        .order_by(second.created_at, second.id)
    )
    return [
        SecondReview(a.auditor, answer(a.verdict, a.issue_type), b.auditor, answer(b.verdict, b.issue_type),
                     t.value if t is not None else None)
        for a, b, t in session.execute(query)
    ]  # fmt: skip


def answer(verdict: Verdict, issue_type: IssueType | None) -> str:
    """An auditor's answer as compared for agreement: a defect's issue type, else the verdict."""
    if verdict == Verdict.defect and issue_type is not None:
        return issue_type.value
    return verdict.value


def gold_results(session: Session, scope: Scope = EVERYTHING) -> list[GoldResult]:
    """Every decided gold item's answer (of the scope's batches, made in its range), right when the
    verdict is the known one and, for a defect whose issue type is known, the type too."""
    query = (
        select(AuditRow.auditor, AuditRow.verdict, AuditRow.issue_type, GoldAnswerRow.verdict,
               GoldAnswerRow.issue_type)
        .join(GoldAnswerRow, GoldAnswerRow.item_id == AuditRow.item_id)
        .where(AuditRow.source == AuditSource.gold, *of_batches(scope, AuditRow.batch_id))
        .where(*in_range(scope, AuditRow.created_at))
        .order_by(AuditRow.created_at, AuditRow.id)
    )  # fmt: skip
    out = []
    for auditor, verdict, issue, want_verdict, want_issue in session.execute(query):
        right = verdict == want_verdict and (want_issue is None or issue == want_issue)
        out.append(GoldResult(auditor, right))
    return out
