"""The ops dashboard's numbers, from the counts ``gtqa.storage.activity`` reads. Every formula here is also
written out on the page (``templates/dashboard.html``, "How these are computed"); keep the two in step.

Notation (queue decisions only; "flags" are items the reviewer flagged, "spot checks" random unflagged
labels): H reviewer hours, D confirmed defects, π flag precision, m miss rate (the spot checks' defect
rate), N labels in the reviewed batches, F labels flagged, s seconds to review one label.

The spot checks are a stratified sample (``gtqa.storage.queue_build``): the miss rate, the defects left
behind and the hours saved against a full review are ``gtqa.scoring.estimates``' estimators, each with
its 95% interval and ``n``. Auditor agreement is Cohen's kappa on blind second reviews and gold accuracy
the share of known-answer items answered right (``gtqa.scoring.agreement``).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from gtqa.domain import IssueType
from gtqa.scoring import estimates
from gtqa.scoring.acceptance import (
    AcceptancePlan,
    Decision,
    SingleSamplingPlan,
    SprtResult,
    single_sampling_plan,
    sprt,
)
from gtqa.scoring.agreement import auditor_agreement, below, category_agreement, gold_accuracy
from gtqa.scoring.estimates import Estimate, Stratum, defect_rate, defects_total, hours_saved
from gtqa.storage import UNFLAGGED, AuditorFacts, BatchFacts, GoldResult, SecondReview, Tally


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float


def wilson(k: int, n: int) -> Interval | None:
    """The share k/n with its 95% Wilson score interval (sensible for small n and shares near 0): the
    estimators' own (``gtqa.scoring.estimates.wilson``), so the page and the estimates agree."""
    if n == 0:
        return None
    low, high = estimates.wilson(k / n, n)
    return Interval(k / n, low, high)


def ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def combine(tallies: Iterable[Tally]) -> Tally:
    out = Tally()
    for t in tallies:
        out.defect, out.not_defect, out.unsure = (
            out.defect + t.defect,
            out.not_defect + t.not_defect,
            out.unsure + t.unsure,
        )
        out.timed, out.seconds = out.timed + t.timed, out.seconds + t.seconds
    return out


def hours(t: Tally) -> float | None:
    """H: recorded seconds, plus decisions without a recorded time counted at the mean recorded time."""
    if t.timed == 0:
        return None
    return (t.seconds + (t.decisions - t.timed) * t.seconds / t.timed) / 3600.0


@dataclass(frozen=True)
class Headline:
    decisions: int
    timed: int
    hours: float | None  # H
    defects: int  # D
    defects_per_hour: float | None  # D / H
    precision: float | None  # π
    miss_rate: Estimate | None  # m, from the spot checks of unflagged labels
    labels: int  # N
    flagged_labels: int  # F
    expected_defects: float | None  # E = π·F + m·(N − F)
    defect_rate: float | None  # p = E / N
    seconds_per_label: float | None  # s
    random_hours: float | None  # R = D / p · s / 3600
    full_hours: float | None  # N · s / 3600
    hours_saved: float | None  # R − H
    recall: float | None  # π·F / E
    missed: float | None  # m·(N − F)
    left_behind: Estimate | None  # defects among unflagged labels and low-probability flags (sampled strata)
    strata: int  # strata with audits behind left_behind
    saved_vs_full: Estimate | None  # hours: a full review of N labels minus the queue's items
    items: int  # queue items of the reviewed batches
    judge_calls: int
    judge_cost_usd: float
    judge_calls_per_1k: float | None
    judge_cost_per_1k: float | None


