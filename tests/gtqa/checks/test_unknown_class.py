from __future__ import annotations

from pathlib import Path

import pytest

from gtqa.checks.geometry import unknown_class
from gtqa.checks.runner import chunk_scopes
from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import compute_stats
from gtqa.domain import Box2D, Finding, Frame, IssueType, Label
from gtqa.formats import load_dataset
from gtqa.spec import compile_text, load_spec


def _run(classes: list[str], spec_text: str | None = None) -> list[Finding]:
    spec = compile_text(spec_text) if spec_text else load_spec()
    labels = tuple(
        Label(id=f"f:{i}", frame="f", cls=c, box=Box2D(x1=10, y1=10, x2=50, y2=90))
        for i, c in enumerate(classes)
    )
    frame = Frame(id="f", labels=labels)
    scope = ReviewScope(frames=(frame,), spec=spec, stats=compute_stats([frame], spec.is_reviewed))
    return unknown_class.CHECK.run(scope)


def test_known_classes_pass() -> None:
    assert _run(["Car", "Pedestrian", "Person_sitting", "DontCare"]) == []


def test_an_unknown_class_is_flagged_listing_the_known_ones() -> None:
    (finding,) = _run(["Pedestrain"])
    assert finding.type is IssueType.spec_violation and finding.raw == 1.0
    assert "'Pedestrain' is not in the spec's taxonomy" in finding.message
    assert "Car, Van, Truck, Pedestrian" in finding.message
    assert finding.features["near_match"] == 0.0


@pytest.mark.parametrize(
    ("written", "known"),
    [("pedestrian", "Pedestrian"), ("dontcare", "DontCare"), ("Person sitting", "Person_sitting")],
)
def test_a_near_spelling_names_the_known_class(written: str, known: str) -> None:
    (finding,) = _run([written])
    assert f"did you mean {known!r}" in finding.message and finding.features["near_match"] == 1.0


def test_a_spec_without_taxonomy_checks_nothing() -> None:
    assert _run(["Anything"], "---\nspec: t\nversion: 1\n---\n# nothing\n") == []


@pytest.mark.parametrize("name", ["kitti_tracking", "kitti_object", "kitti_rechecked"])
def test_real_kitti_classes_are_all_in_the_taxonomy(shared_data: Path, name: str) -> None:
    spec = load_spec()
    data = load_dataset(shared_data / name)
    stats = compute_stats(data.frames, spec.is_reviewed)
    assert [f for s in chunk_scopes(data.frames, spec, stats) for f in unknown_class.CHECK.run(s)] == []
