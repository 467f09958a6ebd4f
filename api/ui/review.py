"""The auditor's review page and its JSON calls, on the queue's own storage functions (``claim_next``,
``decide``, ``skip``, ``extend_claim``, ``release``), exactly as the JSON API uses them.

A decision and the claim of the next item are one round trip: the decision is committed, then the next
item is claimed in a transaction of its own (committed at once, as ``POST /api/v1/queue/next`` does),
then the page gets the next item's context. The seconds an auditor spent are measured by the page, from
the moment the item was shown to the decision, and stored in the audit.
"""

from __future__ import annotations

import mimetypes
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import AfterValidator, BeforeValidator
from sqlalchemy.orm import Session

from api.decisions import corrected_label
from api.deps import DispatcherDep, ReadSessionDep, SessionDep, SettingsDep
from api.learning import count_for_refit, send_refit
from api.queries.items import item_frame, item_image
from api.queries.scope import may_see_item
from api.routes.params import IdPath
from api.schemas.queue import ClaimOut, Released, SkipIn
from api.ui.access import AnyPage, AuditorPage, AuditorPost, PageRoute
from api.ui.frame_edits import ReviewDecisionIn, frame_edits
from api.ui.review_data import ReviewPayload, payload
from api.ui.templates import render
from gtqa.domain import IssueType
from gtqa.settings import Settings
from gtqa.storage import (
    NotFoundError,
    claim_next,
    decide,
    extend_claim,
    held_item,
    item_context,
    pending_by_job,
    record_frame_edits,
    release,
    review_item,
    skip,
)
from gtqa.storage.types import utcnow

