from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from gtqa.domain import Audit, AuditSource, Box2D, Dataset, Finding, IssueType, Verdict
from gtqa.spec import CompiledSpec
from gtqa.storage import (
    Role,
    build_review_items,
    chunk_ids,
    claim_chunk,
    claim_next,
    create_review_job,
    create_user,
    decide,
    export_audits,
    finish_chunk,
    import_audits,
    ingest_batch,
    list_audits,
    rotate_token,
    set_active,
    user_by_name,
    user_by_token,
)
from gtqa.storage.models import AuditRow, BatchRow, UserRow

Sessions = sessionmaker[Session]
DatasetFactory = Callable[..., Dataset]
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _decided(sessions: Sessions, spec: CompiledSpec, dataset: Dataset) -> tuple[int, list[Audit]]:
    """A batch whose every flag (one per frame) was decided, alternately by alice and bob: the batch id
    and the audits returned by ``decide``."""
    with sessions.begin() as session:
        batch = ingest_batch(session, dataset, spec)
        job = create_review_job(session, batch.id, spec_hash=spec.hash, chunk_size=100)
        chunk = chunk_ids(session, job.id)[0]
        claim_chunk(session, chunk, "w", lease_s=60)
        flags = [
            Finding(
                frame=f.id,
                label=f.labels[0].id,
                type=IssueType.bad_box,
                score=0.7,
                box=(1, 2, 3, 4),
                check="c",
                message="m",
            )
            for f in dataset.frames
        ]
        finish_chunk(session, chunk, "w", flags, spec)
        build_review_items(session, job.id, spec, spot_check_share=0.0)
    audits = []
    for n in range(len(dataset.frames)):
        auditor, verdict = ("alice", Verdict.defect) if n % 2 == 0 else ("bob", Verdict.not_defect)
        with sessions.begin() as session:
            item = claim_next(session, auditor, lease_s=60, now=T0 + timedelta(minutes=n))
            assert item is not None
            audits.append(
                decide(
                    session, item.id, auditor, verdict, seconds=n, now=T0 + timedelta(minutes=n, seconds=30)
                )
            )
    return batch.id, audits


def test_exported_audits_are_the_decided_ones(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    _, audits = _decided(sessions, spec, make_dataset(frames=5))
    with sessions() as session:
        exported = list(export_audits(session, spec_hash=spec.hash, batch_size=2))
        assert list(export_audits(session, spec_hash="0" * 64)) == []
    assert exported == audits
    assert all(a.created_at.tzinfo is not None and a.spec_hash == spec.hash for a in exported)


def test_audits_filter_by_auditor_verdict_and_time(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    batch_id, audits = _decided(sessions, spec, make_dataset(frames=6))
    with sessions() as session:
        assert list_audits(session, auditor="bob") == [a for a in audits if a.auditor == "bob"]
        assert list_audits(session, verdict=Verdict.defect) == [
            a for a in audits if a.verdict == Verdict.defect
        ]
        window = list_audits(session, since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=4))
        assert window == audits[2:4]
        assert list_audits(session, batch_id=batch_id, limit=2, offset=1) == audits[1:3]
        assert list_audits(session, source=AuditSource.spot_check) == []


def test_imported_audits_are_kept_once_and_audits_outlive_their_batch(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    batch_id, decided = _decided(sessions, spec, make_dataset(frames=2))
    past = Audit(
        id="recheck-17",
        dataset="kitti_rechecked",
        frame="000017",
        label="000017:2",
        box=Box2D(x1=1, y1=2, x2=3, y2=4),
        verdict=Verdict.defect,
        issue_type=IssueType.wrong_class,
        auditor="vendor-qa",
        created_at=T0 - timedelta(days=30),
    )
    with sessions.begin() as session:
        assert import_audits(session, [past, past]) == 1
        assert import_audits(session, [past, *decided]) == 0
    with sessions.begin() as session:
        session.execute(delete(BatchRow).where(BatchRow.id == batch_id))  # cascades to frames, items…
    with sessions() as session:
        kept = list(export_audits(session))
        assert (
            session.scalar(select(func.count()).select_from(AuditRow).where(AuditRow.item_id.is_not(None)))
            == 0
        )
    assert kept == [past, *decided]


def test_users_authenticate_by_token_only_while_active(sessions: Sessions) -> None:
    with sessions.begin() as session:
        alice, token = create_user(session, "alice", Role.auditor)
        with pytest.raises(ValueError, match="'boss' is not a valid Role"):
            create_user(session, "mallory", "boss")
    with sessions.begin() as session:
        assert user_by_token(session, token) == alice
        assert user_by_token(session, token + "x") is None
        assert session.scalar(select(UserRow.token_hash)) != token  # only a hash is stored
        fresh = rotate_token(session, alice.id)
        assert user_by_token(session, token) is None and user_by_token(session, fresh) == alice
        set_active(session, alice.id, False)
        assert user_by_token(session, fresh) is None
        assert user_by_name(session, "alice").role == Role.auditor


def test_the_database_refuses_an_unknown_role(sessions: Sessions) -> None:
    with sessions.begin() as session, pytest.raises(IntegrityError):
        session.execute(insert(UserRow).values(name="eve", role="boss", active=True, created_at=T0))
