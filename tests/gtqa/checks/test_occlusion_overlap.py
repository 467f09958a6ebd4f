from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gtqa.checks.geometry import occlusion_overlap
from gtqa.checks.runner import chunk_scopes
from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import compute_stats
from gtqa.domain import Box2D, Cuboid3D, Finding, Frame, IssueType, Label
from gtqa.formats import load_dataset
from gtqa.spec import load_spec

Box = tuple[float, float, float, float]


def _label(i: int, box: Box, occlusion: int | None, z: float | None = None) -> Label:
    cuboid = None if z is None else Cuboid3D(h=1.5, w=1.6, l=3.9, x=0, y=1.6, z=z, rotation_y=0)
    return Label(
        id=f"f:{i}", frame="f", cls="Car", box=Box2D.from_seq(box), occlusion=occlusion, cuboid=cuboid
    )


def _run(*labels: Label) -> list[Finding]:
    spec = load_spec()
    frame = Frame(id="f", labels=labels)
    scope = ReviewScope(frames=(frame,), spec=spec, stats=compute_stats([frame], spec.is_reviewed))
    return occlusion_overlap.CHECK.run(scope)


def test_params_come_from_the_spec() -> None:
    visible = occlusion_overlap.CHECK.params_for(load_spec()).visible
    assert visible == {0: (0.75, 1.0), 1: (0.25, 0.95), 2: (0.0, 0.7)}


def test_marked_visible_but_behind_a_nearer_label_is_strong() -> None:
    target = _label(0, (100, 100, 200, 180), occlusion=0, z=30)
    front = _label(1, (60, 90, 240, 200), occlusion=0, z=10)
    (finding,) = _run(target, front)
    assert finding.label == "f:0" and finding.type is IssueType.attribute
    assert finding.raw == pytest.approx(1.0) and finding.features["visible_share"] == pytest.approx(0.0)
    assert "marked fully visible but nearer labels cover 100%" in finding.message


def test_a_farther_label_does_not_occlude() -> None:
    target = _label(0, (100, 100, 200, 180), occlusion=0, z=10)
    behind = _label(1, (60, 90, 240, 200), occlusion=2, z=30)
    assert [f.label for f in _run(target, behind)] == []


def test_without_cuboids_the_lower_box_is_nearer() -> None:
    target = _label(0, (100, 100, 200, 180), occlusion=0)
    front = _label(1, (60, 90, 240, 220), occlusion=0)  # bottom edge lower in the image
    (finding,) = _run(target, front)
    assert finding.label == "f:0"


def test_marked_occluded_with_nothing_in_front_is_weak() -> None:
    (finding,) = _run(_label(0, (100, 100, 200, 180), occlusion=2, z=20))
    assert 0 < finding.raw <= 0.3 and "may be unlabelled" in finding.message


def test_unknown_occlusion_is_never_judged_but_still_occludes() -> None:
    unknown = _label(0, (100, 100, 200, 180), occlusion=None, z=30)
    front = _label(1, (60, 90, 240, 200), occlusion=None, z=10)
    assert _run(unknown, front) == []
    target = _label(2, (100, 100, 200, 180), occlusion=0, z=30)
    assert [f.label for f in _run(target, front)] == ["f:2"]


def test_more_cover_of_a_visible_label_scores_higher() -> None:
    rng = np.random.default_rng(2)
    for _ in range(20):
        x1, y1, w, h = rng.uniform(100, 800), rng.uniform(50, 200), rng.uniform(40, 120), rng.uniform(40, 120)
        target = _label(0, (x1, y1, x1 + w, y1 + h), occlusion=0, z=30)
        found = []
        for share in (rng.uniform(0.35, 0.45), rng.uniform(0.8, 1.0)):  # covered share of the target
            # the occluder's opaque centre (60% of its width) covers the left ``share`` of the target
            ow = (share * w + 2) / occlusion_overlap.Params().occluder_width
            cx = x1 - 1 + share * w / 2
            front = _label(1, (cx - ow / 2, y1 - 5, cx + ow / 2, y1 + h + 5), occlusion=0, z=10)
            found.append(_run(target, front))
        (little,), (lot,) = found
        assert lot.raw > little.raw > 0


def _real(root: Path) -> tuple[list[Finding], int]:
    spec = load_spec()
    data = load_dataset(root)
    stats = compute_stats(data.frames, spec.is_reviewed)
    findings = [f for s in chunk_scopes(data.frames, spec, stats) for f in occlusion_overlap.CHECK.run(s)]
    return findings, sum(1 for lab in data.labels() if spec.is_reviewed(lab.cls))


def test_real_tracking_occlusion_mostly_agrees_with_the_labels_in_front(shared_data: Path) -> None:
    # Measured on 0016 (crowded, every occlusion level present): 4.8% of labels flagged, 1.6% strongly;
    # without narrowing the occluders a pedestrian standing inside a cyclist's box (frame 2, visible in
    # the image) was flagged as covered, and 24% of labels were.
    findings, n = _real(shared_data / "kitti_tracking")
    assert len(findings) <= 0.08 * n
    assert sum(f.raw >= 0.5 for f in findings) <= 0.03 * n
    imaged = {"0016/000002", "0016/000007", "0016/000012"}
    assert [f for f in findings if f.frame in imaged] == []  # checked against the images by eye


@pytest.mark.parametrize("name", ["kitti_object", "kitti_rechecked"])
def test_real_object_frames_are_rarely_flagged(shared_data: Path, name: str) -> None:
    findings, n = _real(shared_data / name)
    assert len(findings) <= 0.05 * n
