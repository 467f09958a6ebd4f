from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gtqa.checks.geometry import min_size
from gtqa.checks.runner import chunk_scopes
from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import compute_stats
from gtqa.domain import Box2D, Finding, Frame, IssueType, Label
from gtqa.formats import load_dataset
from gtqa.spec import compile_text, load_spec


def _run(sizes: list[tuple[str, float, float]], spec_text: str | None = None) -> list[Finding]:
    spec = compile_text(spec_text) if spec_text else load_spec()
    labels = tuple(
        Label(id=f"f:{i}", frame="f", cls=cls, box=Box2D(x1=100, y1=100, x2=100 + w, y2=100 + h))
        for i, (cls, w, h) in enumerate(sizes)
    )
    frame = Frame(id="f", labels=labels)
    scope = ReviewScope(frames=(frame,), spec=spec, stats=compute_stats([frame], spec.is_reviewed))
    return min_size.CHECK.run(scope)


def test_params_come_from_the_spec_size_limits() -> None:
    params = min_size.CHECK.params_for(load_spec())
    assert params.classes["Pedestrian"].min_height_px == 10
    assert params.default.min_width_px == 3


def test_boxes_at_or_above_the_limit_pass() -> None:
    assert _run([("Pedestrian", 3, 10), ("Car", 50, 30), ("DontCare", 1, 2)]) == []


def test_a_box_below_the_limit_is_a_spec_violation() -> None:
    (finding,) = _run([("Pedestrian", 8, 6)])
    assert finding.type is IssueType.spec_violation
    assert finding.rule_ids == ("box-size",)
    assert finding.features["shortfall_height"] == pytest.approx(0.4)
    assert "below the spec's minimum 3 x 10 px" in finding.message


def test_class_limits_override_the_default() -> None:
    spec = (
        "---\nspec: t\nversion: 1\n---\n# S\n\n```rule\nid: box-size\nkind: size_limits\n"
        "default: {min_height_px: 10}\nclasses:\n  Car: {min_height_px: 40}\n```\n"
    )
    findings = _run([("Car", 50, 30), ("Pedestrian", 20, 30)], spec)
    assert [f.label for f in findings] == ["f:0"]


def test_further_below_the_limit_scores_higher() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        w = rng.uniform(5, 40)
        a, b = rng.uniform(9.0, 9.8), rng.uniform(2.0, 6.0)
        (little,), (lot,) = _run([("Pedestrian", w, a)]), _run([("Pedestrian", w, b)])
        assert lot.raw > little.raw > 0


@pytest.mark.parametrize("name", ["kitti_tracking", "kitti_object", "kitti_rechecked"])
def test_real_labels_respect_the_size_limits(shared_data: Path, name: str) -> None:
    # KITTI turns objects under ~10 px into DontCare (the smallest real box here is 15 px high).
    spec = load_spec()
    data = load_dataset(shared_data / name)
    stats = compute_stats(data.frames, spec.is_reviewed)
    findings = [f for s in chunk_scopes(data.frames, spec, stats) for f in min_size.CHECK.run(s)]
    n = sum(1 for lab in data.labels() if spec.is_reviewed(lab.cls))
    assert len(findings) <= 0.001 * n