def headline(batches: list[BatchFacts]) -> Headline:
    flags, spots = combine(b.flags for b in batches), combine(b.spots for b in batches)
    every = combine([flags, spots])
    spent = hours(every)
    labels, flagged = sum(b.labels for b in batches), sum(b.flagged_labels for b in batches)
    precision = ratio(flags.defect, flags.defect + flags.not_defect)
    miss = miss_rate(batches) or _pooled(spots)
    sampled = _strata(batches, None)
    items = sum(b.items for b in batches)
    expected = (
        precision * flagged + miss.value * max(labels - flagged, 0)
        if precision is not None and miss
        else None
    )
    rate = ratio(expected, labels) if expected is not None else None
    per_label = ratio(spots.seconds, spots.timed) or ratio(every.seconds, every.timed)
    random = every.defect / rate * per_label / 3600.0 if rate and per_label is not None else None
    calls, cost = sum(b.judge_calls for b in batches), sum(b.judge_cost_usd for b in batches)
    return Headline(
        decisions=every.decisions, timed=every.timed, hours=spent, defects=every.defect,
        defects_per_hour=ratio(every.defect, spent) if spent else None, precision=precision,
        miss_rate=miss, labels=labels, flagged_labels=flagged, expected_defects=expected,
        defect_rate=rate, seconds_per_label=per_label, random_hours=random,
        full_hours=labels * per_label / 3600.0 if per_label is not None else None,
        hours_saved=random - spent if random is not None and spent is not None else None,
        recall=ratio(precision * flagged, expected) if precision is not None and expected else None,
        missed=miss.value * max(labels - flagged, 0) if miss else None,
        left_behind=defects_total(sampled), strata=len(sampled), items=items,
        saved_vs_full=hours_saved(
            [t for b in batches for t in b.spot_seconds], [t for b in batches for t in b.flag_seconds],
            labels, items,
        ),
        judge_calls=calls,
        judge_cost_usd=cost, judge_calls_per_1k=ratio(1000.0 * calls, labels),
        judge_cost_per_1k=ratio(1000.0 * cost, labels),
    )  # fmt: skip


def miss_rate(batches: list[BatchFacts]) -> Estimate | None:
    """m: the stratified estimate over each batch's stratum of unflagged labels that has audits."""
    return defect_rate(_strata(batches, UNFLAGGED))


def _strata(batches: list[BatchFacts], name: str | None) -> list[Stratum]:
    """The sampled strata (one per batch and stratum, or only those called ``name``) that have audits: a
    stratum without any is left out, so an estimate speaks for the strata audited so far."""
    return [
        Stratum(max(round(t.population), t.audited), t.audited, t.defects)
        for b in batches
        for key, t in sorted(b.strata.items())
        if t.audited and (name is None or key == name)
    ]


def _pooled(spots: Tally) -> Estimate | None:
    """m from spot checks queued before the sample was stratified (no stored inclusion probability)."""
    interval = wilson(spots.defect, spots.defect + spots.not_defect)
    n = spots.defect + spots.not_defect
    return Estimate(interval.value, interval.low, interval.high, n) if interval else None


@dataclass(frozen=True)
class GroupRow:
    key: str
    batches: int
    labels: int
    decisions: int
    defects: int
    spot_checked: int  # spot checks with a defect / not-defect verdict
    pass_rate: float | None  # spot checks found correct / spot checked
    rework_rate: float | None  # confirmed defects / labels
    judge_calls_per_1k: float | None
    judge_cost_per_1k: float | None


def groups(batches: list[BatchFacts], key: Callable[[BatchFacts], str]) -> list[GroupRow]:
    """Batches grouped (by vendor, team or batch), in key order."""
    grouped: dict[str, list[BatchFacts]] = {}
    for b in batches:
        grouped.setdefault(key(b), []).append(b)
    return [_group(k, grouped[k]) for k in sorted(grouped)]


def _group(key: str, members: list[BatchFacts]) -> GroupRow:
    flags, spots = combine(b.flags for b in members), combine(b.spots for b in members)
    labels, checked = sum(b.labels for b in members), spots.defect + spots.not_defect
    calls, cost = sum(b.judge_calls for b in members), sum(b.judge_cost_usd for b in members)
    return GroupRow(
        key=key, batches=len(members), labels=labels, decisions=flags.decisions + spots.decisions,
        defects=flags.defect + spots.defect, spot_checked=checked,
        pass_rate=ratio(spots.not_defect, checked), rework_rate=ratio(flags.defect + spots.defect, labels),
        judge_calls_per_1k=ratio(1000.0 * calls, labels), judge_cost_per_1k=ratio(1000.0 * cost, labels),
    )  # fmt: skip


