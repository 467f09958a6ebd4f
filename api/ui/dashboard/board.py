"""What the ops dashboard shows, as one value: ``gtqa.storage``'s counts turned into its numbers
(``numbers``) at a moment ``now``. The page and its CSV render this; the fast test of the numbers
(tests/ui/test_dashboard_page.py) checks it against plain SQL without a browser."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from api.queries.precision import PrecisionRow, flag_precision
from api.ui.dashboard.numbers import GroupRow, Headline, SlaRow, groups, headline, sla
from gtqa.storage import Series, activity, batch_facts, flag_decisions, queue_counts


@dataclass(frozen=True)
class Dashboard:
    now: datetime
    headline: Headline
    queue: dict[str, int]
    by_vendor: list[GroupRow]
    by_team: list[GroupRow]
    by_batch: list[GroupRow]
    by_check: list[PrecisionRow]
    by_type: list[PrecisionRow]
    series: Series
    sla: list[SlaRow]


def build(session: Session, now: datetime) -> Dashboard:
    batches, decisions = batch_facts(session), flag_decisions(session)
    return Dashboard(
        now=now,
        headline=headline(batches),
        queue={s.value: n for s, n in queue_counts(session).items()},
        by_vendor=groups(batches, lambda b: b.vendor or "(none)"),
        by_team=groups(batches, lambda b: b.team or "(none)"),
        by_batch=groups(batches, lambda b: f"{b.id:06d} {b.dataset}"),
        by_check=flag_precision(decisions, "check"),
        by_type=flag_precision(decisions, "type"),
        series=activity(session, now),
        sla=sla(batches, now),
    )
