from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gtqa.checks.geometry import out_of_image
from gtqa.checks.runner import chunk_scopes
from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import compute_stats
from gtqa.domain import Box2D, Finding, Frame, IssueType, Label
from gtqa.formats import load_dataset
from gtqa.spec import load_spec

W, H = 1224, 370


def _label(i: int, box: tuple[float, float, float, float], cls: str = "Car") -> Label:
    return Label(id=f"f:{i}", frame="f", cls=cls, box=Box2D.from_seq(box))


def _run(
    boxes: list[tuple[float, float, float, float]], size: tuple[int, int] | None = (W, H)
) -> list[Finding]:
    spec = load_spec()
    labels = tuple(_label(i, b) for i, b in enumerate(boxes))
    frame = Frame(id="f", width=size[0] if size else None, height=size[1] if size else None, labels=labels)
    scope = ReviewScope(frames=(frame,), spec=spec, stats=compute_stats([frame], spec.is_reviewed))
    return out_of_image.CHECK.run(scope)


def test_box_inside_or_within_tolerance_is_not_flagged() -> None:
    assert _run([(0, 100, 200, 200), (1100, 150, W - 1, H - 1), (1100, 150, W + 0.5, H + 0.5)]) == []


def test_box_past_the_right_edge_is_a_bad_box_naming_the_edge() -> None:
    (finding,) = _run([(1100, 150, W - 1 + 20, 250)])
    assert finding.type is IssueType.bad_box
    assert "right edge" in finding.message and "1224x370" in finding.message
    assert finding.features["overshoot_px"] == pytest.approx(20)
    assert finding.features["outside_share"] == pytest.approx(20 / 143)
    assert finding.rule_ids == ("box-size",)


def test_unknown_image_size_skips_the_frame() -> None:
    assert _run([(1100, 150, 5000, 250)], size=None) == []


def test_dontcare_and_degenerate_boxes_are_not_its_business() -> None:
    spec = load_spec()
    labels = (_label(0, (1100, 150, 1400, 250), cls="DontCare"), _label(1, (1300, 150, 1300, 250)))
    frame = Frame(id="f", width=W, height=H, labels=labels)
    scope = ReviewScope(frames=(frame,), spec=spec, stats=compute_stats([frame], spec.is_reviewed))
    assert out_of_image.CHECK.run(scope) == []


def test_more_of_the_box_outside_scores_higher() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        x1, w = rng.uniform(0, 900), rng.uniform(40, 200)
        y1, h = rng.uniform(0, 200), rng.uniform(30, 150)
        little, lot = rng.uniform(0.08, 0.15), rng.uniform(0.3, 0.6)
        shifted = [(W - 1 - w * (1 - s), y1, W - 1 + w * s, y1 + h) for s in (little, lot)]
        (a,), (b,) = _run([shifted[0]]), _run([shifted[1]])
        assert b.raw > a.raw > 0
        assert _run([(x1, y1, x1 + w, y1 + h)]) == []


def _real(root: Path) -> tuple[list[Finding], int]:
    spec = load_spec()
    data = load_dataset(root)
    stats = compute_stats(data.frames, spec.is_reviewed)
    findings = [f for s in chunk_scopes(data.frames, spec, stats) for f in out_of_image.CHECK.run(s)]
    return findings, sum(1 for lab in data.labels() if spec.is_reviewed(lab.cls))


def test_real_tracking_labels_lie_inside_their_native_size_images(shared_data: Path) -> None:
    # 0016's images are at native size and KITTI clips boxes to the image: nothing should reach past it.
    findings, n = _real(shared_data / "kitti_tracking")
    assert n > 3000 and len(findings) <= 0.001 * n


def test_real_object_flags_are_all_explained_by_the_cropped_images(shared_data: Path) -> None:
    # SOURCE-images-labels.md: images were cropped to 1224x370 after labelling, so labels of natively
    # larger frames reach x=1241 / y=374. Every flag must be one of those, and weak (< 25% outside).
    findings, n = _real(shared_data / "kitti_object")
    assert len(findings) <= 0.15 * n
    cropped = {"000001", "000002", "000008", "000010", "000011", "000015", "000025"}
    for f in findings:
        assert f.frame in cropped
        assert f.box[2] <= 1241 and f.box[3] <= 374 and f.raw < 0.5