@dataclass(frozen=True)
class AcceptanceRow:
    """A delivered batch's acceptance decision: Wald's test and the single-sampling plan on its spot checks
    of unflagged labels (a random sample of the labels the reviewer passed), with its confirmed defects
    by the type the auditor chose."""

    batch: BatchFacts
    plan: AcceptancePlan
    audited: int  # spot checks of unflagged labels decided defect or not
    defects: int
    sprt: SprtResult
    single: SingleSamplingPlan
    single_decision: Decision
    defects_by_type: dict[str, int]

    @property
    def key(self) -> str:
        return f"{self.batch.id:06d} {self.batch.dataset}"


def acceptance(
    batches: list[BatchFacts],
    plan_for: Callable[[str], AcceptancePlan],
    by_type: dict[int, dict[str, int]],
) -> list[AcceptanceRow]:
    rows = []
    for b in batches:
        tally = b.strata.get(UNFLAGGED)
        audited, defects = (tally.audited, tally.defects) if tally else (0, 0)
        plan = plan_for(b.vendor)
        single = single_sampling_plan(plan)
        rows.append(
            AcceptanceRow(
                b, plan, audited, defects, sprt(plan, audited, defects), single,
                single.decide(audited, defects), dict(sorted(by_type.get(b.id, {}).items())),
            )
        )  # fmt: skip
    return rows


@dataclass(frozen=True)
class VendorDay:
    vendor: str
    day: date
    rate: Estimate  # spot checks found defective / decided, Wilson 95%


def vendor_days(rows: list[tuple[str, date, int, int]]) -> list[VendorDay]:
    """Each vendor's defect rate per day of spot-check decisions, with its interval and n."""
    out = []
    for vendor, day, n, defects in rows:
        w = wilson(defects, n)
        if w is not None:
            out.append(VendorDay(vendor, day, Estimate(w.value, w.low, w.high, n)))
    return out


@dataclass(frozen=True)
class AuditorRow:
    name: str
    decisions: int
    defect_share: float | None  # decisions confirming a defect / decisions
    median_seconds: float | None  # of the timed decisions
    per_hour: float | None  # timed decisions / their hours
    timed: int
    kappa: Estimate | None = None  # agreement with the other auditors on second reviews
    gold: Estimate | None = None  # share of gold items answered right
    agreement: str = ""  # "low": kappa's interval below the setting; "watch": its point only
    gold_flag: str = ""  # the same for gold accuracy


@dataclass(frozen=True)
class Quality:
    """What the auditors table compares an auditor's agreement and gold accuracy with, and the share of
    decided items sent to a second review."""

    low_kappa: float = 0.6
    low_gold: float = 0.8
    second_review_share: float = 0.05


@dataclass(frozen=True)
class AuditorQuality:
    """The settings behind the auditors table, the doubly reviewed items and agreement per issue type."""

    low_kappa: float
    low_gold: float
    second_review_share: float
    pairs: int  # decided second reviews
    by_type: dict[str, Estimate | None]


def auditors(
    facts: list[AuditorFacts],
    pairs: Sequence[SecondReview] = (),
    gold: Sequence[GoldResult] = (),
    quality: Quality = Quality(),
) -> list[AuditorRow]:
    """Throughput and time per item per auditor, from their queue decisions (blind ones included); their
    kappa against the other auditors on second reviews and their gold accuracy, each flagged when low."""
    kappas, right = auditor_agreement(pairs), _gold_tally(gold)
    names = sorted({a.name for a in facts} | set(kappas) | set(right))
    by_name = {a.name: a for a in facts}
    rows = []
    for name in names:
        a = by_name.get(name, AuditorFacts(name))
        k, g = kappas.get(name), gold_accuracy(*right.get(name, (0, 0)))
        hours_ = sum(a.seconds) / 3600.0
        median = float(statistics.median(a.seconds)) if a.seconds else None
        rows.append(
            AuditorRow(
                a.name, a.decisions, ratio(a.defects, a.decisions), median,
                len(a.seconds) / hours_ if hours_ > 0 else None, len(a.seconds),
                k, g, below(k, quality.low_kappa), below(g, quality.low_gold),
            )
        )  # fmt: skip
    return rows


