"""The auditors' queue: claim the next item under a lease, look at it, then decide, release or skip.
Only the holder of an unexpired claim can decide, skip or extend it (409 ``lease_lost`` otherwise)."""

from __future__ import annotations

import mimetypes
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Body, Response
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from api.decisions import corrected_label
from api.deps import AnyUser, Auditor, DispatcherDep, Operator, ReadSessionDep, SessionDep, SettingsDep
from api.errors import errors
from api.learning import count_for_refit, send_refit
from api.queries.items import item_image, item_view
from api.queries.scope import may_see_item
from api.routes.params import IdPath, IdQuery
from api.routing import api_router
from api.schemas.queue import (
    ClaimOut,
    DecisionIn,
    ItemContextOut,
    NextIn,
    QueueCounts,
    Released,
    SkipIn,
    SkippedReturned,
)
from api.spec_lookup import job_spec_or_none
from gtqa.domain import Audit
from gtqa.settings import Settings
from gtqa.storage import (
    NotFoundError,
    UserRecord,
    claim_next,
    decide,
    extend_claim,
    item_context,
    queue_counts,
    release,
    return_skipped,
    review_item,
    skip,
)

router: APIRouter = api_router("queue")


@router.get("/queue", summary="Items per status", response_model=QueueCounts)
def counts(_: AnyUser, session: ReadSessionDep, job_id: IdQuery = None) -> QueueCounts:
    found = queue_counts(session, job_id=job_id)
    return QueueCounts(**{status.value: n for status, n in found.items()})


@router.post(
    "/queue/next",
    summary="Claim the highest-priority pending item",
    response_model=ItemContextOut,
    responses={204: {"description": "Nothing is pending"}, **errors(409)},
)
def claim(
    user: Auditor,
    session: SessionDep,
    reads: ReadSessionDep,
    settings: SettingsDep,
    body: Annotated[NextIn | None, Body()] = None,
) -> ItemContextOut | Response:
    """The claim holds for GTQA_REVIEW_LEASE_S seconds (extend it while looking). An auditor holds at
    most GTQA_MAX_CLAIMS_PER_AUDITOR items at once (409 claim_cap: decide, skip or release one first)."""
    job_id = body.job_id if body else None
    with session.begin():  # committed at once: the claimed row stays locked only for the UPDATE
        item = claim_next(
            session,
            user.name,
            lease_s=settings.review_lease_s,
            job_id=job_id,
            max_held=settings.max_claims_per_auditor,
        )
    if item is None:
        return Response(status_code=204)
    return _view(reads, settings, item.id)


@router.post(
    "/queue/skipped/return",
    summary="Put skipped items back in the queue",
    response_model=SkippedReturned,
)
def return_skipped_items(
    _: Operator, session: SessionDep, body: Annotated[NextIn | None, Body()] = None
) -> SkippedReturned:
    """Every skipped item (of ``job_id``, or of all jobs) is pending again, for any auditor to claim:
    once what made it unjudgeable is mended (an image restored, the spec clarified)."""
    with session.begin():
        returned = return_skipped(session, job_id=body.job_id if body else None)
    return SkippedReturned(returned=returned)


@router.get(
    "/queue/items/{item_id}",
    summary="An item with its context",
    response_model=ItemContextOut,
    responses=errors(404),
)
def item(item_id: IdPath, user: AnyUser, session: ReadSessionDep, settings: SettingsDep) -> ItemContextOut:
    """The flag, the label, the frame's other labels, detector boxes and findings, the rules cited,
    the frame size and the image URL. Auditors see the items they hold or decided."""
    _check_visible(session, user, item_id)
    return _view(session, settings, item_id)


@router.get(
    "/queue/items/{item_id}/image",
    summary="The image of an item's frame",
    response_class=FileResponse,
    responses={
        200: {"content": {"image/png": {}, "image/jpeg": {}}, "description": "The image"},
        **errors(404),
    },
)
def image(item_id: IdPath, user: AnyUser, session: ReadSessionDep) -> FileResponse:
    _check_visible(session, user, item_id)
    path = item_image(session, item_id)
    return FileResponse(path, media_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream")


@router.post(
    "/queue/items/{item_id}/decision",
    summary="Decide a claimed item (confirm, reject or unsure)",
    status_code=201,
    response_model=Audit,
    responses=errors(404, 409),
)
def decision(
    item_id: IdPath,
    body: DecisionIn,
    user: Auditor,
    session: SessionDep,
    settings: SettingsDep,
    dispatcher: DispatcherDep,
) -> Audit:
    """A defect takes an issue type (the flag's own if omitted) and optionally the corrected label;
    ``not_defect`` and ``unsure`` take neither. Every GTQA_REFIT_EVERY_DECISIONS-th decision of a spec
    and format queues a calibration refit. A share of decided items (``second_review_share``) is queued
    again, blind, for another auditor."""
    with session.begin():
        corrected = (
            corrected_label(item_context(session, item_id), body.corrected) if body.corrected else None
        )
        audit = decide(
            session, item_id, user.name, body.verdict, issue_type=body.issue_type, corrected=corrected,
            comment=body.comment, seconds=body.seconds, second_review_share=settings.second_review_share,
        )  # fmt: skip
        due = count_for_refit(session, settings, item_id)
    send_refit(dispatcher, due)
    return audit


@router.post(
    "/queue/items/{item_id}/release",
    summary="Give a claimed item back undecided",
    response_model=Released,
    responses=errors(404, 409),
)
def give_back(item_id: IdPath, user: Auditor, session: SessionDep) -> Released:
    with session.begin():
        release(session, item_id, user.name)
        return Released(item_id=item_id, status=review_item(session, item_id).status)


@router.post(
    "/queue/items/{item_id}/skip",
    summary="Take a claimed item out of the queue without a decision",
    response_model=Released,
    responses=errors(404, 409),
)
def skip_item(
    item_id: IdPath, user: Auditor, session: SessionDep, body: Annotated[SkipIn | None, Body()] = None
) -> Released:
    with session.begin():
        skip(session, item_id, user.name, reason=body.reason if body else "")
        return Released(item_id=item_id, status=review_item(session, item_id).status)


@router.post(
    "/queue/items/{item_id}/extend",
    summary="Keep a claim alive",
    response_model=ClaimOut,
    responses=errors(404, 409),
)
def extend(item_id: IdPath, user: Auditor, session: SessionDep, settings: SettingsDep) -> ClaimOut:
    with session.begin():
        expires = extend_claim(session, item_id, user.name, lease_s=settings.review_lease_s)
    return ClaimOut(item_id=item_id, lease_expires_at=expires)


def _check_visible(session: Session, user: UserRecord, item_id: int) -> None:
    if not may_see_item(session, user, review_item(session, item_id)):
        raise NotFoundError(f"no review item {item_id}")


def _view(session: Session, settings: Settings, item_id: int) -> ItemContextOut:
    url = f"/api/v1/queue/items/{item_id}/image"
    return item_view(session, item_id, partial(job_spec_or_none, settings), image_url=url)
