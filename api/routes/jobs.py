"""Review jobs: progress, their chunks (failed ones re-run by ops), sending one to the workers again, and
building its auditors' queue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import DispatcherDep, Operator, Reader, ReadSessionDep, SessionDep, SettingsDep
from api.errors import errors
from api.ingest.service import enqueue
from api.routes.params import IdPath, IdQuery, Limit, Offset
from api.routing import api_router
from api.schemas.batches import ChunkOut, Enqueued, JobOut, QueueBuilt, Rerun
from api.schemas.common import Page
from api.spec_lookup import job_spec, job_spec_or_none
from gtqa.scoring.calibration import default_scorer
from gtqa.storage import (
    ChunkStatus,
    JobStatus,
    batch_record,
    build_review_items,
    job_chunks,
    job_record,
    list_jobs,
    requeue_failed_chunks,
)

router: APIRouter = api_router("jobs")


@router.get("/jobs", summary="List review jobs, newest first", response_model=Page[JobOut])
def jobs(
    _: Reader,
    session: ReadSessionDep,
    batch_id: IdQuery = None,
    status: Annotated[JobStatus | None, Query()] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[JobOut]:
    found, total = list_jobs(session, batch_id=batch_id, status=status, limit=limit, offset=offset)
    return Page(items=[JobOut.of(j) for j in found], total=total, limit=limit, offset=offset)


@router.get(
    "/jobs/{job_id}", summary="A job's status and progress", response_model=JobOut, responses=errors(404)
)
def job(job_id: IdPath, _: Reader, session: ReadSessionDep, settings: SettingsDep) -> JobOut:
    record = job_record(session, job_id)
    spec = job_spec_or_none(settings, record.spec_hash)
    scoring = default_scorer(spec, batch_record(session, record.batch_id).format).note if spec else None
    return JobOut.of(record).model_copy(update={"scoring": scoring})


@router.post(
    "/jobs/{job_id}/enqueue",
    summary="Send a job to the workers (again)",
    response_model=Enqueued,
    responses=errors(404),
)
def enqueue_again(
    job_id: IdPath, _: Operator, session: ReadSessionDep, dispatcher: DispatcherDep
) -> Enqueued:
    """Safe to repeat: workers take only chunks that are pending (or whose lease expired)."""
    record = job_record(session, job_id)
    return Enqueued(job=JobOut.of(record), enqueued=enqueue(dispatcher, job_id) is None)


@router.get(
    "/jobs/{job_id}/chunks",
    summary="A job's chunks: status, attempts and last error",
    response_model=list[ChunkOut],
    responses=errors(404),
)
def chunks(
    job_id: IdPath,
    _: Reader,
    session: ReadSessionDep,
    status: Annotated[ChunkStatus | None, Query(description="only chunks in this state")] = None,
) -> list[ChunkOut]:
    return [ChunkOut.of(c) for c in job_chunks(session, job_id, status)]


@router.post(
    "/jobs/{job_id}/chunks/rerun",
    summary="Re-run a job's failed chunks",
    response_model=Rerun,
    responses=errors(404),
)
def rerun_failed(job_id: IdPath, _: Operator, session: SessionDep, dispatcher: DispatcherDep) -> Rerun:
    """Failed chunks go back to pending with fresh attempts and the job is sent to the workers; their
    new findings replace the old, and the job's queue is rebuilt when it completes again. Safe to
    repeat (nothing failed: nothing to do)."""
    with session.begin():
        requeued = requeue_failed_chunks(session, job_id)
    enqueued = enqueue(dispatcher, job_id) is None if requeued else False
    return Rerun(job=JobOut.of(job_record(session, job_id)), requeued=requeued, enqueued=enqueued)


@router.post(
    "/jobs/{job_id}/queue",
    summary="Build (or rebuild) the auditors' queue of a job",
    response_model=QueueBuilt,
    responses=errors(404),
)
def build_queue(job_id: IdPath, _: Operator, session: SessionDep, settings: SettingsDep) -> QueueBuilt:
    """One item per finding plus a stratified sample of spot checks (GTQA_SPOT_CHECK_SHARE of unflagged
    labels and of low-probability flags), mixed into the stream at GTQA_SPOT_CHECK_STREAM_RATE. Pending
    items are remade; claimed and decided ones are kept."""
    with session.begin():
        spec = job_spec(settings, job_record(session, job_id).spec_hash)
        built = build_review_items(
            session,
            job_id,
            spec,
            spot_check_share=settings.spot_check_share,
            stream_rate=settings.spot_check_stream_rate,
        )
    return QueueBuilt(job_id=job_id, flags=built.flags, spot_checks=built.spot_checks, removed=built.removed)
