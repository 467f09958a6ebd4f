"""Applying audits to a batch's labels (the corrected-labels export), without HTTP."""

from __future__ import annotations

from gtqa.domain import Audit, Box2D, Dataset, Frame, IssueType, Label, Verdict
from gtqa.formats.export.corrections import apply_audits


def _label(label_id: str, frame: str = "000001", cls: str = "Car") -> Label:
    return Label(id=label_id, frame=frame, cls=cls, box=Box2D(x1=0, y1=0, x2=10, y2=10))


def _dataset() -> Dataset:
    frame = Frame(id="000001", labels=(_label("000001:0"), _label("000001:1"), _label("000001:2")))
    return Dataset(name="d", format="kitti", root="/nowhere", frames=(frame,))


def _audit(audit_id: str, label: str | None, verdict: Verdict, **extra: object) -> Audit:
    return Audit(id=audit_id, frame="000001", label=label, verdict=verdict, **extra)


def test_corrections_replace_add_and_remove_labels() -> None:
    van = _label("000001:0", cls="Van")
    added = _label("000001:added-7", cls="Pedestrian")
    audits = [
        _audit("a", "000001:0", Verdict.defect, issue_type=IssueType.wrong_class, corrected=van),
        _audit("b", "000001:1", Verdict.defect, issue_type=IssueType.spurious_object),
        _audit("c", None, Verdict.defect, issue_type=IssueType.missing_object, corrected=added),
        _audit("d", "000001:2", Verdict.defect, issue_type=IssueType.bad_box),
        _audit("e", "000001:2", Verdict.not_defect),
    ]
    corrected, report = apply_audits(_dataset(), audits)
    labels = corrected.frames[0].labels
    assert [(lb.id, lb.cls) for lb in labels] == [
        ("000001:0", "Van"),
        ("000001:2", "Car"),
        ("000001:added-7", "Pedestrian"),
    ]
    assert {a.audit: a.action for a in report} == {"a": "replaced", "b": "removed", "c": "added"}


def test_the_latest_decision_on_a_label_wins() -> None:
    van, truck = _label("000001:0", cls="Van"), _label("000001:0", cls="Truck")
    audits = [
        _audit("old", "000001:0", Verdict.defect, issue_type=IssueType.wrong_class, corrected=van),
        _audit("new", "000001:0", Verdict.defect, issue_type=IssueType.wrong_class, corrected=truck),
    ]
    corrected, report = apply_audits(_dataset(), audits)
    assert corrected.frames[0].labels[0].cls == "Truck" and [a.audit for a in report] == ["new"]
    overruled = [*audits, _audit("newest", "000001:0", Verdict.not_defect)]
    corrected, report = apply_audits(_dataset(), overruled)
    assert corrected.frames[0].labels[0].cls == "Car" and report == []


def test_what_cannot_be_applied_is_reported() -> None:
    audits = [
        _audit("x", "000001:1", Verdict.defect, issue_type=IssueType.bad_box),
        Audit(
            id="y",
            frame="000099",
            label="000099:0",
            verdict=Verdict.defect,
            issue_type=IssueType.spurious_object,
        ),
    ]
    corrected, report = apply_audits(_dataset(), audits)
    assert len(corrected.frames[0].labels) == 3
    assert [(a.audit, a.action) for a in report] == [("x", "not_applied"), ("y", "not_applied")]
