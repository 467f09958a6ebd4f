"""Blind items on both stacks: a second review never goes to the auditor who decided the first, its
answer never changes the label's outcome, kappa from stored pairs is the hand-computed one, and gold
answers are scored against what ops seeded."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gtqa.domain import AuditSource, Dataset, Finding, GoldAnswer, IssueType, Verdict
from gtqa.scoring.agreement import auditor_agreement, category_agreement, gold_accuracy
from gtqa.scoring.estimates import wilson
from gtqa.spec import CompiledSpec
from gtqa.storage import (
    ItemKind,
    ItemPurpose,
    NotFoundError,
    build_review_items,
    chosen_for_second_review,
    chunk_ids,
    claim_chunk,
    claim_next,
    count_decision,
    create_review_job,
    decide,
    export_audits,
    finish_chunk,
    frames_audits,
    frames_flags,
    gold_results,
    ingest_batch,
    item_context,
    label_audits,
    list_audits,
    second_reviews,
    seed_gold,
)
from gtqa.storage.models import ReviewItemRow

Sessions = sessionmaker[Session]
DatasetFactory = Callable[..., Dataset]
ALL = 1.0  # every decided item goes to a second review


def _job(sessions: Sessions, spec: CompiledSpec, dataset: Dataset, base: float = 0.1) -> int:
    """A reviewed job with one flag per frame (on its label 0, scores from ``base`` up), queued: the
    job id."""
    with sessions.begin() as session:
        batch = ingest_batch(session, dataset, spec)
        job = create_review_job(session, batch.id, spec_hash=spec.hash, chunk_size=5)
        for chunk in chunk_ids(session, job.id):
            lease = claim_chunk(session, chunk, "worker", lease_s=60)
            assert lease is not None
            found = [_flag(key, base + int(key) / 1000) for key in lease.frame_keys]
            finish_chunk(session, chunk, "worker", found, spec)
        build_review_items(session, job.id, spec, spot_check_share=0.0)
        return job.id


def _flag(frame: str, score: float) -> Finding:
    return Finding(
        frame=frame, label=f"{frame}:0", type=IssueType.bad_box, score=score, box=(5, 6, 50, 60),
        check="boxes", message="m",
    )  # fmt: skip


def _decide_next(
    session: Session, auditor: str, verdict: Verdict, issue: IssueType | None = None, share: float = ALL
) -> int:
    item = claim_next(session, auditor, lease_s=60)
    assert item is not None
    decide(session, item.id, auditor, verdict, issue_type=issue, second_review_share=share)
    return item.id


def test_the_share_chosen_is_a_reproducible_hash_of_the_item_id() -> None:
    ids = range(1, 20_001)
    chosen = [i for i in ids if chosen_for_second_review(i, 0.05)]
    assert chosen == [i for i in ids if chosen_for_second_review(i, 0.05)]
    assert 0.04 < len(chosen) / len(ids) < 0.06
    assert not any(chosen_for_second_review(i, 0.0) for i in ids)
    assert all(chosen_for_second_review(i, 1.0) for i in ids)


def test_a_second_review_never_goes_to_the_auditor_who_decided_first(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    _job(sessions, spec, make_dataset(frames=4))
    with sessions.begin() as session:
        first = _decide_next(session, "alice", Verdict.defect)
    seen = []
    with sessions.begin() as session:  # alice drains the rest: the second review is never hers
        while (item := claim_next(session, "alice", lease_s=60)) is not None:
            seen.append(item.id)
    with sessions() as session:
        second = session.scalars(select(ReviewItemRow).where(ReviewItemRow.review_of == first)).one()
        assert (second.purpose, second.blind_to, second.kind) == (
            ItemPurpose.second_review,
            "alice",
            ItemKind.flag,
        )
    assert len(seen) == 3 and second.id not in seen
    with sessions.begin() as session:
        got = claim_next(session, "bob", lease_s=60)
    assert got is not None and got.id == second.id
    with sessions() as session:
        was = item_context(session, first).item
    assert (got.frame_key, got.label_key, got.finding_id) == (was.frame_key, was.label_key, was.finding_id)


def test_a_second_review_of_a_low_ranked_job_heads_the_whole_queue(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    low = _job(sessions, spec, make_dataset(frames=3), base=0.1)
    _job(sessions, spec, make_dataset(frames=3), base=0.5)  # every flag of this job ranks higher
    with sessions.begin() as session:
        item = claim_next(session, "alice", lease_s=60, job_id=low)
        assert item is not None
        decide(session, item.id, "alice", Verdict.defect, issue_type=None, second_review_share=ALL)
    with sessions.begin() as session:  # bob works the whole queue: the second review comes first
        got = claim_next(session, "bob", lease_s=60)
    assert got is not None
    with sessions() as session:
        assert item_context(session, got.id).purpose == ItemPurpose.second_review


def test_a_lapsed_second_review_is_still_not_handed_to_the_first_auditor(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    _job(sessions, spec, make_dataset(frames=1))
    with sessions.begin() as session:
        first = _decide_next(session, "alice", Verdict.not_defect)
        second = claim_next(session, "bob", lease_s=0.0)  # bob's claim lapses at once
    assert second is not None
    with sessions.begin() as session:
        assert claim_next(session, "alice", lease_s=60) is None
        again = claim_next(session, "carol", lease_s=60)
    assert again is not None and again.id == second.id and first != second.id


def test_the_second_answer_leaves_the_labels_outcome_to_the_first(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    _job(sessions, spec, make_dataset(frames=1))
    with sessions.begin() as session:
        first = _decide_next(session, "alice", Verdict.defect, IssueType.bad_box)
        second = _decide_next(session, "bob", Verdict.not_defect)  # a second review makes none of its own
        assert item_context(session, second).purpose == ItemPurpose.second_review
        batch = item_context(session, first).item.batch_id
    with sessions() as session:
        outcome = list(export_audits(session, batch_id=batch))
        assert [(a.auditor, a.verdict, a.source) for a in outcome] == [
            ("alice", Verdict.defect, AuditSource.queue)
        ]
        history = label_audits(session, batch, "000000", "000000:0")
        assert [a.auditor for _, a in history] == ["alice"]
        blind = list_audits(session, source=AuditSource.second_review)
        assert [(a.auditor, a.verdict) for a in blind] == [("bob", Verdict.not_defect)]
        assert len(list(export_audits(session, batch_id=batch, blind=True))) == 2
        assert session.scalar(select(ReviewItemRow.id).where(ReviewItemRow.review_of == second)) is None


def test_kappa_of_stored_second_reviews_is_the_hand_computed_one(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    """alice: bad_box, bad_box, not_defect, not_defect; bob on the same items: bad_box, not_defect,
    not_defect, not_defect. p_o = 3/4; alice answers bad_box 1/2, bob 1/4, so p_e = 1/2 x 1/4 + 1/2 x 3/4
    = 1/2 and kappa = (3/4 - 1/2) / (1 - 1/2) = 1/2 for both, over n = 4 items."""
    _job(sessions, spec, make_dataset(frames=4))
    firsts = [(Verdict.defect, IssueType.bad_box)] * 2 + [(Verdict.not_defect, None)] * 2
    seconds = [(Verdict.defect, IssueType.bad_box)] + [(Verdict.not_defect, None)] * 3
    with sessions.begin() as session:
        order = [_decide_next(session, "alice", verdict, issue) for verdict, issue in firsts]
        while (item := claim_next(session, "bob", lease_s=60)) is not None:
            of = session.scalar(select(ReviewItemRow.review_of).where(ReviewItemRow.id == item.id))
            assert of is not None
            verdict, issue = seconds[order.index(of)]
            decide(session, item.id, "bob", verdict, issue_type=issue)
    with sessions() as session:
        pairs = second_reviews(session)
    assert Counter((p.first_answer, p.second_answer) for p in pairs) == Counter(
        [("bad_box", "bad_box"), ("bad_box", "not_defect"), ("not_defect", "not_defect"),
         ("not_defect", "not_defect")]
    )  # fmt: skip
    assert {p.flag_type for p in pairs} == {"bad_box"}
    kappas = auditor_agreement(pairs)
    for name in ("alice", "bob"):
        k = kappas[name]
        assert k is not None and k.value == pytest.approx(0.5) and k.n == 4 and k.low <= 0.5 <= k.high
    by_type = category_agreement(pairs, ["bad_box", "wrong_class"])
    assert set(by_type) == {"bad_box"} and by_type["bad_box"] is not None
    assert by_type["bad_box"].value == pytest.approx(0.5)


def test_gold_items_look_like_any_item_and_answers_are_scored(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    job = _job(sessions, spec, make_dataset(frames=6, labels=2))
    known = [
        GoldAnswer(
            frame="000002", label="000002:1", verdict=Verdict.defect, issue_type=IssueType.wrong_class
        ),
        GoldAnswer(frame="000003", label="000003:0", verdict=Verdict.not_defect),
    ]
    with sessions.begin() as session:
        ids = seed_gold(session, job, known, seeded_by="olga", every=1)
        contexts = [item_context(session, i) for i in ids]
    assert [c.item.kind for c in contexts] == [ItemKind.spot_check, ItemKind.flag]  # 000003:0 is flagged
    assert [c.purpose for c in contexts] == [ItemPurpose.gold] * 2
    answers = {ids[0]: (Verdict.defect, IssueType.bad_box), ids[1]: (Verdict.not_defect, None)}
    with sessions.begin() as session:
        while (item := claim_next(session, "alice", lease_s=60)) is not None:
            verdict, issue = answers.get(item.id, (Verdict.not_defect, None))
            decide(session, item.id, "alice", verdict, issue_type=issue)
    with sessions() as session:
        results = gold_results(session)
        assert sorted(r.right for r in results) == [False, True]  # the wrong type is not right
        assert {a.source for a in list_audits(session, auditor="alice")} == {
            AuditSource.queue,
            AuditSource.gold,
        }
        assert all(a.source == AuditSource.queue for a in export_audits(session))
    accuracy = gold_accuracy(1, 2)
    assert accuracy is not None and (accuracy.low, accuracy.high) == wilson(0.5, 2) and accuracy.n == 2


def test_a_gold_answer_naming_an_unknown_label_names_its_line(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    job = _job(sessions, spec, make_dataset(frames=2))
    wrong = GoldAnswer(frame="000001", label="000001:9", verdict=Verdict.defect, where="gold.csv:3")
    with sessions.begin() as session, pytest.raises(NotFoundError, match=r"gold\.csv:3: .*000001:9"):
        seed_gold(session, job, [wrong])


def test_a_rebuild_keeps_blind_items_and_the_sample_never_picks_them(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    job = _job(sessions, spec, make_dataset(frames=4), base=0.01)  # every flag in the band under 2%
    with sessions.begin() as session:
        first = _decide_next(session, "alice", Verdict.not_defect)
        gold = seed_gold(session, job, [GoldAnswer(frame="000003", label="000003:0", verdict=Verdict.defect)])
        build_review_items(session, job, spec, spot_check_share=1.0)  # samples every pending flag
    with sessions() as session:
        rows = session.scalars(select(ReviewItemRow).where(ReviewItemRow.job_id == job)).all()
        blind = {r.id: r for r in rows if r.purpose != ItemPurpose.audit}
        audit_flags = [r for r in rows if r.purpose == ItemPurpose.audit and r.kind == ItemKind.flag]
        second = [r for r in blind.values() if r.review_of == first]
        assert len(second) == 1 and gold[0] in blind and len(blind) == 2
        assert all(r.stratum is None and r.inclusion_probability is None for r in blind.values())
        assert len(audit_flags) == 4 and all(r.stratum is not None for r in audit_flags if r.id != first)
        assert [r.right for r in gold_results(session)] == []  # seeded, not yet answered


def test_the_calibration_refit_reads_each_flag_once_with_its_first_decision(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    _job(sessions, spec, make_dataset(frames=1))
    with sessions.begin() as session:
        first = _decide_next(session, "alice", Verdict.defect, IssueType.bad_box)
        second = _decide_next(session, "bob", Verdict.not_defect)
        frame = item_context(session, first).item.frame_key
        frame_id = session.scalar(select(ReviewItemRow.frame_id).where(ReviewItemRow.id == first))
        assert frame_id is not None
        assert count_decision(session, second, every=1) is None  # a blind answer triggers no refit
        assert count_decision(session, first, every=1) is not None
    with sessions() as session:
        audits = [a for batch in frames_audits(session, [frame_id]).values() for a in batch]
        flags = frames_flags(session, [frame_id])
    assert [(a.frame, a.auditor, a.verdict) for a in audits] == [(frame, "alice", Verdict.defect)]
    assert len(flags) == 1 and flags[0].item_status is not None
