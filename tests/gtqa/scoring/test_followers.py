"""Which flag leads on an object, and what that does to the queue's order and priorities."""

from __future__ import annotations

import pytest

from evals.items import review_items
from gtqa.domain import Finding, IssueType
from gtqa.scoring import mark_followers, priority, review_order
from gtqa.scoring.features import FeatureSpace, frame_context
from gtqa.scoring.priority import FOLLOWER_WEIGHT
from gtqa.spec import load_spec

Box = tuple[float, float, float, float]


def _f(
    score: float,
    box: Box,
    *,
    label: str | None = None,
    frame: str = "f",
    issue: IssueType | None = None,
    track: int | None = None,
) -> Finding:
    kind = issue or (IssueType.missing_object if label is None else IssueType.bad_box)
    return Finding(
        frame=frame, label=label, type=kind, score=score, box=box, check="c", message="m", track=track
    )


def _by_score(flags: list[Finding]) -> dict[float, bool]:
    return {f.score: f.follows for f in flags}


def test_a_weaker_flag_on_the_same_object_follows_the_stronger_one() -> None:
    # IoU of (0,0,10,10) and (2,0,12,10): 80 / 120 = 0.67; with (6,0,16,10): 40 / 160 = 0.25
    flags = [_f(0.4, (2, 0, 12, 10)), _f(0.9, (0, 0, 10, 10), label="a"), _f(0.5, (6, 0, 16, 10))]
    marked = mark_followers(flags)
    assert _by_score(marked) == {0.9: False, 0.4: True, 0.5: False}
    # leaders first, each most probable first; the follower last although it beats nothing
    assert [f.score for f in marked] == [0.9, 0.5, 0.4]
    assert marked == sorted(marked, key=review_order)


def test_only_leaders_make_followers_and_frames_are_separate() -> None:
    # b overlaps a (IoU 0.67) and follows it; c overlaps b (0.43) but a only at 0.25, so c leads
    flags = [_f(0.9, (0, 0, 10, 10)), _f(0.8, (2, 0, 12, 10)), _f(0.7, (6, 0, 16, 10))]
    assert _by_score(mark_followers(flags)) == {0.9: False, 0.8: True, 0.7: False}
    other_frame = [_f(0.9, (0, 0, 10, 10)), _f(0.8, (0, 0, 10, 10), frame="g")]
    assert not any(f.follows for f in mark_followers(other_frame))


def test_flags_on_one_label_lead_or_follow_together_and_never_follow_each_other() -> None:
    same = [
        _f(0.9, (0, 0, 10, 10), label="a"),
        _f(0.3, (0, 0, 10, 10), label="a", issue=IssueType.duplicate),
    ]
    assert not any(f.follows for f in mark_followers(same))
    behind = [*same, _f(0.95, (1, 0, 11, 10))]  # a proposal: maybe a's object, where it really is
    assert _by_score(mark_followers(behind)) == {0.95: False, 0.9: True, 0.3: True}


def test_two_labels_never_follow_each_other_however_much_they_overlap() -> None:
    # Two labelled objects each need a decision (a duplicate pair has its own flags).
    flags = [_f(0.99, (0, 0, 10, 10), label="a"), _f(0.98, (1, 0, 11, 10), label="b")]
    assert not any(f.follows for f in mark_followers(flags))
    # a proposal on both follows the stronger
    assert _by_score(mark_followers([*flags, _f(0.5, (0, 0, 11, 10))])) == {
        0.99: False,
        0.98: False,
        0.5: True,
    }


