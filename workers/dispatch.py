"""Sending work to the workers: one ``gtqa.review_chunk`` message per pending chunk of a job.

Call ``enqueue_job(job_id)`` after the transaction that created the job has committed (a message for a
chunk the workers cannot see yet would find nothing to do). If sending fails (the broker is down) the
job stays pending in the database and the reconciler sends its chunks within ``reconcile_stale_s``;
the error is raised so the caller can say so.
"""

from __future__ import annotations

from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from gtqa.storage import ChunkStatus, chunk_ids, engine_from_settings, make_session_factory
from workers.app import get_app
from workers.broker import enqueue_chunks


def enqueue_job(
    job_id: int, *, sessions: sessionmaker[Session] | None = None, app: Celery | None = None
) -> int:
    """Send a message for every pending chunk of the job; how many were sent. ``sessions``: the
    caller's session factory (the API's); without one a short-lived engine from the settings is used.
    ``app``: this process's (``get_app()``) unless given."""
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
    return enqueue_chunks(pending, app=app or get_app())
