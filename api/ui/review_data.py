"""What the review page shows around an item: the item's context (the JSON API's own view of it), the
classes the spec allows, the auditor's pace and how much of the queue is left."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from functools import cache, partial

from pydantic import BaseModel, Field
from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from api.queries.items import item_view
from api.schemas.queue import ItemContextOut
from api.specs import job_spec_or_none
from gtqa.domain import AuditSource
from gtqa.settings import Settings
from gtqa.spec import CompiledSpec
from gtqa.storage.models import AuditRow, ReviewItemRow

PACE_WINDOW = timedelta(hours=12)  # "today": one working day, whatever the time zone
QUEUE_SOURCES = (AuditSource.queue, AuditSource.spot_check)
# A literal, not a bound parameter, so that the planner uses the partial index of pending items.
_PENDING = ReviewItemRow.status == literal_column("'pending'")
_CLAIMED = ReviewItemRow.status == literal_column("'claimed'")


class Pace(BaseModel):
    decisions: int = Field(description="the auditor's queue decisions in the last 12 hours")
    per_hour: float | None = Field(description="3600 x those decisions / the seconds recorded on them")
    median_seconds: float | None = Field(description="median seconds per decision, same decisions")
    pending: int = Field(description="items waiting in the queue")


class ReviewPayload(BaseModel):
    context: ItemContextOut | None = Field(description="the claimed item; None when the queue is empty")
    classes: list[str] = Field(description="the classes the item's spec allows, for corrections")
    lease_expires_at: datetime | None
    pace: Pace
    decided: str | None = Field(default=None, description="the audit just recorded, if any")


def pace(session: Session, auditor: str, now: datetime) -> Pace:
    query = select(AuditRow.seconds).where(
        AuditRow.auditor == auditor,
        AuditRow.created_at >= now - PACE_WINDOW,
        AuditRow.source.in_(QUEUE_SOURCES),
    )
    seconds = list(session.scalars(query))
    timed = [s for s in seconds if s is not None]
    pending = session.scalar(select(func.count()).select_from(ReviewItemRow).where(_PENDING)) or 0
    return Pace(
        decisions=len(seconds),
        per_hour=3600.0 * len(timed) / sum(timed) if timed and sum(timed) > 0 else None,
        median_seconds=statistics.median(timed) if timed else None,
        pending=pending,
    )


def held_item(session: Session, auditor: str, now: datetime) -> int | None:
    """The item the auditor already holds an unexpired claim on (a reloaded page resumes it)."""
    query = (
        select(ReviewItemRow.id)
        .where(_CLAIMED, ReviewItemRow.claimed_by == auditor, ReviewItemRow.lease_expires_at > now)
        .order_by(ReviewItemRow.claimed_at.desc())
        .limit(1)
    )
    return session.scalar(query)


def payload(
    session: Session, settings: Settings, item_id: int | None, auditor: str, now: datetime
) -> ReviewPayload:
    context, spec_of = None, cache(partial(job_spec_or_none, settings))  # looked up once per request
    if item_id is not None:
        context = item_view(session, item_id, spec_of, image_url=f"/ui/items/{item_id}/image")
    return ReviewPayload(
        context=context,
        classes=_classes(spec_of(context.spec_hash), context) if context else [],
        lease_expires_at=context.item.lease_expires_at if context else None,
        pace=pace(session, auditor, now),
    )


def _classes(spec: CompiledSpec | None, context: ItemContextOut) -> list[str]:
    """The spec's classes, plus any the frame already uses (a correction may keep an odd one)."""
    known = list(spec.taxonomy.classes) if spec else []
    used = [lb.cls for lb in [*([context.label] if context.label else []), *context.neighbours]]
    proposed = [context.finding.cls] if context.finding and context.finding.cls else []
    return list(dict.fromkeys([*known, *proposed, *used]))
