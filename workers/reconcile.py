"""The reconciler: makes the queue agree with the database, which holds the truth. Beat runs it every
``reconcile_interval_s``; each sweep

1. returns chunks whose lease expired (their worker died or hung) to pending, or fails those out of
   attempts (``expire_leases``), and sends each returned chunk again at once: its message is gone
   (taken by the dead worker) or will come back only much later (Redis' visibility timeout);
2. returns auditors' claims that lapsed (``expire_claims``);
3. finds chunks that may have lost their message: pending and untouched (never claimed since the job
   was created, or since their last claim) for ``reconcile_stale_s``. Every pending chunk should have a
   message waiting, so when the broker holds fewer waiting messages than there are such chunks (a
   flushed or restarted Redis, a send that failed after the job was committed), some were lost, and
   all of them are sent again. While the broker still holds at least as many messages nothing is sent:
   a long backlog is not mistaken for loss, and a healthy queue gets no duplicates.

Duplicates are harmless by construction: ``claim_chunk`` lets one worker hold a chunk at a time, a
done chunk is skipped, and ``finish_chunk`` replaces the chunk's findings instead of adding to them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import Celery
from sqlalchemy.orm import Session

from gtqa.storage import (
    expire_claims,
    expire_leases,
    jobs_of_chunks,
    stale_pending_chunks,
    sweep_unfinished,
)
from gtqa.storage.types import utcnow
from workers.broker import (
    PROCESSED_KEEP_S,
    QUARANTINE_KEEP_S,
    REVIEW_QUEUE,
    broker_folder,
    enqueue_chunks,
    is_filesystem_broker,
    waiting_messages,
)
from workers.errors import SpecNotAvailableError
from workers.review import build_queue_if_complete
from workers.runtime import WorkerRuntime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReconcileReport:
    requeued: tuple[int, ...]  # chunks whose lease expired, back to pending
    failed: tuple[int, ...]  # chunks whose lease expired with no attempts left
    claims_expired: int  # auditors' claims returned to pending
    stale: int  # pending chunks untouched for reconcile_stale_s
    waiting: int  # messages the broker held in the review queue
    resent: tuple[int, ...]  # chunk ids sent again
    jobs_completed: tuple[int, ...]  # jobs this sweep completed (their review queue was built)


def reconcile(rt: WorkerRuntime, app: Celery, *, now: datetime | None = None) -> ReconcileReport:
    now = now or utcnow()
    max_attempts = rt.settings.chunk_max_attempts
    with rt.sessions.begin() as session:
        expired = expire_leases(session, max_attempts=max_attempts, now=now)
        claims = expire_claims(session, now=now)
        completed = _complete_jobs(rt, session, expired.failed)
    before = now - timedelta(seconds=rt.settings.reconcile_stale_s)
    requeued = set(expired.requeued)
    with rt.reads() as session:
        stale = [c for c in stale_pending_chunks(session, before) if c not in requeued]
    waiting = waiting_messages(app, REVIEW_QUEUE)
    resend = list(expired.requeued)
    if stale and waiting < len(stale):
        resend.extend(stale)
    if resend:
        enqueue_chunks(resend, app=app)
    if is_filesystem_broker(rt.settings):
        _prune_processed(rt)
    # Upload folders live under the API's home: swept where the worker shares it (one machine).
    sweep_unfinished(rt.settings.home / "ingest", older_than_s=rt.settings.upload_stale_s)
    report = ReconcileReport(
        expired.requeued, expired.failed, claims, len(stale), waiting, tuple(resend), completed
    )
    if resend or expired.failed or claims:
        log.info("reconciled: %s", report)
    return report


def _complete_jobs(rt: WorkerRuntime, session: Session, failed_chunks: tuple[int, ...]) -> tuple[int, ...]:
    """Build, in the sweep's transaction, the review queue of the jobs its failed chunks completed."""
    if not failed_chunks:
        return ()
    done: list[int] = []
    for job_id, spec_hash in jobs_of_chunks(session, failed_chunks):
        try:
            spec = rt.specs.get(spec_hash)
        except SpecNotAvailableError as exc:
            log.warning("job %d: cannot build its review queue: %s", job_id, exc)
            continue
        if build_queue_if_complete(rt, session, job_id, spec):
            done.append(job_id)
    return tuple(done)


def _prune_processed(rt: WorkerRuntime) -> None:
    """Processed messages after an hour, a killed sender's temporary files after an hour, quarantined
    (unparsable) message files after a week."""
    folder, now = broker_folder(rt.settings), time.time()
    for pattern, keep in (("processed/*.msg", PROCESSED_KEEP_S), ("tmp/*.part", PROCESSED_KEEP_S),
                          ("quarantine/*.msg", QUARANTINE_KEEP_S)):  # fmt: skip
        for path in folder.glob(pattern):
            try:
                if path.stat().st_mtime < now - keep:
                    path.unlink()
            except OSError:
                continue  # pruned by another sweep meanwhile
