"""What the ops dashboard shows, as one value: ``gtqa.storage``'s counts turned into its numbers
(``numbers``) at a moment ``now``. The page and its CSV render this; the fast test of the numbers
(tests/ui/test_dashboard_page.py) checks it against plain SQL without a browser."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from api.queries.calibrations import versions_out
from api.queries.precision import PrecisionRow, flag_precision
from api.schemas.calibrations import CalibrationVersionOut
from api.ui.dashboard.numbers import (
    AcceptanceRow,
    AuditorQuality,
    AuditorRow,
    Burndown,
    GroupRow,
    Headline,
    Quality,
    SlaRow,
    VendorDay,
    acceptance,
    auditor_quality,
    auditors,
    burndown,
    groups,
    headline,
    sla,
    vendor_days,
)
from gtqa.scoring.acceptance import AcceptancePlan
from gtqa.scoring.backlog import Backlog, backlog
from gtqa.settings import Settings
from gtqa.storage import (
    EVERYTHING,
    BatchFacts,
    NotFoundError,
    Scope,
    Series,
    activity,
    auditor_facts,
    batch_facts,
    defects_by_type,
    flag_decisions,
    gold_results,
    queue_counts,
    second_reviews,
    vendor_spot_days,
    waiting_probabilities,
)


@dataclass(frozen=True)
class Dashboard:
    now: datetime
    scope: Scope
    headline: Headline
    queue: dict[str, int]
    by_vendor: list[GroupRow]
    by_team: list[GroupRow]
    by_batch: list[GroupRow]
    by_check: list[PrecisionRow]
    by_type: list[PrecisionRow]
    series: Series  # throughput, queue depth and the burndown's past
    burndown: Burndown
    sla: list[SlaRow]
    acceptance: list[AcceptanceRow]
    backlog: Backlog
    auditors: list[AuditorRow]
    quality: AuditorQuality  # agreement per issue type, the thresholds behind the auditors table
    defects_by_chosen_type: dict[str, int]  # confirmed defects by the auditor's issue type, all batches
    vendor_days: list[VendorDay]
    seconds_measured: bool  # the backlog's seconds per item are the timed flag decisions' mean
    calibrations: list[CalibrationVersionOut] = field(default_factory=list)  # the learning queue's refits


def plans(settings: Settings | None) -> Callable[[str], AcceptancePlan]:
    """Each vendor's acceptance plan: its own (AQL, LTPD) if set, else the defaults (settings' or, without
    settings, AQL 2% and LTPD 8%), with the settings' risks."""
    if settings is None:
        return lambda vendor: AcceptancePlan(0.02, 0.08)
    risks = {"alpha": settings.acceptance_alpha, "beta": settings.acceptance_beta}
    default = (settings.acceptance_aql, settings.acceptance_ltpd)

    def plan(vendor: str) -> AcceptancePlan:
        aql, ltpd = settings.vendor_quality_levels.get(vendor, default)
        return AcceptancePlan(aql, ltpd, **risks)

    return plan


def build(
    session: Session, now: datetime, settings: Settings | None = None, scope: Scope = EVERYTHING
) -> Dashboard:
    """Every figure of the dashboard for the scope (each read filtered in its query)."""
    batches, decisions = batch_facts(session, scope), flag_decisions(session, scope)
    by_type = defects_by_type(session, scope)
    team, quality = _auditor_quality(session, settings, scope)
    return Dashboard(
        now=now,
        scope=scope,
        headline=headline(batches),
        queue={s.value: n for s, n in queue_counts(session, scope=scope).items()},
        by_vendor=groups(batches, lambda b: b.vendor or "(none)"),
        by_team=groups(batches, lambda b: b.team or "(none)"),
        by_batch=groups(batches, lambda b: f"{b.id:06d} {b.dataset}"),
        by_check=flag_precision(decisions, "check"),
        by_type=flag_precision(decisions, "type"),
        series=activity(session, now, scope),
        burndown=burndown(batches, now),
        sla=sla(batches, now),
        acceptance=acceptance(batches, plans(settings), by_type),
        defects_by_chosen_type=_summed(by_type.values()),
        vendor_days=vendor_days(vendor_spot_days(session, scope)),
        backlog=_backlog(session, batches, settings, scope),
        seconds_measured=any(b.flag_seconds for b in batches),
        auditors=team,
        quality=quality,
        calibrations=versions_out(session),
    )


def acceptance_of(session: Session, batch_id: int, settings: Settings | None = None) -> AcceptanceRow:
    """One batch's acceptance decision, read from that batch's facts only (a vendor's report)."""
    scope = Scope(batch=batch_id)
    rows = acceptance(batch_facts(session, scope), plans(settings), defects_by_type(session, scope))
    if not rows:
        raise NotFoundError(f"no batch {batch_id} with a review queue")
    return rows[0]


def _auditor_quality(
    session: Session, settings: Settings | None, scope: Scope
) -> tuple[list[AuditorRow], AuditorQuality]:
    """The auditors table (throughput, agreement, gold accuracy) and the agreement per issue type."""
    pairs = second_reviews(session, scope)
    quality = Quality()
    if settings is not None:
        quality = Quality(
            settings.low_agreement_kappa, settings.low_gold_accuracy, settings.second_review_share
        )
    table = auditors(auditor_facts(session, scope), pairs, gold_results(session, scope), quality)
    return table, auditor_quality(pairs, quality)


def _summed(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in counts:
        for k, n in c.items():
            out[k] = out.get(k, 0) + n
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _backlog(session: Session, batches: list[BatchFacts], settings: Settings | None, scope: Scope) -> Backlog:
    """The meaningful backlog at the timed flag decisions' mean seconds (the assumed seconds until one
    was timed), under the settings' budget or hour cost."""
    timed = [t for b in batches for t in b.flag_seconds]
    assumed = settings.assumed_seconds_per_item if settings else 30.0
    seconds = sum(timed) / len(timed) if timed and sum(timed) > 0 else assumed
    return backlog(
        waiting_probabilities(session, scope),
        seconds,
        budget_hours=settings.review_budget_hours if settings else None,
        hour_cost=settings.auditor_hour_cost if settings else None,
        defect_value=settings.defect_value if settings else None,
    )
