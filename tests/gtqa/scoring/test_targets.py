from __future__ import annotations

from gtqa.domain import Audit, Box2D, Finding, IssueType, Label, Verdict
from gtqa.scoring.targets import audit_targets


def _flag(
    label: str | None,
    box: tuple[float, float, float, float],
    issue: IssueType = IssueType.bad_box,
    frame: str = "f",
) -> Finding:
    return Finding(frame=frame, label=label, type=issue, score=0.5, box=box, check="c", message="")


def _audit(
    verdict: Verdict,
    *,
    label: str | None = None,
    box: tuple[float, float, float, float] | None = None,
    issue: IssueType | None = None,
    corrected: tuple[float, float, float, float] | None = None,
) -> Audit:
    fixed = (
        Label(id=label or "x", frame="f", cls="Pedestrian", box=Box2D.from_seq(corrected))
        if corrected
        else None
    )
    return Audit(
        id=f"a{label}{box}",
        frame="f",
        label=label,
        box=Box2D.from_seq(box) if box else None,
        verdict=verdict,
        issue_type=issue,
        corrected=fixed,
    )


def test_a_defect_is_credited_to_the_best_overlapping_flag_and_its_twins_are_neutral() -> None:
    truth = (100.0, 100.0, 140.0, 200.0)
    flags = [
        _flag("f:1", (110, 100, 150, 200)),  # the misfit label, IoU ~0.6 with the truth
        _flag(None, (101, 100, 141, 200), IssueType.missing_object),  # a proposal right on the truth
        _flag(None, (400, 100, 440, 200), IssueType.missing_object),  # elsewhere
    ]
    audits = [
        _audit(
            Verdict.defect, label="f:1", box=(110, 100, 150, 200), issue=IssueType.bad_box, corrected=truth
        )
    ]
    assert audit_targets(flags, audits, exhaustive_frames={"f"}) == [None, 1.0, 0.0]
    assert audit_targets(flags, audits) == [None, 1.0, None]


def test_all_flags_of_the_credited_label_share_the_target() -> None:
    flags = [_flag("f:1", (0, 0, 10, 10)), _flag("f:1", (0, 0, 10, 10), IssueType.duplicate)]
    audits = [_audit(Verdict.defect, label="f:1", box=(0, 0, 10, 10), issue=IssueType.duplicate)]
    assert audit_targets(flags, audits) == [1.0, 1.0]


def test_fine_labels_and_empty_places_are_false_alarms_and_unsure_is_ignored() -> None:
    flags = [
        _flag("f:1", (0, 0, 10, 10)),
        _flag(None, (50, 50, 60, 60), IssueType.missing_object),
        _flag("f:2", (100, 0, 110, 10)),
    ]
    audits = [
        _audit(Verdict.not_defect, label="f:1", box=(0, 0, 10, 10)),
        _audit(Verdict.not_defect, box=(50, 50, 60, 61)),
        _audit(Verdict.unsure, label="f:2", box=(100, 0, 110, 10)),
    ]
    assert audit_targets(flags, audits) == [0.0, 0.0, None]


def test_a_defect_beats_an_earlier_fine_verdict_on_another_label() -> None:
    flags = [_flag("f:1", (0, 0, 10, 10))]
    audits = [
        _audit(Verdict.not_defect, label="f:1"),
        _audit(Verdict.defect, label="f:1", box=(0, 0, 10, 10), issue=IssueType.bad_box),
    ]
    assert audit_targets(flags, audits) == [1.0]