def test_a_proposal_from_a_tracks_gap_is_that_tracks_object_not_a_labels() -> None:
    # The track's object has no label in this frame, so the labels it overlaps are other objects:
    # neither follows the other, whichever is more probable.
    label = _f(0.99, (0, 0, 10, 10), label="a")
    gap = _f(0.98, (1, 0, 11, 10), track=7)
    assert not any(f.follows for f in mark_followers([label, gap]))
    stronger_gap = gap.model_copy(update={"score": 0.995})
    assert not any(f.follows for f in mark_followers([label, stronger_gap]))
    # two tracks are two objects; a detector's proposal (no identity) may still be either
    other_gap = _f(0.97, (0, 0, 10, 11), track=8)
    assert not any(f.follows for f in mark_followers([gap, other_gap]))
    detector = _f(0.5, (0, 0, 11, 10))
    assert _by_score(mark_followers([gap, detector])) == {0.98: False, 0.5: True}
    assert _by_score(mark_followers([label, gap, detector])) == {0.99: False, 0.98: False, 0.5: True}


def test_marking_again_after_new_scores_recomputes_the_leader() -> None:
    first = mark_followers([_f(0.9, (0, 0, 10, 10)), _f(0.4, (1, 0, 11, 10))])
    swapped = mark_followers(
        f.model_copy(update={"score": 0.2 if f.score == 0.9 else f.score}) for f in first
    )
    assert _by_score(swapped) == {0.4: False, 0.2: True}


def test_a_follower_keeps_its_probability_but_queues_behind_leaders() -> None:
    spec = load_spec()
    lead, follower = mark_followers([_f(0.9, (0, 0, 10, 10)), _f(0.8, (1, 0, 11, 10))])
    assert follower.follows and follower.score == 0.8
    ratio = priority(follower, spec) / (0.8 * spec.severity(follower.type, None).weight)
    assert ratio == pytest.approx(FOLLOWER_WEIGHT)
    assert priority(follower, spec) < priority(lead, spec)


def test_review_items_rank_followers_after_every_leader() -> None:
    flags = mark_followers(
        [_f(0.9, (0, 0, 10, 10)), _f(0.8, (1, 0, 11, 10)), _f(0.1, (50, 0, 60, 10), label="z")]
    )
    items = review_items(flags)
    assert [(i.score, i.follows) for i in items] == [(0.9, False), (0.1, False), (0.8, True)]


def test_context_features_see_the_stronger_flag_on_another_object() -> None:
    flags = [
        _f(0.9, (0, 0, 10, 10), label="a"),
        _f(0.4, (2, 0, 12, 10)),  # IoU 0.67 with a's box
        _f(0.6, (100, 0, 110, 10)),  # alone
        _f(0.2, (0, 0, 10, 10), label="a", issue=IssueType.duplicate),  # a's own flag: not another object
    ]
    ctx = frame_context(flags)
    assert ctx[1]["ctx.shadow_iou"] == pytest.approx(80 / 120)
    assert ctx[1]["ctx.shadow_label_iou"] == pytest.approx(80 / 120)
    assert ctx[0]["ctx.shadow_iou"] == 0.0
    assert ctx[2] == {**ctx[2], "ctx.shadow_iou": 0.0, "ctx.overlapping": 0.0}
    # its own label's stronger flag (IoU 1) does not shadow it; the stronger proposal does
    assert ctx[3]["ctx.shadow_iou"] == pytest.approx(80 / 120)
    assert ctx[3]["ctx.shadow_label_iou"] == 0.0
    assert ctx[3]["ctx.overlapping"] == 1.0  # the proposal
    assert all(c["ctx.frame_flags"] == 4.0 and c["ctx.frame_strong"] == 2.0 for c in ctx)


def test_context_features_come_from_the_whole_frame_not_the_rows_asked_for() -> None:
    flags = [_f(0.9, (0, 0, 10, 10), label="a"), _f(0.4, (2, 0, 12, 10))]
    space = FeatureSpace.fit(flags, min_count=1)
    column = space.names.index("ctx.shadow_iou")
    assert space.matrix(flags)[1, column] == pytest.approx(80 / 120)
    assert space.matrix(flags[1:])[0, column] == 0.0  # alone, nothing shadows it
