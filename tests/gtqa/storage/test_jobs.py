from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from gtqa.domain import Dataset, Finding, IssueType
from gtqa.spec import CompiledSpec
from gtqa.storage import (
    ChunkStatus,
    JobStatus,
    LeaseError,
    chunk_findings,
    chunk_ids,
    claim_chunk,
    create_review_job,
    expire_leases,
    fail_chunk,
    finish_chunk,
    ingest_batch,
    job_record,
    renew_chunk_lease,
    requeue_chunk,
)
from gtqa.storage.models import FindingRow, JobChunkRow, ReviewJobRow
from gtqa.storage.types import utcnow

Sessions = sessionmaker[Session]
DatasetFactory = Callable[..., Dataset]


def _job(
    sessions: Sessions,
    spec: CompiledSpec,
    make_dataset: DatasetFactory,
    *,
    frames: int = 10,
    chunk_size: int = 4,
) -> int:
    with sessions.begin() as session:
        batch = ingest_batch(session, make_dataset(frames=frames), spec)
        return create_review_job(session, batch.id, spec_hash=spec.hash, chunk_size=chunk_size).id


def _finding(
    frame: str, label: str | None, score: float = 0.6, type_: IssueType = IssueType.bad_box
) -> Finding:
    return Finding(
        frame=frame, label=label, type=type_, score=score, box=(1, 2, 3, 4), check="c", message="m"
    )


