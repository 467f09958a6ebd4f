"""Review priority: probability times the severity of the defect type, raised by the object's class."""

from __future__ import annotations

import pytest

from gtqa.domain import Finding, IssueType
from gtqa.scoring import priority
from gtqa.spec import load_spec


def _flag(kind: IssueType, score: float, *, label: str | None, cls: str | None) -> Finding:
    return Finding(
        frame="f", label=label, type=kind, score=score, box=(0, 0, 10, 10), check="c", message="m", cls=cls
    )


def test_a_missing_object_weighs_as_the_class_it_was_proposed_as() -> None:
    spec = load_spec()
    pedestrian = _flag(IssueType.missing_object, 0.5, label=None, cls="Pedestrian")
    unknown = _flag(IssueType.missing_object, 0.5, label=None, cls=None)
    assert priority(pedestrian, spec) == pytest.approx(
        0.5 * spec.severity(pedestrian.type, "Pedestrian").weight
    )
    assert priority(pedestrian, spec) > priority(unknown, spec)


def test_a_missing_pedestrian_outranks_a_more_probable_minor_attribute_flag() -> None:
    spec = load_spec()
    missing = _flag(IssueType.missing_object, 0.3, label=None, cls="Pedestrian")
    attribute = _flag(IssueType.attribute, 0.6, label="a", cls="Misc")
    assert priority(missing, spec, None) > priority(attribute, spec, "Misc")


def test_the_labelled_class_the_caller_passes_wins_over_the_findings_own() -> None:
    spec = load_spec()
    flag = _flag(IssueType.bad_box, 0.5, label="a", cls="Misc")
    assert priority(flag, spec, "Pedestrian") > priority(flag, spec)
