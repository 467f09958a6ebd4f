"""Reviewing one chunk, start to end: the body of the ``gtqa.review_chunk`` task, kept free of Celery.

1. Claim the chunk's lease (one conditional UPDATE). Nothing to do when it is done, failed, or leased
   to another worker whose lease holds: a duplicate message is harmless.
2. Review its frames with the reviewer graph (the job's plan: spec, checks, dataset statistics,
   scorer; the judge when an endpoint is configured), renewing the lease every third of its length.
3. ``finish_chunk``: the chunk's findings replace whatever an earlier run stored, in one transaction
   that, when it completes the job, also builds the job's review queue. A worker that lost its lease
   meanwhile (it was too slow, the reconciler gave the chunk to another) drops its result.

On an error the lease is given back at once (``fail_chunk``): pending again for a transient error
(the task then retries), a soft time limit or a shutdown, failed for good for anything else (a bug, bad
data: retrying cannot help). Every claim counts as an attempt, so ``chunk_max_attempts`` bounds them all.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, cast

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import OperationalError as DatabaseError
from sqlalchemy.orm import Session

from agents.graph import run_config
from agents.state import ReviewInput, ReviewOutput
from gtqa.domain import Finding, JudgeFailure
from gtqa.spec import CompiledSpec
from gtqa.storage import (
    ChunkLease,
    ChunkStatus,
    JobStatus,
    LeaseError,
    build_review_items,
    claim_chunk,
    fail_chunk,
    finish_chunk,
    job_record,
    renew_chunk_lease,
)
from workers.errors import JudgeRateLimitedError, SpecNotAvailableError, is_transient
from workers.plan import JobPlan
from workers.runtime import WorkerRuntime
from workers.source import DbFrameSource

log = logging.getLogger(__name__)

Status = Literal["done", "skipped", "lost"]
# Transactions storing a chunk's findings before the task gives up (and the chunk is reviewed again).
FINISH_TRIES = 4


@dataclass(frozen=True)
class ChunkOutcome:
    chunk_id: int
    status: Status  # done | skipped (nothing to do) | lost (the lease went to another worker)
    findings: int = 0
    job_id: int | None = None
    job_complete: bool = False  # this chunk completed its job (and built its review queue)


def review_chunk(
    rt: WorkerRuntime, chunk_id: int, owner: str, *, accept_rate_limited: bool = False
) -> ChunkOutcome:
    """Review chunk ``chunk_id`` as ``owner``. Raises on errors after giving the lease back; judge
    answers that were rate-limited raise ``JudgeRateLimitedError`` (the chunk is tried again later)
    unless this is the last try: ``accept_rate_limited`` (the task's last retry) or the chunk's last
    claim (``chunk_max_attempts``). The last try stores the findings as they are: flags the judge could
    not answer keep their heuristic score and are marked needs_human, so a judge that stays down never
    costs a frame its review."""
    with rt.sessions.begin() as session:
        lease = claim_chunk(
            session,
            chunk_id,
            owner,
            lease_s=rt.settings.chunk_lease_s,
            max_attempts=rt.settings.chunk_max_attempts,
        )
    if lease is None:
        return ChunkOutcome(chunk_id, "skipped")
    try:
        plan = rt.plans.get(lease.job_id)
        with LeaseKeeper(rt, lease):
            findings = _review(rt, lease, plan)
        last_try = accept_rate_limited or lease.attempts >= rt.settings.chunk_max_attempts
        if not last_try and _rate_limited(findings):
            raise JudgeRateLimitedError(f"the judge was rate limited on chunk {chunk_id}")
        return _finish(rt, lease, findings, plan.calibration_version)
    except LeaseError as exc:
        log.warning("dropping the result of chunk %d: %s", chunk_id, exc)
        return ChunkOutcome(chunk_id, "lost", job_id=lease.job_id)
    except BaseException as exc:
        give_back(rt, lease, exc)
        raise


def _review(rt: WorkerRuntime, lease: ChunkLease, plan: JobPlan) -> list[Finding]:
    ctx = plan.context(DbFrameSource(rt.reads, lease.batch_id), rt.new_judge())
    request: ReviewInput = {"frame_ids": list(lease.frame_keys)}
    try:
        out = cast(ReviewOutput, rt.run(rt.graph.ainvoke(request, config=run_config(), context=ctx)))
    except SoftTimeLimitExceeded:
        rt.reset_loop()  # the interrupted graph's tasks must not run on into the next chunk
        raise
    for error in out["errors"]:
        log.warning("chunk %d: %s", lease.id, error)
    return out["findings"]


def _rate_limited(findings: Sequence[Finding]) -> bool:
    return any(f.judge is not None and f.judge.failure is JudgeFailure.rate_limited for f in findings)


def _finish(
    rt: WorkerRuntime, lease: ChunkLease, findings: Sequence[Finding], calibration_version: int | None = None
) -> ChunkOutcome:
    """Store the findings; a transaction that fails transiently (a deadlock between two finishes of one
    job on PostgreSQL, a dropped connection) is run again rather than the whole review."""
    spec = rt.specs.get(lease.spec_hash)
    for attempt in range(1, FINISH_TRIES + 1):
        try:
            with rt.sessions.begin() as session:
                stored = finish_chunk(
                    session, lease.id, lease.owner, findings, spec, calibration_version=calibration_version
                )
                complete = build_queue_if_complete(rt, session, lease.job_id, spec)
            return ChunkOutcome(lease.id, "done", stored, lease.job_id, complete)
        except DatabaseError as exc:
            if attempt == FINISH_TRIES:
                raise
            log.warning("finishing chunk %d (try %d): %s", lease.id, attempt, str(exc).splitlines()[0])
            time.sleep(random.uniform(0.05, 0.25) * attempt)
    raise AssertionError("unreachable")


def build_queue_if_complete(rt: WorkerRuntime, session: Session, job_id: int, spec: CompiledSpec) -> bool:
    """Build the job's review queue, in the caller's transaction, when every chunk is done or failed
    (exactly one transaction sees that: the job row is locked while its chunks are counted)."""
    if job_record(session, job_id).status not in (JobStatus.done, JobStatus.failed):
        return False
    built = build_review_items(
        session,
        job_id,
        spec,
        spot_check_share=rt.settings.spot_check_share,
        stream_rate=rt.settings.spot_check_stream_rate,
    )
    log.info("job %d complete: %d flags and %d spot checks queued", job_id, built.flags, built.spot_checks)
    return True


def give_back(rt: WorkerRuntime, lease: ChunkLease, exc: BaseException) -> None:
    """Return the lease after an error, best effort: if the database is away too, the lease simply
    expires and the reconciler returns the chunk."""
    # Pending again unless retrying cannot help; a shutdown (SystemExit, KeyboardInterrupt) is not the
    # chunk's fault.
    retry = is_transient(exc) or isinstance(exc, SoftTimeLimitExceeded) or not isinstance(exc, Exception)
    error = f"{type(exc).__name__}: {exc}"
    spec = _known_spec(rt, lease.spec_hash)
    try:
        with rt.sessions.begin() as session:
            status = fail_chunk(
                session,
                lease.id,
                lease.owner,
                error,
                retry=retry,
                max_attempts=rt.settings.chunk_max_attempts,
            )
            if status == ChunkStatus.failed and spec is not None:
                build_queue_if_complete(rt, session, lease.job_id, spec)
        log.warning("chunk %d given back (%s) after %s", lease.id, status, error)
    except Exception:
        log.exception("could not give chunk %d back; its lease will expire", lease.id)


def _known_spec(rt: WorkerRuntime, spec_hash: str) -> CompiledSpec | None:
    try:
        return rt.specs.get(spec_hash)
    except SpecNotAvailableError:
        return None


class LeaseKeeper:
    """Renews a lease every third of its length on a thread while the chunk is reviewed."""

    def __init__(self, rt: WorkerRuntime, lease: ChunkLease) -> None:
        self._rt, self._lease = rt, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"lease-{lease.id}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        lease_s = self._rt.settings.chunk_lease_s
        while not self._stop.wait(lease_s / 3):
            try:
                with self._rt.sessions.begin() as session:
                    renew_chunk_lease(session, self._lease.id, self._lease.owner, lease_s=lease_s)
            except LeaseError as exc:
                log.warning("lost the lease of chunk %d: %s", self._lease.id, exc)
                return  # finish_chunk will refuse the result
            except Exception:
                log.exception("renewing the lease of chunk %d", self._lease.id)
