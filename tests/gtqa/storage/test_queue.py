from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from gtqa.domain import AuditSource, Box2D, Dataset, Finding, IssueType, Verdict
from gtqa.spec import CompiledSpec
from gtqa.storage import (
    ClaimCapError,
    DecisionError,
    ItemKind,
    ItemStatus,
    LeaseError,
    build_review_items,
    chunk_ids,
    claim_chunk,
    claim_next,
    create_review_job,
    decide,
    expire_claims,
    extend_claim,
    finish_chunk,
    held_by,
    ingest_batch,
    item_context,
    queue_counts,
    release,
    review_item,
    skip,
)
from gtqa.storage.models import AuditRow, FindingRow, LabelRow, ReviewItemRow
from gtqa.storage.types import utcnow

Sessions = sessionmaker[Session]
DatasetFactory = Callable[..., Dataset]


def _flag(frame: str, label: str | None, score: float, type_: IssueType = IssueType.bad_box) -> Finding:
    return Finding(
        frame=frame, label=label, type=type_, score=score, box=(5, 6, 50, 60), check="boxes", message="m"
    )


def _reviewed_job(
    sessions: Sessions,
    spec: CompiledSpec,
    dataset: Dataset,
    flags: Callable[[str], list[Finding]],
    *,
    chunk_size: int = 5,
    share: float = 0.0,
    seed: int | None = None,
    stream_rate: float = 0.1,
) -> int:
    """Ingest, review every chunk with ``flags(frame_id)``, build the queue: the job id."""
    with sessions.begin() as session:
        batch = ingest_batch(session, dataset, spec)
        job = create_review_job(session, batch.id, spec_hash=spec.hash, chunk_size=chunk_size)
        for chunk in chunk_ids(session, job.id):
            lease = claim_chunk(session, chunk, "worker", lease_s=60)
            assert lease is not None
            found = [f for key in lease.frame_keys for f in flags(key)]
            finish_chunk(session, chunk, "worker", found, spec)
        build_review_items(session, job.id, spec, spot_check_share=share, seed=seed, stream_rate=stream_rate)
        return job.id


def _one_flag_per_frame(key: str) -> list[Finding]:
    return [_flag(key, f"{key}:0", score=0.1 + int(key) / 1000)]