def test_a_job_splits_the_batch_into_chunks_of_n_frames(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    job_id = _job(sessions, spec, make_dataset, frames=10, chunk_size=4)
    with sessions() as session:
        job = job_record(session, job_id)
        chunks = session.scalars(select(JobChunkRow).order_by(JobChunkRow.seq)).all()
    assert (job.status, job.chunks_total, job.frames_total, job.frames_done) == (JobStatus.pending, 3, 10, 0)
    assert [c.frame_keys for c in chunks] == [
        ["000000", "000001", "000002", "000003"],
        ["000004", "000005", "000006", "000007"],
        ["000008", "000009"],
    ]
    assert {c.status for c in chunks} == {ChunkStatus.pending}


def test_a_leased_chunk_is_nobody_elses_until_the_lease_expires(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    job_id = _job(sessions, spec, make_dataset)
    t0 = utcnow()
    with sessions.begin() as session:
        chunk = chunk_ids(session, job_id)[0]
        lease = claim_chunk(session, chunk, "worker-a", lease_s=60, now=t0)
    assert lease is not None and lease.frame_keys[0] == "000000" and lease.spec_hash == spec.hash
    assert (lease.owner, lease.attempts, lease.lease_expires_at) == (
        "worker-a",
        1,
        t0 + timedelta(seconds=60),
    )
    with sessions.begin() as session:
        assert claim_chunk(session, chunk, "worker-b", lease_s=60, now=t0 + timedelta(seconds=59)) is None
        assert job_record(session, job_id).status == JobStatus.running
    with sessions.begin() as session:
        stolen = claim_chunk(session, chunk, "worker-b", lease_s=60, now=t0 + timedelta(seconds=61))
    assert stolen is not None and stolen.attempts == 2
    with sessions.begin() as session, pytest.raises(LeaseError, match="running by worker-b"):
        finish_chunk(session, chunk, "worker-a", [], spec)


def test_only_one_of_many_workers_gets_a_chunk(
    sessions: Sessions, crowd_sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    job_id = _job(sessions, spec, make_dataset)
    with sessions() as session:
        chunk = chunk_ids(session, job_id)[0]
    start, winners = threading.Barrier(12), []

    def worker(n: int) -> None:
        start.wait()
        with crowd_sessions.begin() as session:
            if claim_chunk(session, chunk, f"w{n}", lease_s=60):
                winners.append(n)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1


def test_expire_leases_requeues_expired_chunks_and_fails_those_out_of_attempts(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    job_id = _job(sessions, spec, make_dataset, frames=8, chunk_size=4)
    t0 = utcnow()
    with sessions.begin() as session:
        first, second = chunk_ids(session, job_id)
        claim_chunk(session, first, "a", lease_s=10, now=t0)
        claim_chunk(session, second, "b", lease_s=100, now=t0)
    with sessions.begin() as session:
        assert expire_leases(session, now=t0 + timedelta(seconds=5)).requeued == ()
        expired = expire_leases(session, now=t0 + timedelta(seconds=11))
    assert (expired.requeued, expired.failed) == ((first,), ())
    with sessions.begin() as session:
        assert chunk_ids(session, job_id) == [first]
        assert "lease expired; owner a" in (session.get_one(JobChunkRow, first).last_error or "")
        lease = claim_chunk(session, first, "c", lease_s=10, max_attempts=2, now=t0 + timedelta(seconds=12))
        assert lease is not None and lease.attempts == 2
    with sessions.begin() as session:
        expired = expire_leases(session, max_attempts=2, now=t0 + timedelta(seconds=30))
    assert expired.failed == (first,)
    with sessions() as session:
        assert chunk_ids(session, job_id, ChunkStatus.failed) == [first]
        assert chunk_ids(session, job_id, ChunkStatus.running) == [second]


def test_a_lease_expires_in_real_time(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    job_id = _job(sessions, spec, make_dataset)
    with sessions.begin() as session:
        chunk = chunk_ids(session, job_id)[0]
        assert claim_chunk(session, chunk, "slow", lease_s=0.3) is not None
    with sessions.begin() as session:
        assert expire_leases(session).requeued == ()
    time.sleep(0.4)
    with sessions.begin() as session:
        assert expire_leases(session).requeued == (chunk,)
        assert claim_chunk(session, chunk, "fast", lease_s=60) is not None


def test_renewing_keeps_a_lease_and_needs_to_hold_it(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    job_id = _job(sessions, spec, make_dataset)
    t0 = utcnow()
    with sessions.begin() as session:
        chunk = chunk_ids(session, job_id)[0]
        claim_chunk(session, chunk, "a", lease_s=10, now=t0)
        assert renew_chunk_lease(
            session, chunk, "a", lease_s=10, now=t0 + timedelta(seconds=8)
        ) == t0 + timedelta(seconds=18)
        assert claim_chunk(session, chunk, "b", lease_s=10, now=t0 + timedelta(seconds=12)) is None
        with pytest.raises(LeaseError):
            renew_chunk_lease(session, chunk, "b", lease_s=10)


def test_finishing_twice_leaves_one_set_of_findings_per_frame(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    job_id = _job(sessions, spec, make_dataset, frames=4, chunk_size=4)
    first_run = [_finding("000000", "000000:0"), _finding("000001", "000001:2"), _finding("000001", None)]
    second_run = [_finding("000001", "000001:2", score=0.9), _finding("000003", "000003:1")]
    with sessions.begin() as session:
        chunk = chunk_ids(session, job_id)[0]
        claim_chunk(session, chunk, "a", lease_s=60)
        assert finish_chunk(session, chunk, "a", first_run, spec) == 3
    with sessions.begin() as session:  # the same worker retrying its finish
        assert finish_chunk(session, chunk, "a", first_run, spec) == 3
    with sessions() as session:
        assert Counter(f.frame for f in chunk_findings(session, chunk)) == {"000000": 1, "000001": 2}
    with sessions.begin() as session:  # an operator re-runs the chunk after a fix
        requeue_chunk(session, chunk)
        assert job_record(session, job_id).status == JobStatus.running
        claim_chunk(session, chunk, "b", lease_s=60)
        finish_chunk(session, chunk, "b", second_run, spec)
    with sessions() as session:
        assert chunk_findings(session, chunk) == [
            f.model_copy(update={"spec_hash": spec.hash}) for f in second_run
        ]
        assert session.scalar(select(func.count()).select_from(FindingRow)) == 2
        job = job_record(session, job_id)
    assert (job.status, job.findings_count, job.frames_done, job.chunks_done) == (JobStatus.done, 2, 4, 1)


def test_finishing_a_chunk_does_not_wait_for_another_chunk_writing_findings_of_the_job(
    backend: str, sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    """Two chunks of one job finishing together deadlocked on PostgreSQL: each transaction's findings
    hold FOR KEY SHARE on the job row (their foreign key), and the job's recount asked FOR UPDATE,
    which waits for key-share locks. The recount's FOR NO KEY UPDATE does not."""
    if backend != "postgresql":
        pytest.skip("row lock modes are PostgreSQL's; SQLite serialises writing transactions")
    job_id = _job(sessions, spec, make_dataset, frames=8, chunk_size=4)
    with sessions.begin() as session:
        first, _ = chunk_ids(session, job_id)
        claim_chunk(session, first, "a", lease_s=60)
    with sessions.begin() as other:  # another worker's finish, half-way: its rows reference the job
        other.execute(
            select(ReviewJobRow.id)
            .where(ReviewJobRow.id == job_id)
            .with_for_update(read=True, key_share=True)
        )
        with sessions.begin() as session:
            session.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting at all fails the test
            assert finish_chunk(session, first, "a", [_finding("000000", "000000:0")], spec) == 1


def test_finish_refuses_findings_outside_the_chunk_or_under_another_spec(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    job_id = _job(sessions, spec, make_dataset, frames=8, chunk_size=4)
    with sessions.begin() as session:
        chunk = chunk_ids(session, job_id)[0]
        claim_chunk(session, chunk, "a", lease_s=60)
    with sessions.begin() as session, pytest.raises(ValueError, match=r"outside chunk .*000005"):
        finish_chunk(session, chunk, "a", [_finding("000005", "000005:0")], spec)
    with sessions.begin() as session, pytest.raises(ValueError, match="not in frame"):
        finish_chunk(session, chunk, "a", [_finding("000001", "000002:0")], spec)
    other = spec.model_copy(update={"hash": "f" * 64})
    with sessions.begin() as session, pytest.raises(ValueError, match=r"under spec f{12} for a job"):
        finish_chunk(session, chunk, "a", [], other)
    with sessions() as session:
        assert session.get_one(JobChunkRow, chunk).status == ChunkStatus.running


def test_priority_is_probability_times_the_specs_severity_weight(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    job_id = _job(sessions, spec, make_dataset, frames=2, chunk_size=2)
    missing = _finding("000000", None, score=0.5, type_=IssueType.missing_object)
    pedestrian = _finding(
        "000000", "000000:1", score=0.5, type_=IssueType.bad_box
    )  # labels cycle Car, Pedestrian
    car = _finding("000000", "000000:0", score=0.5, type_=IssueType.bad_box)
    with sessions.begin() as session:
        chunk = chunk_ids(session, job_id)[0]
        claim_chunk(session, chunk, "a", lease_s=60)
        finish_chunk(session, chunk, "a", [missing, pedestrian, car], spec)
    with sessions() as session:
        stored = {k: p for k, p in session.execute(select(FindingRow.label_key, FindingRow.priority))}
    weight = {
        key: spec.severity(f.type, cls).weight
        for key, f, cls in [
            (None, missing, None),
            ("000000:1", pedestrian, "Pedestrian"),
            ("000000:0", car, "Car"),
        ]
    }
    assert stored == pytest.approx({k: 0.5 * w for k, w in weight.items()})
    assert stored["000000:1"] >= stored["000000:0"]  # a pedestrian's box matters at least as much as a car's


def test_failed_chunks_retry_then_fail_the_job(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    job_id = _job(sessions, spec, make_dataset, frames=8, chunk_size=4)
    with sessions.begin() as session:
        first, second = chunk_ids(session, job_id)
        claim_chunk(session, first, "a", lease_s=60)
        assert fail_chunk(session, first, "a", "db timeout", max_attempts=2) == ChunkStatus.pending
        claim_chunk(session, first, "a", lease_s=60)
        assert fail_chunk(session, first, "a", "db timeout", max_attempts=2) == ChunkStatus.failed
        assert claim_chunk(session, first, "a", lease_s=60, max_attempts=2) is None
        claim_chunk(session, second, "b", lease_s=60)
        with pytest.raises(LeaseError):
            fail_chunk(session, second, "a", "not mine")
        assert fail_chunk(session, second, "b", "bad input", retry=False) == ChunkStatus.failed
        job = job_record(session, job_id)
    assert (job.status, job.chunks_failed, job.chunks_done) == (JobStatus.failed, 2, 0)
    assert job.finished_at is not None
