"""What the review page shows around an item: the item's context (the JSON API's own view of it), the
classes the spec allows, the auditor's pace and how much of the queue is left."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from functools import cache, partial
from typing import TypeGuard

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.queries.items import item_view
from api.schemas.queue import ItemContextOut
from api.spec_lookup import job_spec_or_none
from api.ui.bev import LidarView, lidar_view
from api.ui.history import EarlierDecision, earlier_decisions
from api.ui.scene import NEIGHBOURS, SceneView, TrackView, scene_view, track_view
from api.ui.why import Why, why
from gtqa.checks.scope import sweep_points
from gtqa.domain import Frame, Label
from gtqa.domain.lidar import is_lidar
from gtqa.settings import Settings
from gtqa.spec import CompiledSpec
from gtqa.storage import (
    batch_record,
    decision_seconds,
    frame_keys_near,
    is_blind,
    label_audits,
    load_frames,
    pending_items,
    track_labels,
)

PACE_WINDOW = timedelta(hours=12)  # "today": one working day, whatever the time zone


class Pace(BaseModel):
    decisions: int = Field(description="the auditor's queue decisions in the last 12 hours")
    per_hour: float | None = Field(description="3600 x those decisions / the seconds recorded on them")
    median_seconds: float | None = Field(description="median seconds per decision, same decisions")
    pending: int = Field(description="items waiting in the queue worked (all, or the chosen job's)")


class ReviewPayload(BaseModel):
    context: ItemContextOut | None = Field(description="the claimed item; None when the queue is empty")
    classes: list[str] = Field(description="the classes the item's spec allows, for corrections")
    lease_expires_at: datetime | None
    pace: Pace
    decided: str | None = Field(default=None, description="the audit just recorded, if any")
    why: Why | None = Field(
        default=None, description="why the item was flagged (None when the queue is empty)"
    )
    vendor: str | None = Field(default=None, description="the batch's vendor")
    track: TrackView | None = Field(default=None, description="the flagged object's track, if it has one")
    scene: SceneView | None = Field(default=None, description="the frame's cuboids, if it has any")
    lidar: LidarView | None = Field(
        default=None, description="a LiDAR label's sweep from above (its cuboids, points, track path)"
    )
    history: list[EarlierDecision] = Field(
        default_factory=list, description="earlier decisions on the label, in any delivery, newest first"
    )


def pace(session: Session, auditor: str, now: datetime, job: int | None = None) -> Pace:
    seconds = decision_seconds(session, auditor, now - PACE_WINDOW)
    timed = [s for s in seconds if s is not None]
    return Pace(
        decisions=len(seconds),
        per_hour=3600.0 * len(timed) / sum(timed) if timed and sum(timed) > 0 else None,
        median_seconds=statistics.median(timed) if timed else None,
        pending=pending_items(session, job_id=job),
    )


def payload(
    session: Session,
    settings: Settings,
    item_id: int | None,
    auditor: str,
    now: datetime,
    job: int | None = None,
) -> ReviewPayload:
    """What the review page shows of ``item_id``; ``job``: the queue the auditor works (its pending count)."""
    context, spec_of = None, cache(partial(job_spec_or_none, settings))  # looked up once per request
    frames: dict[str, Frame] = {}
    if item_id is not None:
        context = item_view(session, item_id, spec_of, image_url=f"/ui/items/{item_id}/image", frames=frames)
    made = ReviewPayload(
        context=context,
        classes=_classes(spec_of(context.spec_hash), context) if context else [],
        lease_expires_at=context.item.lease_expires_at if context else None,
        pace=pace(session, auditor, now, job),
        why=why(context) if context else None,
    )
    if context is None:
        return made
    return made.model_copy(update=_around(session, context, frames[context.item.frame]))


def _around(session: Session, context: ItemContextOut, frame: Frame) -> dict[str, object]:
    """The vendor, the flagged object's track, the frame's 3D scene and the label's earlier audits."""
    batch = context.item.batch_id
    label = context.label
    return {
        "vendor": batch_record(session, batch).vendor,
        "track": _track(session, batch, frame, label) if _image_track(label) else None,
        "scene": scene_view(frame, label),
        "lidar": _lidar(session, batch, frame, label) if label and is_lidar(label) else None,
        "history": _history(session, context, label) if label else [],
    }


def _history(session: Session, context: ItemContextOut, label: Label) -> list[EarlierDecision]:
    """The label's earlier decisions; none for a blind item (a second review must not show the first
    decision, and a gold item must look like any item with no history)."""
    if is_blind(session, context.item.id):
        return []
    batch = context.item.batch_id
    found = label_audits(session, batch, context.item.frame, label.id)
    return earlier_decisions(found, label, batch)


def _image_track(label: Label | None) -> TypeGuard[Label]:
    """The image track strip and timeline: for a tracked image label (a LiDAR one has its path in
    ``lidar``, and its box is a footprint in metres, not pixels)."""
    return label is not None and label.track_id is not None and not is_lidar(label)


def _lidar(session: Session, batch_id: int, frame: Frame, label: Label) -> LidarView:
    """The sweep from above, with the label's track over its whole log (labels only, one per sweep)."""
    track = []
    if frame.sequence is not None and label.track_id is not None:
        track = track_labels(session, batch_id, frame.sequence, label.track_id)
    path = [Frame(id=key, sequence=frame.sequence, index=index, labels=(lab,)) for key, index, lab in track]
    return lidar_view(frame, label, path, sweep_points)


def _track(session: Session, batch_id: int, frame: Frame, label: Label) -> TrackView | None:
    """The label's track over its whole sequence (labels only) and the frames within ±5 of it."""
    if frame.sequence is None or label.track_id is None:
        return None
    track = track_labels(session, batch_id, frame.sequence, label.track_id)
    keys = frame_keys_near(session, batch_id, {frame.sequence: (frame.index, frame.index)}, window=NEIGHBOURS)
    return track_view(track, load_frames(session, batch_id, keys, predictions=False), label, frame)


def _classes(spec: CompiledSpec | None, context: ItemContextOut) -> list[str]:
    """The spec's classes, plus any the frame already uses (a correction may keep an odd one)."""
    known = list(spec.taxonomy.classes) if spec else []
    used = [lb.cls for lb in [*([context.label] if context.label else []), *context.neighbours]]
    proposed = [context.finding.cls] if context.finding and context.finding.cls else []
    return list(dict.fromkeys([*known, *proposed, *used]))
