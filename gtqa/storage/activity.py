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
from gtqa.storage.scope import EVERYTHING, QUEUE, Scope, decisions_in, in_range, of_batches
from gtqa.storage.stats import judge_spend
from gtqa.storage.types import UTCDateTime


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


def batch_facts(session: Session, scope: Scope = EVERYTHING) -> list[BatchFacts]:
    """Every batch of the scope that has a review queue, with its progress and judge spend (whole) and
    its queue decisions (those made in the scope's range)."""
    batches = {b.id: b for b in _batches(session, scope)}
    _add_items(session, batches, scope)
    _add_decisions(session, batches, scope)
    _add_judge(session, batches, scope)
    _add_sample(session, batches, scope)
    _add_seconds(session, batches, scope)
    return [batches[k] for k in sorted(batches) if batches[k].items]


def _batches(session: Session, scope: Scope) -> list[BatchFacts]:
    query = (
        select(BatchRow, DatasetRow.name)
        .join(DatasetRow, DatasetRow.id == BatchRow.dataset_id)
        .where(*of_batches(scope, BatchRow.id))
    )
    return [
        BatchFacts(b.id, name, b.vendor, b.team, b.label_count, b.due_date, b.created_at)
        for b, name in session.execute(query)
    ]


def _add_items(session: Session, batches: dict[int, BatchFacts], scope: Scope) -> None:
    done = ReviewItemRow.status == ItemStatus.decided
    skipped = ReviewItemRow.status == ItemStatus.skipped
    flag_label = func.count(distinct(ReviewItemRow.label_id)).filter(ReviewItemRow.kind == ItemKind.flag)
    query = (
        select(
            ReviewItemRow.batch_id,
            func.count(),
            func.count().filter(done),
            func.count().filter(skipped),
            flag_label,
        )
        .where(*of_batches(scope, ReviewItemRow.batch_id))
        .group_by(ReviewItemRow.batch_id)
    )
    for batch_id, items, finished, passed_over, flagged in session.execute(query):
        if batch_id in batches:
            facts = batches[batch_id]
            facts.items, facts.done, facts.skipped, facts.flagged_labels = (
                items,
                finished,
                passed_over,
                flagged,
            )
    first = select(AuditRow.batch_id, func.min(AuditRow.created_at)).where(
        AuditRow.source.in_(QUEUE), *of_batches(scope, AuditRow.batch_id)
    )
    for first_batch, at in session.execute(first.group_by(AuditRow.batch_id)):
        if first_batch in batches and at is not None:
            batches[first_batch].first_decision = at


def _add_decisions(session: Session, batches: dict[int, BatchFacts], scope: Scope) -> None:
    timed = AuditRow.seconds.is_not(None)
    query = (
        select(
            AuditRow.batch_id, AuditRow.source, AuditRow.verdict, func.count(),
            func.count().filter(timed), func.coalesce(func.sum(AuditRow.seconds), 0.0),
        )
        .where(*decisions_in(scope), AuditRow.batch_id.is_not(None))
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


def _add_judge(session: Session, batches: dict[int, BatchFacts], scope: Scope) -> None:
    for batch_id, spend in judge_spend(session, scope).items():
        if batch_id in batches:
            batches[batch_id].judge_cost_usd += spend.cost_usd
            batches[batch_id].judge_calls += spend.calls


def _add_sample(session: Session, batches: dict[int, BatchFacts], scope: Scope) -> None:
    in_sample = ReviewItemRow.stratum.is_not(None)
    sizes = select(
        ReviewItemRow.batch_id,
        ReviewItemRow.stratum,
        func.sum(1.0 / ReviewItemRow.inclusion_probability),
        func.count(),
    ).where(in_sample, ReviewItemRow.inclusion_probability > 0, *of_batches(scope, ReviewItemRow.batch_id))
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
        .where(in_sample, *decisions_in(scope), decided)
        .group_by(ReviewItemRow.batch_id, ReviewItemRow.stratum)
    )
    for batch_id, stratum, audited, defects in session.execute(audits):
        tally = batches[batch_id].strata.get(stratum or "") if batch_id in batches else None
        if tally is not None:
            tally.audited, tally.defects = int(audited), int(defects)


