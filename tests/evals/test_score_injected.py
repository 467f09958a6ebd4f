"""Scoring against a manifest: a hand-made case whose numbers are worked out by hand below."""

from __future__ import annotations

import pytest

from evals.inject.manifest import Family, FamilyCount, Manifest, ManifestEntry
from evals.inject.score import Outcome, match_items, score_injected
from evals.items import review_items
from evals.ranking import average_precision, precision_at, recall_at
from gtqa.domain import Finding, IssueType

Box = tuple[float, float, float, float]


def _entry(
    id_: str,
    family: Family,
    frame: str,
    label: str | None,
    box: Box = (0, 0, 1, 1),
    related: tuple[str, ...] = (),
) -> ManifestEntry:
    return ManifestEntry(
        id=id_,
        family=family,
        issue_type=family.issue_type,
        frame=frame,
        label=label,
        box=box,
        related=related,
    )


def _flag(frame: str, label: str | None, type_: IssueType, score: float, box: Box = (0, 0, 1, 1)) -> Finding:
    return Finding(frame=frame, label=label, type=type_, score=score, box=box, check="t", message="")


ENTRIES = (
    _entry("d1", Family.shifted, "f", "f:1"),
    _entry("d2", Family.duplicate, "f", "f:5", related=("f:4",)),
    _entry("d3", Family.dropped, "f", None, box=(10, 10, 20, 30)),
    _entry("d4", Family.class_flip, "g", "g:2"),
)
MANIFEST = Manifest(
    source="/x",
    format="kitti",
    seed=0,
    rate=0.1,
    spec="kitti@0",
    n_reviewed=40,
    n_requested=4,
    families={e.family: FamilyCount(requested=1, injected=1) for e in ENTRIES},
    entries=ENTRIES,
)
FINDINGS = [
    _flag("f", "f:4", IssueType.duplicate, 0.9),  # the duplicate's original: hits d2 (related), typed
    _flag("f", "f:5", IssueType.duplicate, 0.85),  # the copy itself: d2 already found -> neutral
    _flag("x", "x:0", IssueType.bad_box, 0.8),  # false alarm
    _flag("f", None, IssueType.missing_object, 0.7, (10, 10, 20, 29)),  # IoU 0.95 with d3: hit, typed
    _flag("f", "f:1", IssueType.spurious_object, 0.6),  # hits d1, wrong type
    _flag("f", None, IssueType.missing_object, 0.5, (10, 10, 20, 30)),  # d3 again -> neutral
    _flag("y", "y:3", IssueType.attribute, 0.4),  # false alarm
    _flag("f", "f:1", IssueType.attribute, 0.3),  # collapses into the f:1 item (max 0.6)
    _flag("g", None, IssueType.missing_object, 0.2, (10, 10, 20, 30)),  # no dropped box in g: false alarm
]


def test_items_collapse_flags_per_label_and_keep_proposals_apart() -> None:
    items = review_items(FINDINGS)
    assert len(items) == 8
    f1 = next(i for i in items if i.label == "f:1")
    assert f1.score == 0.6 and f1.types == {IssueType.spurious_object, IssueType.attribute}
    assert [i.score for i in items] == sorted((i.score for i in items), reverse=True)


def test_matching_hits_neutral_and_false_alarms() -> None:
    matched = match_items(review_items(FINDINGS), ENTRIES)
    outcomes = [m.outcome for m in matched]
    H, F, N = Outcome.hit, Outcome.false_alarm, Outcome.neutral
    assert outcomes == [H, N, F, H, H, N, F, F]
    assert [m.entry.id for m in matched if m.entry] == ["d2", "d3", "d1"]
    assert [m.typed for m in matched if m.outcome == H] == [True, True, False]


def test_hand_computed_scores() -> None:
    s = score_injected(FINDINGS, MANIFEST, n_reviewed_labels=40)
    # ranked without neutral items: hit, FA, hit, hit, FA, FA
    assert (s.n_items, s.hits, s.false_alarms, s.neutral) == (8, 3, 3, 2)
    assert s.ap == pytest.approx((1 / 1 + 2 / 3 + 3 / 4) / 4)
    assert s.budgets == {"5%": 2, "10%": 4}
    assert s.recall_at == {"5%": 0.25, "10%": 0.75}
    assert s.precision_at == {"5%": 0.5, "10%": 0.75}
    assert (s.recall, s.typed_recall) == (0.75, 0.5)
    fam = {f.family: f for f in s.families}
    # shifted: own ranking drops the other families' hits -> FA, hit, FA, FA: AP 1/2
    assert fam[Family.shifted].ap == pytest.approx(0.5)
    assert fam[Family.shifted].recall_at == {"5%": 0.0, "10%": 1.0}
    assert (fam[Family.shifted].found, fam[Family.shifted].typed_found) == (1, 0)
    assert fam[Family.duplicate].ap == 1.0 and fam[Family.duplicate].recall_at == {"5%": 1.0, "10%": 1.0}
    assert fam[Family.dropped].ap == pytest.approx(0.5)
    assert fam[Family.dropped].recall_at == {"5%": 0.0, "10%": 1.0}
    assert (fam[Family.class_flip].found, fam[Family.class_flip].ap) == (0, 0.0)


def test_equal_scores_keep_file_order() -> None:
    flags = [_flag("x", "x:0", IssueType.bad_box, 0.5), _flag("f", "f:1", IssueType.bad_box, 0.5)]
    assert [m.outcome for m in match_items(review_items(flags), ENTRIES)] == [
        Outcome.false_alarm,
        Outcome.hit,
    ]


def test_metric_edges() -> None:
    assert average_precision([], 3) == 0.0 and average_precision([True], 0) == 0.0
    assert average_precision([True, True], 2) == 1.0
    assert precision_at([True], 4) == 0.25  # missing ranks count as non-hits
    assert recall_at([True, False, True], 2, 4) == 0.25