def test_the_queue_serves_the_highest_priority_first(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    _reviewed_job(sessions, spec, make_dataset(frames=20), _one_flag_per_frame)
    with sessions() as session:
        expected = list(
            session.scalars(select(ReviewItemRow.priority).order_by(ReviewItemRow.priority.desc()))
        )
    got = []
    with sessions.begin() as session:
        while (item := claim_next(session, "alice", lease_s=60)) is not None:
            assert item == review_item(session, item.id)  # the record the claim returns is the stored one
            assert (item.status, item.claimed_by, item.label_key) == (
                ItemStatus.claimed,
                "alice",
                f"{item.frame_key}:0",
            )
            got.append(item.priority)
    assert got == expected and len(got) == 20


def test_claims_skip_the_wal_flush_unless_asked_to_be_durable(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    _reviewed_job(sessions, spec, make_dataset(frames=2), _one_flag_per_frame)
    with sessions.begin() as session:
        assert claim_next(session, "alice", lease_s=60) is not None
        if session.get_bind().dialect.name == "sqlite":  # WAL + synchronous=NORMAL: no flush per commit
            assert session.scalar(text("PRAGMA synchronous")) == 1
            return
        assert session.scalar(text("SHOW synchronous_commit")) == "off"
    with sessions.begin() as session:
        assert claim_next(session, "alice", lease_s=60, durable=True) is not None
        assert session.scalar(text("SHOW synchronous_commit")) == "on"


def test_items_are_flags_plus_a_seeded_share_of_unflagged_reviewed_labels(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    dataset = make_dataset(frames=40, labels=5, classes=("Car", "Pedestrian", "DontCare", "Cyclist", "Van"))
    job_id = _reviewed_job(sessions, spec, dataset, _one_flag_per_frame, share=0.25, seed=7)
    with sessions() as session:
        items = session.execute(
            select(ReviewItemRow.kind, ReviewItemRow.label_id, LabelRow.cls, ReviewItemRow.priority).join(
                LabelRow, LabelRow.id == ReviewItemRow.label_id
            )
        ).all()
        flagged = set(session.scalars(select(FindingRow.label_id)))
    spots = [i for i in items if i.kind == ItemKind.spot_check]
    unflagged_reviewed = sum(
        1 for lb in dataset.labels() if lb.cls != "DontCare" and not lb.id.endswith(":0")
    )
    assert sum(1 for i in items if i.kind == ItemKind.flag) == 40
    assert len(spots) == round(0.25 * unflagged_reviewed)
    assert all(i.label_id not in flagged and i.cls != "DontCare" for i in spots)
    flag_priorities = {i.priority for i in items if i.kind == ItemKind.flag}
    assert {i.priority for i in spots} <= flag_priorities  # spread through the queue like the flags

    with sessions.begin() as session:  # rebuilding is idempotent: same seed, same sample, same count
        build = build_review_items(session, job_id, spec, spot_check_share=0.25, seed=7)
        again = set(
            session.scalars(select(ReviewItemRow.label_id).where(ReviewItemRow.kind == ItemKind.spot_check))
        )
    assert (build.flags, build.spot_checks, build.removed) == (40, len(spots), 40 + len(spots))
    assert again == {i.label_id for i in spots}


def test_spot_checks_are_every_fourth_claim_from_the_first_at_a_rate_of_a_quarter(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    dataset = make_dataset(frames=40, labels=5)
    _reviewed_job(sessions, spec, dataset, _one_flag_per_frame, share=0.05, seed=3, stream_rate=0.25)
    kinds = []
    with sessions.begin() as session:
        while (item := claim_next(session, "alice", lease_s=60)) is not None:
            kinds.append(item.kind)
    spots = [i for i, kind in enumerate(kinds) if kind == ItemKind.spot_check]
    assert len(spots) == round(0.05 * 40 * 4)  # 4 unflagged labels per frame: 8 of 160
    assert spots == [3, 7, 11, 15, 19, 23, 27, 31]  # then the 16 flags left


def test_each_spot_check_stores_its_stratum_and_inclusion_probability(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    def flags(key: str) -> list[Finding]:  # one flag per frame in each band: below 2%, 2-5%, above
        return [_flag(key, f"{key}:{i}", score=s) for i, s in enumerate((0.01, 0.03, 0.4))]

    job_id = _reviewed_job(sessions, spec, make_dataset(frames=40, labels=5), flags, share=0.25, seed=5)
    with sessions() as session:
        rows = session.execute(
            select(ReviewItemRow.kind, ReviewItemRow.stratum, ReviewItemRow.inclusion_probability)
        ).all()
    sampled = Counter((kind, stratum, p) for kind, stratum, p in rows if stratum is not None)
    assert sampled == {
        (ItemKind.spot_check, "unflagged", 0.25): 20,  # 2 unflagged labels per frame: 80, a quarter
        (ItemKind.flag, "flags 0%-2%", 0.25): 10,
        (ItemKind.flag, "flags 2%-5%", 0.25): 10,
    }
    assert sum(1 for _, stratum, _ in rows if stratum is None) == 120 - 20  # the other flags
    with sessions.begin() as session:  # a rebuild keeps the sample's size
        build = build_review_items(session, job_id, spec, spot_check_share=0.25, seed=5)
    assert build.spot_checks == 40


def test_every_stratum_has_a_spot_check_among_the_first_and_unflagged_labels_come_first(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    def flags(key: str) -> list[Finding]:  # per frame: two flags in each low band, one above, no tie
        scores = (0.4, 0.01, 0.011, 0.03, 0.031)
        return [_flag(key, f"{key}:{i}", score=s + int(key) / 1e5) for i, s in enumerate(scores)]

    _reviewed_job(sessions, spec, make_dataset(frames=40, labels=6), flags, share=0.25, seed=11)
    claimed = []
    with sessions.begin() as session:
        while (item := claim_next(session, "alice", lease_s=60)) is not None:
            claimed.append(item.id)
    with sessions() as session:
        stratum = {i: s for i, s in session.execute(select(ReviewItemRow.id, ReviewItemRow.stratum))}
    sampled = [stratum[i] for i in claimed if stratum[i] is not None]
    # 40 frames of 6 labels, 5 flagged: a quarter of 40 unflagged labels and of each band's 80 flags.
    # The strata take turns, unflagged first, though each band outnumbers the unflagged labels two to one.
    assert sampled[:6] == ["unflagged", "flags 0%-2%", "flags 2%-5%"] * 2
    assert Counter(sampled) == {"unflagged": 10, "flags 0%-2%": 20, "flags 2%-5%": 20}


def test_another_seed_picks_other_spot_checks(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    dataset = make_dataset(frames=40, labels=5)
    job_id = _reviewed_job(sessions, spec, dataset, _one_flag_per_frame, share=0.1, seed=1)

    def sample(seed: int) -> set[int]:
        with sessions.begin() as session:
            build_review_items(session, job_id, spec, spot_check_share=0.1, seed=seed)
            query = select(ReviewItemRow.label_id).where(ReviewItemRow.kind == ItemKind.spot_check)
            return {i for i in session.scalars(query) if i is not None}

    assert sample(1) == sample(1)
    assert sample(1) != sample(2)


def test_fifty_concurrent_auditors_never_share_an_item_and_drain_the_queue(
    sessions: Sessions, crowd_sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    def flags(key: str) -> list[Finding]:
        return [_flag(key, f"{key}:{i}", score=0.05 + (int(key) * 3 + i) % 90 / 100) for i in range(3)]

    _reviewed_job(sessions, spec, make_dataset(frames=100, labels=3), flags, chunk_size=25)
    with sessions() as session:
        all_items = set(session.scalars(select(ReviewItemRow.id)))
    assert len(all_items) == 300
    start = threading.Barrier(50)
    claimed: dict[str, list[int]] = {f"auditor-{n}": [] for n in range(50)}
    errors: list[BaseException] = []

    def audit(name: str) -> None:
        try:
            start.wait()
            while True:
                with crowd_sessions.begin() as session:  # each auditor its own session and connection
                    item = claim_next(session, name, lease_s=60)
                if item is None:
                    return
                claimed[name].append(item.id)
                with crowd_sessions.begin() as session:
                    decide(session, item.id, name, Verdict.not_defect, seconds=1.0)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=audit, args=(name,)) for name in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    every_claim = [i for ids in claimed.values() for i in ids]
    assert len(every_claim) == len(set(every_claim))  # no item claimed twice
    assert set(every_claim) == all_items  # none lost
    with sessions() as session:
        assert queue_counts(session)[ItemStatus.decided] == 300
        assert queue_counts(session)[ItemStatus.pending] == 0
        per_item = Counter(session.scalars(select(AuditRow.item_id)))
    assert set(per_item.values()) == {1} and set(per_item) == all_items
    assert sum(1 for ids in claimed.values() if ids) > 1  # the work really was shared


def test_an_expired_claim_goes_to_the_next_auditor_and_the_late_decision_is_refused(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    _reviewed_job(sessions, spec, make_dataset(frames=1), _one_flag_per_frame)
    with sessions.begin() as session:
        first = claim_next(session, "alice", lease_s=0.5)
    assert first is not None and first.claimed_by == "alice"
    with sessions.begin() as session:
        assert claim_next(session, "bob", lease_s=60) is None  # alice holds the only item
    time.sleep(0.6)
    with sessions.begin() as session:
        second = claim_next(session, "bob", lease_s=60)
    assert second is not None and second.id == first.id and second.claimed_by == "bob"
    with sessions.begin() as session, pytest.raises(LeaseError, match="claimed by bob, not by alice"):
        decide(session, first.id, "alice", Verdict.defect)
    with sessions.begin() as session:
        audit = decide(session, first.id, "bob", Verdict.defect, seconds=12.5)
    assert (audit.auditor, audit.verdict, audit.issue_type) == ("bob", Verdict.defect, IssueType.bad_box)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditRow)) == 1


def test_lapsed_claims_are_taken_again_in_priority_order(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    scores = {"000000": 0.9, "000001": 0.5, "000002": 0.2}
    _reviewed_job(sessions, spec, make_dataset(frames=3), lambda key: [_flag(key, f"{key}:0", scores[key])])
    t0 = utcnow()
    later = t0 + timedelta(seconds=30)
    with sessions.begin() as session:
        high = claim_next(session, "alice", lease_s=10, now=t0)
        mid = claim_next(session, "carol", lease_s=10, now=t0)
        assert high is not None and mid is not None and high.priority > mid.priority
    with sessions.begin() as session:
        taken = [claim_next(session, name, lease_s=60, now=later) for name in ("bob", "dave", "erin", "fay")]
    assert [i.frame_key if i else None for i in taken] == ["000000", "000001", "000002", None]
    assert (taken[0] and taken[0].claimed_by, taken[1] and taken[1].claimed_by) == ("bob", "dave")


def test_the_sweep_returns_lapsed_claims_to_pending(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    _reviewed_job(sessions, spec, make_dataset(frames=3), _one_flag_per_frame)
    t0 = utcnow()
    with sessions.begin() as session:
        claim_next(session, "alice", lease_s=10, now=t0)
        claim_next(session, "bob", lease_s=60, now=t0)
        assert expire_claims(session, now=t0 + timedelta(seconds=5)) == 0
        assert expire_claims(session, now=t0 + timedelta(seconds=11)) == 1
        counts = queue_counts(session)
    assert (counts[ItemStatus.pending], counts[ItemStatus.claimed]) == (2, 1)


def test_a_lapsed_claim_cannot_be_decided_even_if_nobody_took_it(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    _reviewed_job(sessions, spec, make_dataset(frames=1), _one_flag_per_frame)
    t0 = utcnow()
    with sessions.begin() as session:
        item = claim_next(session, "alice", lease_s=30, now=t0)
        assert item is not None
        assert extend_claim(
            session, item.id, "alice", lease_s=30, now=t0 + timedelta(seconds=20)
        ) == t0 + timedelta(seconds=50)
        with pytest.raises(LeaseError, match="expired"):
            decide(session, item.id, "alice", Verdict.not_defect, now=t0 + timedelta(seconds=51))
        with pytest.raises(LeaseError, match="expired"):
            skip(session, item.id, "alice", now=t0 + timedelta(seconds=51))
        decide(session, item.id, "alice", Verdict.not_defect, now=t0 + timedelta(seconds=49))


def test_decisions_are_validated_and_a_refused_one_writes_nothing(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    dataset = make_dataset(frames=1)
    _reviewed_job(sessions, spec, dataset, _one_flag_per_frame)
    label = dataset.frames[0].labels[0]
    with sessions.begin() as session:
        item = claim_next(session, "alice", lease_s=60)
        assert item is not None
    refused: list[tuple[dict[str, object], type[Exception], str]] = [
        ({"auditor": "bob"}, LeaseError, "claimed by alice, not by bob"),
        ({"verdict": "maybe"}, DecisionError, "'maybe' is not a valid Verdict"),
        (
            {"verdict": Verdict.not_defect, "issue_type": IssueType.bad_box},
            DecisionError,
            "takes no issue type",
        ),
        ({"verdict": Verdict.unsure, "corrected": label}, DecisionError, "no correction"),
        ({"corrected": label.model_copy(update={"frame": "000099"})}, DecisionError, "is for frame 000099"),
        ({"corrected": label.model_copy(update={"id": "000000:7"})}, DecisionError, "must keep its id"),
        ({"seconds": -3.0}, DecisionError, "seconds"),
    ]
    for change, error, message in refused:
        args: dict[str, object] = {"auditor": "alice", "verdict": Verdict.defect, **change}
        with sessions.begin() as session, pytest.raises(error, match=message):
            decide(session, item.id, **args)  # type: ignore[arg-type]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditRow)) == 0
        assert queue_counts(session)[ItemStatus.claimed] == 1
    fixed = label.model_copy(update={"box": label.box.model_copy(update={"x2": 35.0})})
    with sessions.begin() as session:
        audit = decide(session, item.id, "alice", Verdict.defect, corrected=fixed, comment="too wide")
    assert (audit.corrected, audit.issue_type, audit.source) == (fixed, IssueType.bad_box, AuditSource.queue)
    assert (audit.frame, audit.label, audit.flag_check, audit.spec_hash) == (
        "000000",
        "000000:0",
        "boxes",
        spec.hash,
    )
    with sessions.begin() as session, pytest.raises(LeaseError, match="is decided"):
        decide(session, item.id, "alice", Verdict.defect)


def test_a_spot_checked_defect_needs_its_issue_type(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    _reviewed_job(sessions, spec, make_dataset(frames=2, labels=2), lambda key: [], share=1.0)
    with sessions.begin() as session:
        item = claim_next(session, "alice", lease_s=60)
        assert item is not None and item.kind == ItemKind.spot_check and item.label_key is not None
        assert item_context(session, item.id).finding is None
    with sessions.begin() as session, pytest.raises(DecisionError, match="needs an issue type"):
        decide(session, item.id, "alice", Verdict.defect)
    with sessions.begin() as session:
        audit = decide(session, item.id, "alice", Verdict.defect, issue_type="attribute")
    assert (audit.source, audit.issue_type, audit.label, audit.flag_check) == (
        AuditSource.spot_check,
        IssueType.attribute,
        item.label_key,
        None,
    )


def test_a_missing_object_is_audited_with_its_proposed_box(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    missing = _flag("000000", None, 0.8, IssueType.missing_object)
    _reviewed_job(sessions, spec, make_dataset(frames=1), lambda key: [missing])
    with sessions.begin() as session:
        item = claim_next(session, "alice", lease_s=60)
        assert item is not None and item.label_key is None
        context = item_context(session, item.id)
        audit = decide(session, item.id, "alice", Verdict.defect)
    assert (
        context.label is None
        and context.finding is not None
        and context.finding.type == IssueType.missing_object
    )
    assert (audit.label, audit.box, audit.issue_type) == (None, Box2D.from_seq(missing.box), missing.type)


def test_release_and_skip(sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory) -> None:
    _reviewed_job(sessions, spec, make_dataset(frames=2), _one_flag_per_frame)
    with sessions.begin() as session:
        top = claim_next(session, "alice", lease_s=60)
        assert top is not None
        with pytest.raises(LeaseError):
            release(session, top.id, "bob")
        release(session, top.id, "alice")
        again = claim_next(session, "bob", lease_s=60)
        assert again is not None and again.id == top.id
        skip(session, top.id, "bob", reason="image missing")
        nxt = claim_next(session, "bob", lease_s=60)
        assert nxt is not None and nxt.id != top.id
        release(session, nxt.id, "bob")
    with sessions() as session:
        assert queue_counts(session) == {
            ItemStatus.pending: 1,
            ItemStatus.claimed: 0,
            ItemStatus.decided: 0,
            ItemStatus.skipped: 1,
        }


def test_a_queue_can_be_claimed_per_job(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    low = _reviewed_job(
        sessions, spec, make_dataset("a", frames=3), lambda key: [_flag(key, f"{key}:0", 0.2)]
    )
    high = _reviewed_job(
        sessions, spec, make_dataset("b", frames=3), lambda key: [_flag(key, f"{key}:0", 0.9)]
    )
    with sessions.begin() as session:
        item = claim_next(session, "alice", lease_s=60, job_id=low)
        assert item is not None and item.job_id == low
        anywhere = claim_next(session, "alice", lease_s=60)
        assert anywhere is not None and anywhere.job_id == high


def test_two_claims_of_one_auditor_at_once_cannot_pass_the_cap(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    _reviewed_job(sessions, spec, make_dataset(frames=4), _one_flag_per_frame)
    second: list[object] = []

    def claim_again() -> None:
        try:
            with sessions.begin() as session:
                second.append(claim_next(session, "alice", lease_s=60, max_held=1))
        except ClaimCapError as exc:
            second.append(exc)

    racer = threading.Thread(target=claim_again)
    with sessions.begin() as session:
        assert claim_next(session, "alice", lease_s=60, max_held=1) is not None
        racer.start()  # counts while the first claim is not committed: it must wait for it
        racer.join(timeout=1.0)
    racer.join(timeout=30)
    assert len(second) == 1 and isinstance(second[0], ClaimCapError), second
    with sessions() as session:
        assert held_by(session, "alice") == 1
