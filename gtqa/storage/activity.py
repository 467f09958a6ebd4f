"""The ops dashboard's reads: counts straight from the database, no formulas (``api.ui.dashboard``
turns them into the numbers shown; the flags' precision is counted by ``gtqa.storage.stats``). Queue
decisions are audits made in the review queue, on flags (source ``queue``) and on spot checks
(``spot_check``); imported audits are left out. Times are aware UTC datetimes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, bindparam, cast, distinct, func, select
from sqlalchemy.orm import Session

from gtqa.domain import BLIND_SOURCES, AuditSource, Verdict
from gtqa.storage.models import AuditRow, BatchRow, DatasetRow, FindingRow, ReviewItemRow
from gtqa.storage.records import ItemKind, ItemPurpose, ItemStatus
from gtqa.storage.stats import judge_spend
from gtqa.storage.types import UTCDateTime

QUEUE = (AuditSource.queue, AuditSource.spot_check)


@dataclass
class Tally:
    """Decisions of one kind (flags or spot checks) by verdict, and the seconds recorded on them."""

    defect: int = 0
    not_defect: int = 0
    unsure: int = 0
    timed: int = 0
    seconds: float = 0.0

    @property
    def decisions(self) -> int:
        return self.defect + self.not_defect + self.unsure


@dataclass
class SampleTally:
    """One stratum of a batch's spot-check sample (``gtqa.storage.queue_build``): its size estimated
    from the stored inclusion probabilities (sum of 1 / pi over its sampled items, Horvitz-Thompson),
    how many of its items were decided defect or not, and how many of those were defects."""

    population: float = 0.0
    sampled: int = 0
    audited: int = 0
    defects: int = 0


@dataclass
class BatchFacts:
    id: int
    dataset: str
    vendor: str
    team: str
    labels: int
    due_date: date | None
    created_at: datetime
    items: int = 0
    done: int = 0  # decided (a skipped item still needs a decision)
    skipped: int = 0
    first_decision: datetime | None = None  # the batch's first queue decision
    flagged_labels: int = 0
    flags: Tally = field(default_factory=Tally)
    spots: Tally = field(default_factory=Tally)
    judge_calls: int = 0
    judge_cost_usd: float = 0.0
    strata: dict[str, SampleTally] = field(default_factory=dict)
    spot_seconds: list[float] = field(default_factory=list)  # each timed spot-check decision
    flag_seconds: list[float] = field(default_factory=list)  # each timed flag decision


def batch_facts(session: Session) -> list[BatchFacts]:
    """Every batch that has a review queue, with its decisions, progress and judge spend."""
    batches = {b.id: b for b in _batches(session)}
    _add_items(session, batches)
    _add_decisions(session, batches)
    _add_judge(session, batches)
    _add_sample(session, batches)
    _add_seconds(session, batches)
    return [batches[k] for k in sorted(batches) if batches[k].items]


def _batches(session: Session) -> list[BatchFacts]:
    query = select(BatchRow, DatasetRow.name).join(DatasetRow, DatasetRow.id == BatchRow.dataset_id)
    return [
        BatchFacts(b.id, name, b.vendor, b.team, b.label_count, b.due_date, b.created_at)
        for b, name in session.execute(query)
    ]


def _add_items(session: Session, batches: dict[int, BatchFacts]) -> None:
    done = ReviewItemRow.status == ItemStatus.decided
    skipped = ReviewItemRow.status == ItemStatus.skipped
    flag_label = func.count(distinct(ReviewItemRow.label_id)).filter(ReviewItemRow.kind == ItemKind.flag)
    query = select(
        ReviewItemRow.batch_id,
        func.count(),
        func.count().filter(done),
        func.count().filter(skipped),
        flag_label,
    ).group_by(ReviewItemRow.batch_id)
    for batch_id, items, finished, passed_over, flagged in session.execute(query):
        if batch_id in batches:
            facts = batches[batch_id]
            facts.items, facts.done, facts.skipped, facts.flagged_labels = (
                items,
                finished,
                passed_over,
                flagged,
            )
    first = select(AuditRow.batch_id, func.min(AuditRow.created_at)).where(AuditRow.source.in_(QUEUE))
    for first_batch, at in session.execute(first.group_by(AuditRow.batch_id)):
        if first_batch in batches and at is not None:
            batches[first_batch].first_decision = at


def _add_decisions(session: Session, batches: dict[int, BatchFacts]) -> None:
    timed = AuditRow.seconds.is_not(None)
    query = (
        select(
            AuditRow.batch_id, AuditRow.source, AuditRow.verdict, func.count(),
            func.count().filter(timed), func.coalesce(func.sum(AuditRow.seconds), 0.0),
        )
        .where(AuditRow.source.in_(QUEUE), AuditRow.batch_id.is_not(None))
        .group_by(AuditRow.batch_id, AuditRow.source, AuditRow.verdict)
    )  # fmt: skip
    for batch_id, source, verdict, n, n_timed, seconds in session.execute(query):
        if batch_id not in batches:
            continue
        facts = batches[batch_id]
        tally = facts.spots if source == AuditSource.spot_check else facts.flags
        setattr(tally, Verdict(verdict).value, getattr(tally, Verdict(verdict).value) + n)
        tally.timed += n_timed
        tally.seconds += float(seconds or 0.0)


def _add_judge(session: Session, batches: dict[int, BatchFacts]) -> None:
    for batch_id, spend in judge_spend(session).items():
        if batch_id in batches:
            batches[batch_id].judge_cost_usd += spend.cost_usd
            batches[batch_id].judge_calls += spend.calls


def _add_sample(session: Session, batches: dict[int, BatchFacts]) -> None:
    in_sample = ReviewItemRow.stratum.is_not(None)
    sizes = select(
        ReviewItemRow.batch_id,
        ReviewItemRow.stratum,
        func.sum(1.0 / ReviewItemRow.inclusion_probability),
        func.count(),
    ).where(in_sample, ReviewItemRow.inclusion_probability > 0)
    for batch_id, stratum, population, n in session.execute(
        sizes.group_by(ReviewItemRow.batch_id, ReviewItemRow.stratum)
    ):
        if batch_id in batches and stratum is not None:
            batches[batch_id].strata[stratum] = SampleTally(float(population), int(n))
    decided = AuditRow.verdict.in_((Verdict.defect, Verdict.not_defect))
    audits = (
        select(
            ReviewItemRow.batch_id,
            ReviewItemRow.stratum,
            func.count(distinct(AuditRow.item_id)),
            func.count(distinct(AuditRow.item_id)).filter(AuditRow.verdict == Verdict.defect),
        )
        .join(AuditRow, AuditRow.item_id == ReviewItemRow.id)
        .where(in_sample, AuditRow.source.in_(QUEUE), decided)
        .group_by(ReviewItemRow.batch_id, ReviewItemRow.stratum)
    )
    for batch_id, stratum, audited, defects in session.execute(audits):
        tally = batches[batch_id].strata.get(stratum or "") if batch_id in batches else None
        if tally is not None:
            tally.audited, tally.defects = int(audited), int(defects)


def _add_seconds(session: Session, batches: dict[int, BatchFacts]) -> None:
    query = select(AuditRow.batch_id, AuditRow.source, AuditRow.seconds).where(
        AuditRow.source.in_(QUEUE), AuditRow.seconds.is_not(None), AuditRow.batch_id.is_not(None)
    )
    for batch_id, source, seconds in session.execute(query):
        if batch_id in batches:
            facts = batches[batch_id]
            kept = facts.spot_seconds if source == AuditSource.spot_check else facts.flag_seconds
            kept.append(float(seconds or 0.0))


@dataclass
class AuditorFacts:
    """One auditor's queue decisions: how many, how many found a defect, and each timed one's seconds."""

    name: str
    decisions: int = 0
    defects: int = 0
    seconds: list[float] = field(default_factory=list)


def auditor_facts(session: Session) -> list[AuditorFacts]:
    """Every auditor who made a queue decision, by name; their second reviews and gold answers count as
    work done (throughput, time per item)."""
    work = (*QUEUE, *BLIND_SOURCES)
    query = select(AuditRow.auditor, AuditRow.verdict, AuditRow.seconds).where(AuditRow.source.in_(work))
    out: dict[str, AuditorFacts] = {}
    for name, verdict, seconds in session.execute(query):
        facts = out.setdefault(name, AuditorFacts(name))
        facts.decisions += 1
        facts.defects += verdict == Verdict.defect
        if seconds is not None:
            facts.seconds.append(float(seconds))
    return [out[k] for k in sorted(out)]


def vendor_spot_days(session: Session) -> list[tuple[str, date, int, int]]:
    """(vendor, UTC day, spot checks of unflagged labels decided defect or not, defects) per vendor and
    day of decision, in vendor then day order."""
    decided = AuditRow.verdict.in_((Verdict.defect, Verdict.not_defect))
    query = (
        select(BatchRow.vendor, AuditRow.created_at, AuditRow.verdict)
        .join(BatchRow, BatchRow.id == AuditRow.batch_id)
        .where(AuditRow.source == AuditSource.spot_check, decided)
    )
    counts: dict[tuple[str, date], list[int]] = {}
    for vendor, at, verdict in session.execute(query):
        c = counts.setdefault((vendor or "(none)", at.date()), [0, 0])
        c[0] += 1
        c[1] += verdict == Verdict.defect
    return [(v, d, n, k) for (v, d), (n, k) in sorted(counts.items())]


def waiting_probabilities(session: Session) -> list[float]:
    """The probability of each waiting flag (pending or claimed), in queue order (highest priority first);
    spot checks, which have none, are left out."""
    waiting = ReviewItemRow.status.in_((ItemStatus.pending, ItemStatus.claimed))
    query = (
        select(FindingRow.score)
        .join(ReviewItemRow, ReviewItemRow.finding_id == FindingRow.id)
        .where(waiting, ReviewItemRow.purpose == ItemPurpose.audit)  # a second look finds no new defect
        .order_by(ReviewItemRow.priority.desc(), ReviewItemRow.id.desc())
    )
    return [float(p) for p in session.scalars(query)]


def defects_by_type(session: Session) -> dict[int, dict[str, int]]:
    """Per batch, the queue decisions confirming a defect, by the issue type the auditor chose
    ("not given" when none was)."""
    query = (
        select(AuditRow.batch_id, AuditRow.issue_type, func.count())
        .where(AuditRow.source.in_(QUEUE), AuditRow.verdict == Verdict.defect, AuditRow.batch_id.is_not(None))
        .group_by(AuditRow.batch_id, AuditRow.issue_type)
    )
    out: dict[int, dict[str, int]] = {}
    for batch_id, issue, n in session.execute(query):
        key = issue.value if issue is not None else "not given"
        out.setdefault(int(batch_id or 0), {})[key] = int(n)
    return out


@dataclass(frozen=True)
class Series:
    """Counts per time bucket: bucket ``i`` covers ``[start + i*size, start + (i+1)*size)``."""

    start: datetime
    size: timedelta
    decisions: list[int]
    depth: list[int]  # items waiting (pending or claimed) at the end of each bucket


def activity(session: Session, now: datetime) -> Series:
    """Throughput and queue depth over time: hourly over two days when the queue is younger than that,
    else daily over up to 30 days."""
    first = session.scalar(select(func.min(ReviewItemRow.created_at)))
    age = now - first if first else timedelta(0)
    size = timedelta(hours=1) if age <= timedelta(days=2) else timedelta(days=1)
    count = 48 if size == timedelta(hours=1) else min(30, age.days + 1)
    end = _ceil(now, size)
    start = end - count * size
    decided = _per_bucket(session, AuditRow.created_at, start, size, AuditRow.source.in_(QUEUE))
    created = _per_bucket(session, ReviewItemRow.created_at, start, size)
    finished = _per_bucket(session, ReviewItemRow.decided_at, start, size)
    depth, level = [], _waiting_before(session, start)
    for i in range(count):
        level += created.get(i, 0) - finished.get(i, 0)
        depth.append(level)
    return Series(start, size, [decided.get(i, 0) for i in range(count)], depth)


def _per_bucket(
    session: Session, column: Any, start: datetime, size: timedelta, *where: ColumnElement[bool]
) -> dict[int, int]:
    bucket = _bucket(session, column, start, size).label("bucket")
    query = select(bucket, func.count()).where(column >= _at(start), *where).group_by(bucket)
    return {int(b): n for b, n in session.execute(query)}


def _bucket(session: Session, column: Any, start: datetime, size: timedelta) -> Any:
    """The 0-based bucket of a timestamp, in SQL: PostgreSQL's epoch arithmetic, SQLite's julianday
    (its timestamps are UTC text)."""
    seconds = size.total_seconds()
    if session.get_bind().dialect.name == "postgresql":
        return func.floor(func.extract("epoch", column - _at(start)) / seconds)
    elapsed = (func.julianday(column) - func.julianday(_at(start))) * 86400.0
    return cast(elapsed / seconds, Integer)  # truncation is the floor here: column >= start


def _waiting_before(session: Session, start: datetime) -> int:
    created = session.scalar(select(func.count()).where(ReviewItemRow.created_at < _at(start))) or 0
    finished = session.scalar(select(func.count()).where(ReviewItemRow.decided_at < _at(start))) or 0
    return created - finished


def _at(moment: datetime) -> Any:
    return bindparam(None, moment, type_=UTCDateTime())


def _ceil(moment: datetime, size: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    steps = -(-(moment - epoch) // size)
    return epoch + steps * size
