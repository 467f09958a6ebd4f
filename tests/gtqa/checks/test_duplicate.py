from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gtqa.checks.geometry import duplicate
from gtqa.checks.runner import chunk_scopes
from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import compute_stats
from gtqa.domain import Box2D, Cuboid3D, Finding, Frame, IssueType, Label
from gtqa.domain.boxes import iou_matrix
from gtqa.formats import load_dataset
from gtqa.spec import load_spec

Box = tuple[float, float, float, float]


def _label(
    i: int, box: Box, cls: str = "Pedestrian", x: float | None = None, track: int | None = None
) -> Label:
    cuboid = None if x is None else Cuboid3D(h=1.75, w=0.75, l=0.9, x=x, y=1.6, z=15.0, rotation_y=0)
    return Label(id=f"f:{i}", frame="f", cls=cls, box=Box2D.from_seq(box), cuboid=cuboid, track_id=track)


def _run(*labels: Label) -> list[Finding]:
    spec = load_spec()
    frame = Frame(id="f", labels=labels)
    scope = ReviewScope(frames=(frame,), spec=spec, stats=compute_stats([frame], spec.is_reviewed))
    return duplicate.CHECK.run(scope)


A, B = (100, 100, 150, 220), (102, 101, 152, 222)  # IoU about 0.92


def test_overlapping_labels_without_3d_are_flagged_once_on_the_later_one() -> None:
    (finding,) = _run(_label(0, A), _label(1, B))
    assert finding.label == "f:1" and finding.type is IssueType.duplicate
    assert finding.raw == pytest.approx(1.0) and "centre_distance_m" not in finding.features
    assert _run(_label(0, A), _label(1, (130, 100, 180, 220))) == []  # IoU 0.25: two objects


def test_a_pair_of_different_classes_scores_less() -> None:
    (same,) = _run(_label(0, A), _label(1, (104, 102, 154, 224)))
    (cross,) = _run(_label(0, A), _label(1, (104, 102, 154, 224), cls="Cyclist"))
    assert cross.raw == pytest.approx(0.8 * same.raw)


def test_cuboids_apart_are_two_objects_and_cuboids_together_one() -> None:
    assert _run(_label(0, A, x=0.0), _label(1, B, x=1.2)) == []  # 1.6 object widths apart
    (finding,) = _run(_label(0, A, x=0.0), _label(1, B, x=0.1))
    assert finding.raw >= 0.95 and finding.features["centre_distance_m"] == pytest.approx(0.1)
    assert "3D centres 0.10 m (0.13 object widths) apart" in finding.message


def test_the_same_track_twice_in_a_frame_is_certain() -> None:
    (dup,) = _run(_label(0, A, x=0.0, track=4), _label(1, B, x=2.0, track=4))
    assert dup.type is IssueType.duplicate and dup.raw == 1.0 and "track id 4 appears twice" in dup.message
    (switch,) = _run(_label(0, A, track=4), _label(1, (400, 100, 450, 220), track=4))
    assert switch.type is IssueType.track_id and switch.raw == 1.0
    assert _run(_label(0, A, track=4), _label(1, (400, 100, 450, 220), track=5)) == []


def test_farther_apart_in_3d_scores_lower() -> None:
    rng = np.random.default_rng(9)
    for _ in range(20):
        near, mid = rng.uniform(0.0, 0.3), rng.uniform(0.45, 0.65)  # metres apart; width 0.75 m
        (a,) = _run(_label(0, A, x=0.0), _label(1, B, x=near))
        (b,) = _run(_label(0, A, x=0.0), _label(1, B, x=mid))
        assert a.raw > b.raw > 0


def test_more_overlap_scores_higher_without_3d() -> None:
    rng = np.random.default_rng(10)
    for _ in range(20):
        small, large = rng.uniform(8, 14), rng.uniform(0, 3)  # horizontal shift in px of a 50 px wide box
        (a,) = _run(_label(0, A), _label(1, (100 + small, 100, 150 + small, 220)))
        (b,) = _run(_label(0, A), _label(1, (100 + large, 100, 150 + large, 220)))
        assert b.raw > a.raw >= 0.5


def _jittered_copy(label: Label, rng: np.random.Generator) -> Label:
    """A duplicate as a labelling tool makes one: the box nudged, the cuboid moved <= 0.3 m, a new track."""
    b, c = label.box, label.cuboid
    assert c is not None
    size = np.array([b.width, b.height, b.width, b.height])
    box = np.array(b.as_list()) + rng.uniform(-0.04, 0.04, 4) * size
    step = rng.normal(size=3)
    step *= rng.uniform(0.0, 0.3) / np.linalg.norm(step)
    cuboid = c.model_copy(update={"x": c.x + step[0], "y": c.y + step[1], "z": c.z + step[2]})
    return label.model_copy(
        update={"id": label.id + "-copy", "box": Box2D.from_seq(box), "cuboid": cuboid, "track_id": 999}
    )


def test_synthetic_duplicates_in_a_real_crowd_score_high(shared_data: Path) -> None:
    spec = load_spec()
    data = load_dataset(shared_data / "kitti_tracking")
    stats = compute_stats(data.frames, spec.is_reviewed)
    rng = np.random.default_rng(0)
    frames = [f for f in data.frames if sum(lab.cuboid is not None for lab in f.labels) >= 5]
    raws = []
    for frame in rng.choice(np.array(frames, dtype=object), 40, replace=False):
        candidates = [lab for lab in frame.labels if lab.cuboid is not None and lab.cls != "DontCare"]
        original = candidates[int(rng.integers(len(candidates)))]
        copy = _jittered_copy(original, rng)
        boxes = np.array([original.box.as_list(), copy.box.as_list()])
        assert iou_matrix(boxes, boxes)[0, 1] >= 0.7
        scope = ReviewScope(
            frames=(frame.model_copy(update={"labels": (*frame.labels, copy)}),), spec=spec, stats=stats
        )
        raws.append(max(f.raw for f in duplicate.CHECK.run(scope) if f.label == copy.id))
    assert min(raws) >= 0.8


def _real(root: Path) -> tuple[list[Finding], int]:
    spec = load_spec()
    data = load_dataset(root)
    stats = compute_stats(data.frames, spec.is_reviewed)
    findings = [f for s in chunk_scopes(data.frames, spec, stats) for f in duplicate.CHECK.run(s)]
    return findings, sum(1 for lab in data.labels() if spec.is_reviewed(lab.cls))


def test_real_crowd_pairs_at_different_depths_are_not_strong_duplicates(shared_data: Path) -> None:
    # 0016: 352 real pairs scored >= 0.5 on IoU alone; every such pair is two tracked people at least
    # 0.63 m (0.8 object widths) apart. With 3D evidence none may reach 0.5.
    findings, n = _real(shared_data / "kitti_tracking")
    assert sum(f.raw >= 0.5 for f in findings) <= 0.001 * n
    assert len(findings) <= 0.03 * n  # the weak tail of side-by-side walkers (55 measured)


def test_real_object_pedestrians_one_behind_the_other_are_not_flagged(shared_data: Path) -> None:
    # 000011: two pedestrians with IoU 0.72, 1.08 m apart in depth (occlusion 1 and 2).
    findings, _ = _real(shared_data / "kitti_object")
    assert [f for f in findings if f.frame == "000011"] == []


def test_real_rechecked_pairs_without_3d_stay_few(shared_data: Path) -> None:
    # No cuboids or tracks: IoU is the only witness; 34 of 495 pedestrians in crowds (6.9%) measured.
    findings, n = _real(shared_data / "kitti_rechecked")
    assert len(findings) <= 0.08 * n
