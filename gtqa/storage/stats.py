"""Counts for the metrics summary, the Prometheus gauges, the ops dashboard and the review page: plain
reads, no formulas (the callers turn them into the numbers they show)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gtqa.domain import AuditSource, IssueType, JudgeFailure, JudgeOpinion, Verdict
from gtqa.storage._sql import IS_PENDING
from gtqa.storage.models import AuditRow, FindingRow, JobChunkRow, ReviewItemRow, ReviewJobRow
from gtqa.storage.records import ChunkStatus, JobStatus
from gtqa.storage.scope import EVERYTHING, Scope, in_range, of_batches

# Judge failures that never reached the endpoint.
NO_CALL = frozenset({JudgeFailure.disabled, JudgeFailure.budget, JudgeFailure.offline})


def jobs_by_status(session: Session) -> dict[str, int]:
    """Review jobs per status (every status listed)."""
    query = select(ReviewJobRow.status, func.count()).group_by(ReviewJobRow.status)
    counts = {status: n for status, n in session.execute(query)}
    return {status.value: counts.get(status, 0) for status in JobStatus}


def audits_by_verdict(session: Session) -> dict[str, int]:
    """Audits per verdict (every verdict listed) and their ``total``."""
    query = select(AuditRow.verdict, func.count()).group_by(AuditRow.verdict)
    counts = {verdict: n for verdict, n in session.execute(query)}
    out = {verdict.value: counts.get(verdict, 0) for verdict in Verdict}
    return {**out, "total": sum(out.values())}


def pending_items(session: Session, *, job_id: int | None = None) -> int:
    """Review items waiting in the queue, or in one job's part of it (read through the partial indexes
    of pending items)."""
    query = select(func.count()).select_from(ReviewItemRow).where(IS_PENDING)
    if job_id is not None:
        query = query.where(ReviewItemRow.job_id == job_id)
    return session.scalar(query) or 0


def chunk_seconds(session: Session, last: int = 1000) -> list[float]:
    """Wall time of the ``last`` review chunks finished (their final attempt), newest first, seconds."""
    query = (
        select(JobChunkRow.started_at, JobChunkRow.finished_at)
        .where(
            JobChunkRow.status == ChunkStatus.done,
            JobChunkRow.started_at.is_not(None),
            JobChunkRow.finished_at.is_not(None),
        )
        .order_by(JobChunkRow.finished_at.desc())
        .limit(last)
    )
    return [(done - start).total_seconds() for start, done in session.execute(query) if start and done]


@dataclass
class JudgeSpend:
    calls: int = 0  # requests to the endpoint (answers from the judge's cache not counted)
    cost_usd: float = 0.0


def judge_spend(session: Session, scope: Scope = EVERYTHING) -> dict[int, JudgeSpend]:
    """Per batch (of the scope: the judge answers at ingest, so the date range does not apply): the
    judge's requests and spend recorded with the findings."""
    query = select(FindingRow.batch_id, FindingRow.judge_cost_usd, FindingRow.judge).where(
        FindingRow.judge_cost_usd.is_not(None), *of_batches(scope, FindingRow.batch_id)
    )
    spend: dict[int, JudgeSpend] = defaultdict(JudgeSpend)
    for batch_id, cost, opinion in session.execute(query):
        spend[batch_id].cost_usd += float(cost or 0.0)
        spend[batch_id].calls += int(live_call(opinion))
    return spend


def live_call(opinion: dict[str, Any] | None) -> bool:
    """Whether the judge's answer to a flag took a request to its endpoint (not its cache)."""
    if not opinion:
        return False
    judged = JudgeOpinion.model_validate(opinion)
    return not judged.cached and judged.failure not in NO_CALL


@dataclass(frozen=True)
class FlagDecisions:
    """Queue decisions on flags with one verdict, for one check and issue type of the flag."""

    check: str
    type: IssueType
    verdict: Verdict
    count: int


def flag_decisions(session: Session, scope: Scope = EVERYTHING) -> list[FlagDecisions]:
    """The auditors' decisions on flags in the queue (of the scope's batches, made in its range), counted
    per the flag's check, its issue type (the finding's: a rejected flag's audit has none) and the
    verdict."""
    query = (
        select(FindingRow.check, FindingRow.type, AuditRow.verdict, func.count())
        .join(ReviewItemRow, ReviewItemRow.id == AuditRow.item_id)
        .join(FindingRow, FindingRow.id == ReviewItemRow.finding_id)
        .where(
            AuditRow.source == AuditSource.queue,
            *of_batches(scope, AuditRow.batch_id),
            *in_range(scope, AuditRow.created_at),
        )
        .group_by(FindingRow.check, FindingRow.type, AuditRow.verdict)
    )
    return [FlagDecisions(c, IssueType(t), Verdict(v), n) for c, t, v, n in session.execute(query)]