def _add_seconds(session: Session, batches: dict[int, BatchFacts], scope: Scope) -> None:
    query = select(AuditRow.batch_id, AuditRow.source, AuditRow.seconds).where(
        *decisions_in(scope), AuditRow.seconds.is_not(None), AuditRow.batch_id.is_not(None)
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


def auditor_facts(session: Session, scope: Scope = EVERYTHING) -> list[AuditorFacts]:
    """Every auditor who made a queue decision (in the scope), by name; their second reviews and gold
    answers count as work done (throughput, time per item)."""
    work = [AuditRow.source.in_((*QUEUE, *BLIND_SOURCES)), *of_batches(scope, AuditRow.batch_id)]
    where = [*work, *in_range(scope, AuditRow.created_at)]
    query = select(AuditRow.auditor, AuditRow.verdict, AuditRow.seconds).where(*where)
    out: dict[str, AuditorFacts] = {}
    for name, verdict, seconds in session.execute(query):
        facts = out.setdefault(name, AuditorFacts(name))
        facts.decisions += 1
        facts.defects += verdict == Verdict.defect
        if seconds is not None:
            facts.seconds.append(float(seconds))
    return [out[k] for k in sorted(out)]


def vendor_spot_days(session: Session, scope: Scope = EVERYTHING) -> list[tuple[str, date, int, int]]:
    """(vendor, UTC day, spot checks of unflagged labels decided defect or not, defects) per vendor and
    day of decision, in vendor then day order."""
    decided = AuditRow.verdict.in_((Verdict.defect, Verdict.not_defect))
    query = (
        select(BatchRow.vendor, AuditRow.created_at, AuditRow.verdict)
        .join(BatchRow, BatchRow.id == AuditRow.batch_id)
        .where(*decisions_in(scope), AuditRow.source == AuditSource.spot_check, decided)
    )
    counts: dict[tuple[str, date], list[int]] = {}
    for vendor, at, verdict in session.execute(query):
        c = counts.setdefault((vendor or "(none)", at.date()), [0, 0])
        c[0] += 1
        c[1] += verdict == Verdict.defect
    return [(v, d, n, k) for (v, d), (n, k) in sorted(counts.items())]


def waiting_probabilities(session: Session, scope: Scope = EVERYTHING) -> list[float]:
    """The probability of each waiting flag (pending or claimed), in queue order (highest priority first);
    spot checks, which have none, are left out."""
    waiting = ReviewItemRow.status.in_((ItemStatus.pending, ItemStatus.claimed))
    query = (
        select(FindingRow.score)
        .join(ReviewItemRow, ReviewItemRow.finding_id == FindingRow.id)
        .where(
            waiting, ReviewItemRow.purpose == ItemPurpose.audit, *of_batches(scope, ReviewItemRow.batch_id)
        )
        .order_by(ReviewItemRow.priority.desc(), ReviewItemRow.id.desc())
    )
    return [float(p) for p in session.scalars(query)]


def defects_by_type(session: Session, scope: Scope = EVERYTHING) -> dict[int, dict[str, int]]:
    """Per batch, the queue decisions confirming a defect, by the issue type the auditor chose
    ("not given" when none was)."""
    query = (
        select(AuditRow.batch_id, AuditRow.issue_type, func.count())
        .where(*decisions_in(scope), AuditRow.verdict == Verdict.defect, AuditRow.batch_id.is_not(None))
        .group_by(AuditRow.batch_id, AuditRow.issue_type)
    )
    out: dict[int, dict[str, int]] = {}
    for batch_id, issue, n in session.execute(query):
        key = issue.value if issue is not None else "not given"
        out.setdefault(int(batch_id or 0), {})[key] = int(n)
    return out


@dataclass(frozen=True)
class Series:
    """Counts per time bucket: bucket ``i`` covers ``[start + i*size, start + (i+1)*size)``. At the end
    of each bucket: ``left`` items not yet decided (a skipped item is not decided), ``skipped`` of them
    set aside by a skip, and ``depth`` = left − skipped, the items waiting (pending or claimed)."""

    start: datetime
    size: timedelta
    decisions: list[int]
    depth: list[int]
    left: list[int]
    skipped: list[int]

    @property
    def end(self) -> datetime:
        return self.start + len(self.decisions) * self.size


def activity(session: Session, now: datetime, scope: Scope = EVERYTHING) -> Series:
    """Throughput, queue depth and burndown over time, for the scope's batches: over its date range when
    it has one (up to now), else hourly over two days when the queue is younger than that, else daily
    over up to 30 days."""
    start, size, count = _window(session, now, scope)
    items = of_batches(scope, ReviewItemRow.batch_id)
    decided = _per_bucket(session, AuditRow.created_at, start, size, *decisions_in(scope))
    created = _per_bucket(session, ReviewItemRow.created_at, start, size, *items)
    done = _per_bucket(session, ReviewItemRow.decided_at, start, size, _DECIDED, *items)
    skips = _per_bucket(session, ReviewItemRow.decided_at, start, size, _SKIPPED, *items)
    left, skipped = _before(session, start, scope)
    out: tuple[list[int], list[int]] = ([], [])
    for i in range(count):
        left += created.get(i, 0) - done.get(i, 0)
        skipped += skips.get(i, 0)
        out[0].append(left)
        out[1].append(skipped)
    depth = [n - k for n, k in zip(*out, strict=True)]
    return Series(start, size, [decided.get(i, 0) for i in range(count)], depth, *out)


_DECIDED = ReviewItemRow.status == ItemStatus.decided
_SKIPPED = ReviewItemRow.status == ItemStatus.skipped  # a skip stamps decided_at; a return clears it


def _window(session: Session, now: datetime, scope: Scope) -> tuple[datetime, timedelta, int]:
    """The series' first bucket's start, the bucket size and the number of buckets."""
    items = of_batches(scope, ReviewItemRow.batch_id)
    if not scope.dated:
        first = session.scalar(select(func.min(ReviewItemRow.created_at)).where(*items))
        age = now - first if first else timedelta(0)
        size = timedelta(hours=1) if age <= timedelta(days=2) else timedelta(days=1)
        count = 48 if size == timedelta(hours=1) else min(30, age.days + 1)
        return _ceil(now, size) - count * size, size, count
    first = scope.start or session.scalar(select(func.min(ReviewItemRow.created_at)).where(*items))
    last = min(scope.end, now) if scope.end is not None else now
    start = first or last
    span = max(last - start, timedelta(hours=1))
    sizes = (timedelta(hours=1), timedelta(days=1), timedelta(weeks=1))
    size = next((s for s in sizes if span / s <= 100), timedelta(days=-(-span.days // 100)))  # ≤ 100 periods
    start = _floor(start, size)
    return start, size, max(1, -(-(_ceil(last, size) - start) // size))


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


def _before(session: Session, start: datetime, scope: Scope) -> tuple[int, int]:
    """Items not decided, and items skipped, as ``start`` began: the series' starting levels."""
    items = of_batches(scope, ReviewItemRow.batch_id)
    earlier = ReviewItemRow.decided_at < _at(start)
    counts = select(
        func.count().filter(ReviewItemRow.created_at < _at(start)),
        func.count().filter(earlier, _DECIDED),
        func.count().filter(earlier, _SKIPPED),
    ).where(*items)
    created, done, skipped = session.execute(counts).one()
    return int(created or 0) - int(done or 0), int(skipped or 0)


def _at(moment: datetime) -> Any:
    return bindparam(None, moment, type_=UTCDateTime())


def _ceil(moment: datetime, size: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    steps = -(-(moment - epoch) // size)
    return epoch + steps * size


def _floor(moment: datetime, size: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    return epoch + ((moment - epoch) // size) * size
