from __future__ import annotations

from pathlib import Path

import pytest

from gtqa.checks.geometry import required_attributes
from gtqa.checks.runner import chunk_scopes
from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import compute_stats
from gtqa.domain import Box2D, Finding, Frame, IssueType, Label
from gtqa.domain.labels import AttributeValue
from gtqa.formats import load_dataset
from gtqa.spec import compile_text, load_spec

BDD_SPEC = (
    "---\nspec: bdd\nversion: 1\n---\n# Attributes\n\n```rule\nid: required-attributes\n"
    "kind: required_attributes\ndefault: [occluded, truncated]\nclasses:\n"
    "  traffic light: [trafficLightColor]\n  DontCare: [occluded]\n```\n"
)


def _label(cls: str, attributes: dict[str, AttributeValue]) -> Label:
    # Every label field is unknown: never a finding on its own.
    return Label(id="f:0", frame="f", cls=cls, box=Box2D(x1=0, y1=0, x2=10, y2=20), attributes=attributes)


def _run(label: Label, spec_text: str | None = None) -> list[Finding]:
    spec = compile_text(spec_text) if spec_text else load_spec()
    frame = Frame(id="f", labels=(label,))
    scope = ReviewScope(frames=(frame,), spec=spec, stats=compute_stats([frame], spec.is_reviewed))
    return required_attributes.CHECK.run(scope)


def test_kitti_requires_no_attribute_and_unknown_fields_are_never_defects() -> None:
    assert required_attributes.CHECK.params_for(load_spec()).default == ()
    assert _run(_label("Car", {})) == []


def test_a_missing_free_attribute_is_flagged_by_name() -> None:
    (finding,) = _run(_label("car", {"truncated": False}), BDD_SPEC)
    assert finding.type is IssueType.attribute and finding.raw == 1.0
    assert "lacks required attribute(s) occluded" in finding.message
    assert finding.rule_ids == ("required-attributes",)


def test_present_keys_pass_whatever_their_value() -> None:
    assert _run(_label("car", {"occluded": False, "truncated": True}), BDD_SPEC) == []


def test_class_lists_replace_the_default() -> None:
    (finding,) = _run(_label("traffic light", {"occluded": False, "truncated": False}), BDD_SPEC)
    assert "lacks required attribute(s) trafficLightColor" in finding.message


def test_dontcare_regions_are_not_reviewed() -> None:
    taxonomy = "```rule\nid: taxonomy\nkind: taxonomy\ndontcare: DontCare\nclasses: {}\n```\n\n"
    spec = BDD_SPEC.replace("# Attributes", "# Classes\n\n" + taxonomy + "# Attributes")
    assert _run(_label("DontCare", {}), spec) == []
    assert len(_run(_label("DontCare", {}), BDD_SPEC)) == 1  # without the taxonomy it is an object


@pytest.mark.parametrize("name", ["kitti_tracking", "kitti_object", "kitti_rechecked"])
def test_real_kitti_labels_have_nothing_missing(shared_data: Path, name: str) -> None:
    # kitti_rechecked writes every field as unknown (-1, -10, -1000): unknown is not missing.
    spec = load_spec()
    data = load_dataset(shared_data / name)
    stats = compute_stats(data.frames, spec.is_reviewed)
    assert [f for s in chunk_scopes(data.frames, spec, stats) for f in required_attributes.CHECK.run(s)] == []
