"""The reconciler's decisions, one sweep at a time, on a real database (SQLite and PostgreSQL) and the
filesystem broker: the database says which chunks need a message, the broker's count says whether
they have one."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gtqa.storage import ChunkStatus, JobStatus, claim_chunk, job_record, mark_finished, mark_unfinished
from gtqa.storage.models import ReviewItemRow
from gtqa.storage.types import utcnow
from gtqa.storage.uploads import UNFINISHED
from workers.app import create_app
from workers.broker import REVIEW_QUEUE, waiting_messages
from workers.dispatch import enqueue_job
from workers.reconcile import reconcile
from workers.runtime import WorkerRuntime


@pytest.fixture
def sweep(local_stack):
    settings = local_stack.settings()
    rt, app = WorkerRuntime(settings), create_app(settings)
    yield rt, app
    rt.close()


def _job(local_stack, ingested, tracking_data, chunk_size: int = 64) -> tuple[int, list[int]]:
    job_id = ingested(local_stack, tracking_data, chunk_size=chunk_size)
    return job_id, [c.id for c in local_stack.chunks(job_id)]


def test_chunks_that_never_got_a_message_are_sent_once_stale(sweep, local_stack, ingested, tracking_data):
    rt, app = sweep
    _job_id, chunks = _job(local_stack, ingested, tracking_data)  # committed, never enqueued
    assert reconcile(rt, app).resent == (), "a new job is not stale yet"
    later = utcnow() + timedelta(seconds=rt.settings.reconcile_stale_s + 1)
    report = reconcile(rt, app, now=later)
    assert (report.stale, report.waiting, sorted(report.resent)) == (len(chunks), 0, chunks)
    assert waiting_messages(app, REVIEW_QUEUE) == len(chunks)
    again = reconcile(rt, app, now=later)
    assert again.resent == () and again.waiting == len(chunks), "messages waiting: nothing is lost"


def test_a_backlog_is_not_mistaken_for_lost_messages(sweep, local_stack, ingested, tracking_data):
    rt, app = sweep
    job_id, chunks = _job(local_stack, ingested, tracking_data, chunk_size=16)
    assert enqueue_job(job_id, sessions=local_stack.sessions, app=app) == len(chunks)
    later = utcnow() + timedelta(seconds=rt.settings.reconcile_stale_s + 1)
    assert reconcile(rt, app, now=later).resent == ()
    # Two messages disappear (a broker losing them): fewer waiting than stale chunks, so all are re-sent.
    for path in sorted((rt.settings.home.resolve() / "broker" / "queue").glob("*.msg"))[:2]:
        path.unlink()
    report = reconcile(rt, app, now=later)
    assert report.waiting == len(chunks) - 2 and sorted(report.resent) == chunks


def test_an_expired_lease_is_returned_and_sent_at_once(sweep, local_stack, ingested, tracking_data):
    rt, app = sweep
    job_id, chunks = _job(local_stack, ingested, tracking_data)
    with local_stack.sessions.begin() as session:
        assert claim_chunk(session, chunks[0], "dead@worker/1", lease_s=5) is not None
    assert reconcile(rt, app).requeued == ()
    report = reconcile(rt, app, now=utcnow() + timedelta(seconds=6))
    assert report.requeued == (chunks[0],) and chunks[0] in report.resent
    chunk = next(c for c in local_stack.chunks(job_id) if c.id == chunks[0])
    assert chunk.status == ChunkStatus.pending and "dead@worker/1" in (chunk.last_error or "")
    # The other chunks never had a message (the job was not enqueued) and are stale by now: sent too.
    assert sorted(report.resent) == chunks and waiting_messages(app, REVIEW_QUEUE) == len(chunks)


def test_a_chunk_out_of_attempts_fails_and_completes_its_job(sweep, local_stack, ingested, tracking_data):
    rt, app = sweep
    job_id, chunks = _job(local_stack, ingested, tracking_data, chunk_size=1000)  # one chunk
    now = utcnow()
    for attempt in range(rt.settings.chunk_max_attempts):
        at = now + timedelta(seconds=10 * attempt)
        with local_stack.sessions.begin() as session:
            assert claim_chunk(session, chunks[0], f"w{attempt}", lease_s=5, now=at) is not None
        report = reconcile(rt, app, now=at + timedelta(seconds=6))
    assert report.failed == (chunks[0],) and report.jobs_completed == (job_id,)
    with local_stack.sessions() as session:
        assert job_record(session, job_id).status == JobStatus.failed
        # The queue was built for what the job has: no chunk done, so no flags and no spot checks.
        assert session.scalar(select(func.count()).select_from(ReviewItemRow)) == 0
    assert local_stack.chunks(job_id)[0].status == ChunkStatus.failed


def test_the_folder_of_a_killed_upload_is_swept_and_a_finished_one_kept(sweep, local_stack):
    rt, app = sweep
    ingest = rt.settings.home / "ingest"
    killed, running, finished = (ingest / name for name in ("killed", "running", "finished"))
    for folder in (killed, running, finished):
        (folder / "files").mkdir(parents=True)
        mark_unfinished(folder)
    mark_finished(finished)
    stale = time.time() - rt.settings.upload_stale_s - 60
    os.utime(killed / UNFINISHED, (stale, stale))
    reconcile(rt, app)
    assert (killed.exists(), running.exists(), finished.exists()) == (False, True, True)