router = APIRouter(route_class=PageRoute)


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _job_id(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise ValueError("a job id is 1 or more")
    return value


# Work one job's items only (the page's queue choice); absent or empty (the menu's "all jobs", which a
# form submits as ``job=``): the whole queue.
JobQuery = Annotated[
    int | None,
    BeforeValidator(_blank_is_none),
    AfterValidator(_job_id),
    Query(description="claim from this review job only; empty: the whole queue"),
]


@router.get("/ui/review", response_class=HTMLResponse, name="review")
def review_page(
    request: Request, viewer: AuditorPage, reads: ReadSessionDep, settings: SettingsDep, job: JobQuery = None
) -> HTMLResponse:
    """The queue, all jobs or one job's (``?job=``): an auditor assigned to one delivery, or one who
    wants the frames that come with images, works that job's items in queue order."""
    jobs = pending_by_job(reads)
    return render(request, "review.html", _page_context(viewer, settings) | {"jobs": jobs, "job": job})


def _page_context(viewer: object, settings: Settings) -> dict[str, object]:
    return {
        "viewer": viewer,
        "jobs": [],
        "job": None,
        "issue_types": [t.value for t in IssueType],
        "lease_seconds": settings.review_lease_s,
        "min_seconds": settings.review_min_seconds,
        "poll_seconds": settings.review_poll_s,
        "readonly": None,
    }


@router.get("/ui/items/{item_id}", response_class=HTMLResponse, name="item")
def item_page(
    item_id: IdPath, request: Request, viewer: AnyPage, session: ReadSessionDep, settings: SettingsDep
) -> HTMLResponse:
    """One item, read only: the link an auditor shares (anyone who may see its batch may open it)."""
    if not may_see_item(session, viewer.user, review_item(session, item_id)):
        raise NotFoundError(f"no review item {item_id}")
    return render(request, "review.html", _page_context(viewer, settings) | {"readonly": item_id})


@router.get("/ui/api/items/{item_id}/view", response_model=ReviewPayload)
def item_view_json(
    item_id: IdPath, viewer: AnyPage, reads: ReadSessionDep, settings: SettingsDep
) -> ReviewPayload:
    """What the review page shows of one item, without claiming it."""
    if not may_see_item(reads, viewer.user, review_item(reads, item_id)):
        raise NotFoundError(f"no review item {item_id}")
    return payload(reads, settings, item_id, viewer.user.name, utcnow())


@router.post("/ui/api/next", response_model=ReviewPayload)
def next_item(
    viewer: AuditorPost,
    session: SessionDep,
    reads: ReadSessionDep,
    settings: SettingsDep,
    job: JobQuery = None,
) -> ReviewPayload:
    """The item the auditor holds (a reloaded page), else the next one claimed (of ``job`` only, if given)."""
    now = utcnow()
    item_id = held_item(reads, viewer.user.name, now)
    if item_id is None:
        item_id = _claim(session, viewer.user.name, settings, job)
    return payload(reads, settings, item_id, viewer.user.name, utcnow(), job)


@router.post("/ui/api/items/{item_id}/decision", response_model=ReviewPayload)
def decision(
    item_id: IdPath,
    body: ReviewDecisionIn,
    viewer: AuditorPost,
    session: SessionDep,
    reads: ReadSessionDep,
    settings: SettingsDep,
    dispatcher: DispatcherDep,
    job: JobQuery = None,
) -> ReviewPayload:
    """Record the decision (with the correction, if any, and the corrections of other labels of the
    frame, each an audit of its own, in the same transaction), then claim and return the next item.
    The decision counts towards the next calibration refit (``api.learning``)."""
    with session.begin():
        ctx = item_context(session, item_id)
        corrected = corrected_label(ctx, body.corrected) if body.corrected else None
        audit = decide(
            session, item_id, viewer.user.name, body.verdict, issue_type=body.issue_type,
            corrected=corrected, comment=body.comment, seconds=body.seconds,
            second_review_share=settings.second_review_share,
        )  # fmt: skip
        if body.frame_edits:
            frame = item_frame(session, ctx)
            edits = frame_edits(frame.labels, frame.id, item_id, body.frame_edits)
            record_frame_edits(session, item_id, viewer.user.name, edits, of_audit=audit.id)
        due = count_for_refit(session, settings, item_id)
    send_refit(dispatcher, due)
    following = _claim(session, viewer.user.name, settings, job)
    return payload(reads, settings, following, viewer.user.name, utcnow(), job).model_copy(
        update={"decided": audit.id}
    )


@router.post("/ui/api/items/{item_id}/skip", response_model=ReviewPayload)
def skip_item(
    item_id: IdPath,
    viewer: AuditorPost,
    session: SessionDep,
    reads: ReadSessionDep,
    settings: SettingsDep,
    body: Annotated[SkipIn | None, Body()] = None,
    job: JobQuery = None,
) -> ReviewPayload:
    with session.begin():
        skip(session, item_id, viewer.user.name, reason=body.reason if body else "")
    following = _claim(session, viewer.user.name, settings, job)
    return payload(reads, settings, following, viewer.user.name, utcnow(), job)


@router.post("/ui/api/items/{item_id}/extend", response_model=ClaimOut)
def extend(item_id: IdPath, viewer: AuditorPost, session: SessionDep, settings: SettingsDep) -> ClaimOut:
    with session.begin():
        expires = extend_claim(session, item_id, viewer.user.name, lease_s=settings.review_lease_s)
    return ClaimOut(item_id=item_id, lease_expires_at=expires)


@router.post("/ui/api/items/{item_id}/release", response_model=Released)
def give_back(item_id: IdPath, viewer: AuditorPost, session: SessionDep) -> Released:
    with session.begin():
        release(session, item_id, viewer.user.name)
        return Released(item_id=item_id, status=review_item(session, item_id).status)


@router.get("/ui/items/{item_id}/image", response_class=FileResponse)
def image(item_id: IdPath, viewer: AnyPage, session: ReadSessionDep) -> FileResponse:
    if not may_see_item(session, viewer.user, review_item(session, item_id)):
        raise NotFoundError(f"no review item {item_id}")
    path = item_image(session, item_id)
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media, headers={"Cache-Control": "private, max-age=3600"})


def _claim(session: Session, auditor: str, settings: Settings, job: int | None = None) -> int | None:
    with session.begin():  # committed at once: the claimed row stays locked only for the UPDATE
        item = claim_next(
            session,
            auditor,
            lease_s=settings.review_lease_s,
            job_id=job,
            max_held=settings.max_claims_per_auditor,
        )
    return item.id if item else None
