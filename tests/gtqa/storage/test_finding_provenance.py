"""A stored finding comes back whole: the judge's opinion, the proposed box and the class survive the
database (the auditor's page shows them; the ops dashboard sums the judge's cost per batch)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gtqa.domain import Dataset, Finding, IssueType, JudgeOpinion
from gtqa.spec import CompiledSpec
from gtqa.storage import chunk_findings, chunk_ids, claim_chunk, create_review_job, finish_chunk, ingest_batch
from gtqa.storage.models import FindingRow

OPINION = JudgeOpinion(
    verdict="defect", confidence=0.8, reasoning="the box stops at the mirror", model="m",
    prompt_id="review-flag", prompt_version=1, prompt_tokens=900, completion_tokens=80, cost_usd=0.0012,
)  # fmt: skip


def _finding(frame: str, label: str | None, opinion: JudgeOpinion | None) -> Finding:
    return Finding(
        frame=frame, label=label, type=IssueType.bad_box if label else IssueType.missing_object, score=0.7,
        box=(5, 6, 50, 60), check="boxes", message="m", cls="Car", proposed_box=(4.5, 6, 52, 61),
        heuristic_score=0.55, judge=opinion, needs_human=opinion is None, follows=label is None,
        track=None if label else 7,
    )  # fmt: skip


def test_judge_opinion_proposed_box_and_class_round_trip(
    sessions: sessionmaker[Session], spec: CompiledSpec, make_dataset: Callable[..., Dataset]
) -> None:
    cached = OPINION.model_copy(update={"cached": True})
    found = [_finding("000000", "000000:0", OPINION), _finding("000000", None, cached)]
    found.append(_finding("000000", "000000:1", None))
    with sessions.begin() as session:
        batch = ingest_batch(session, make_dataset(frames=1), spec)
        job = create_review_job(session, batch.id, spec_hash=spec.hash, chunk_size=5)
        (chunk,) = chunk_ids(session, job.id)
        assert claim_chunk(session, chunk, "w", lease_s=60) is not None
        finish_chunk(session, chunk, "w", found, spec)
        back = {(f.label, f.judge is not None): f for f in chunk_findings(session, chunk)}
        paid = dict(session.execute(select(FindingRow.label_key, FindingRow.judge_cost_usd)).all())
    judged = back[("000000:0", True)]
    assert judged.judge == OPINION and judged.proposed_box == (4.5, 6, 52, 61)
    assert (judged.cls, judged.heuristic_score, judged.needs_human) == ("Car", 0.55, False)
    assert back[(None, True)].judge == cached and back[("000000:1", False)].needs_human
    assert back[(None, True)].follows and not judged.follows
    assert back[(None, True)].track == 7 and judged.track is None
    # A follower's stored priority queues it behind the leaders (gtqa.scoring.priority).
    with sessions.begin() as session:
        prio = dict(session.execute(select(FindingRow.label_key, FindingRow.priority)).all())
    assert prio[None] < prio["000000:0"] / 100
    # What the review paid: the live call's cost, nothing for a cached answer, NULL when not asked.
    assert paid == {"000000:0": 0.0012, None: 0.0, "000000:1": None}