def _gold_tally(results: Sequence[GoldResult]) -> dict[str, tuple[int, int]]:
    """(right, answered) gold items per auditor."""
    out: dict[str, tuple[int, int]] = {}
    for r in results:
        k, n = out.get(r.auditor, (0, 0))
        out[r.auditor] = (k + r.right, n + 1)
    return out


def auditor_quality(pairs: Sequence[SecondReview], quality: Quality) -> AuditorQuality:
    """Per issue type the auditors chose on second reviews, the kappa of calling that type (first answer
    against second), with the table's settings."""
    by_type = category_agreement(pairs, [t.value for t in IssueType])
    return AuditorQuality(
        quality.low_kappa, quality.low_gold, quality.second_review_share, len(pairs), by_type
    )


@dataclass(frozen=True)
class SlaRow:
    batch: BatchFacts
    progress: float  # items decided / items (a skipped item is not done)
    expected: float | None  # the share of the time from ingest to the end of the due date gone by
    status: str  # done | overdue | at risk | on track | no due date
    finish: datetime | None = None  # at the batch's pace since its first decision
    late: bool | None = None  # the estimated finish is after the end of the due date


def sla(batches: list[BatchFacts], now: datetime) -> list[SlaRow]:
    """Each batch's progress against its due date (the whole due day counts, in UTC); soonest due first."""
    rows = [_sla(b, now) for b in batches]
    return sorted(rows, key=lambda r: (r.batch.due_date is None, r.batch.due_date, r.batch.id))


def finish_estimate(b: BatchFacts, now: datetime) -> datetime | None:
    """When the batch's queue will be decided at its pace so far: decided items over the time since its
    first decision, applied to the items left (skipped ones included). None before two decisions."""
    return _at_pace(b.items, b.done, b.first_decision, now)


def _at_pace(items: int, done: int, first: datetime | None, now: datetime) -> datetime | None:
    if done >= items:
        return now
    if first is None or done < 2:
        return None
    elapsed = (now - first).total_seconds()
    if elapsed <= 0:
        return None
    return now + timedelta(seconds=(items - done) * elapsed / done)


def due_end(due: date, now: datetime) -> datetime:
    """The end of a due date: the whole due day counts, in UTC."""
    return datetime.combine(due + timedelta(days=1), time(), tzinfo=now.tzinfo)


@dataclass(frozen=True)
class Burndown:
    """The scope's queue left to decide, now, with its estimated finish against its due date."""

    items: int
    left: int  # not decided (skipped included)
    skipped: int
    finish: datetime | None  # at the scope's pace since its first decision (``finish_estimate``)
    due: date | None  # the last due date of the scope's batches (all of them must be done by then)
    due_end: datetime | None
    undated: int  # batches of the scope without a due date

    @property
    def late(self) -> bool | None:
        if self.finish is None or self.due_end is None:
            return None
        return self.finish > self.due_end


def burndown(batches: list[BatchFacts], now: datetime) -> Burndown:
    """The scope's batches taken as one queue: items left, skipped, the finish at their joint pace."""
    items, done = sum(b.items for b in batches), sum(b.done for b in batches)
    firsts = [b.first_decision for b in batches if b.first_decision is not None]
    dues = [b.due_date for b in batches if b.due_date is not None]
    due, first = max(dues, default=None), min(firsts, default=None)
    return Burndown(
        items, items - done, sum(b.skipped for b in batches), _at_pace(items, done, first, now),
        due, due_end(due, now) if due else None, sum(b.due_date is None for b in batches),
    )  # fmt: skip


def _sla(b: BatchFacts, now: datetime) -> SlaRow:
    progress = b.done / b.items if b.items else 1.0
    finish = finish_estimate(b, now)
    if b.due_date is None:
        return SlaRow(b, progress, None, "done" if progress >= 1 else "no due date", finish)
    end = due_end(b.due_date, now)
    span = (end - b.created_at).total_seconds()
    expected = min(max((now - b.created_at).total_seconds() / span, 0.0), 1.0) if span > 0 else 1.0
    if progress >= 1:
        status = "done"
    elif now >= end:
        status = "overdue"
    else:
        status = "at risk" if progress < expected else "on track"
    return SlaRow(b, progress, expected, status, finish, finish > end if finish is not None else None)
