"""Sending work to the workers: one ``gtqa.review_chunk`` message per pending chunk of a job.

Call ``enqueue_job(job_id)`` after the transaction that created the job has committed (a message for a
chunk the workers cannot see yet would find nothing to do). If sending fails (the broker is down) the
job stays pending in the database and the reconciler sends its chunks within ``reconcile_stale_s``;
the error is raised so the caller can say so.
"""

from __future__ import annotations

from collections.abc import Iterable

from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from gtqa.storage import ChunkStatus, chunk_ids, engine_from_settings, make_session_factory
from workers.app import REVIEW_QUEUE, REVIEW_TASK, get_app


def enqueue_job(
    job_id: int, *, sessions: sessionmaker[Session] | None = None, app: Celery | None = None
) -> int:
    """Send a message for every pending chunk of the job; how many were sent. ``sessions``: the
    caller's session factory (the API's); without one a short-lived engine from the settings is used."""
    if sessions is not None:
        with sessions() as session:
            pending = chunk_ids(session, job_id, ChunkStatus.pending)
    else:
        engine = engine_from_settings(pool_size=1)
        try:
            with make_session_factory(engine, read_only=True)() as session:
                pending = chunk_ids(session, job_id, ChunkStatus.pending)
        finally:
            engine.dispose()
    return enqueue_chunks(pending, app=app)


def enqueue_chunks(chunk_ids: Iterable[int], *, app: Celery | None = None) -> int:
    """Send one review message per chunk id, on one broker connection; how many were sent."""
    app = app or get_app()
    sent = 0
    with app.producer_or_acquire() as producer:
        for chunk_id in chunk_ids:
            app.send_task(REVIEW_TASK, args=[chunk_id], producer=producer)
            sent += 1
    return sent


def waiting_messages(app: Celery, queue: str = REVIEW_QUEUE) -> int:
    """Messages waiting in ``queue`` (not those a worker holds): Redis' list length, the filesystem
    broker's file count."""
    with app.connection_for_read() as conn:
        declared = conn.default_channel.queue_declare(queue=queue, passive=False, durable=True)
        return int(declared.message_count)
