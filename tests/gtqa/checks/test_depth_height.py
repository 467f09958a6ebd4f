from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import DatasetStats, compute_stats
from gtqa.checks.three_d import depth_height
from gtqa.domain import Box2D, Cuboid3D, Dataset, Finding, Frame, IssueType, Label
from gtqa.formats import load_dataset
from gtqa.spec import load_spec

SPEC = load_spec()
FOCAL = 700.0
PED = Cuboid3D(h=1.75, w=0.7, l=0.9, x=1.0, y=1.7, z=14.0, rotation_y=0.5)


def _box(cuboid: Cuboid3D, scale: float = 1.0, top: float = 150.0) -> tuple[float, ...]:
    c = cuboid.corners()
    expected = FOCAL * np.ptp(c[:, 1] / c[:, 2])  # about focal x h / z, plus the faces' perspective
    return (600.0, top, 640.0, top + expected * scale)


def _run(*labels: Label, focal: float | None = FOCAL) -> dict[str, Finding]:
    frame = Frame(id="f", width=1224, height=370, labels=labels)
    stats = compute_stats([frame], SPEC.is_reviewed).model_copy(update={"focal_px": focal})
    assert isinstance(stats, DatasetStats)
    scope = ReviewScope(frames=(frame,), spec=SPEC, stats=stats)
    return {f.label: f for f in depth_height.CHECK.run(scope) if f.label}


def _label(
    box: tuple[float, ...], cuboid: Cuboid3D | None = PED, truncation: float = 0.0, occlusion: int = 0
) -> Label:
    return Label(
        id="f:0",
        frame="f",
        cls="Pedestrian",
        box=Box2D.from_seq(box),
        cuboid=cuboid,
        truncation=truncation,
        occlusion=occlusion,
    )


def test_a_box_of_the_expected_height_is_clean() -> None:
    assert _run(_label(_box(PED))) == {}


def test_the_further_the_height_ratio_from_one_the_stronger() -> None:
    rng = np.random.default_rng(40)
    for _ in range(20):
        small, large = rng.uniform(1.12, 1.2), rng.uniform(1.4, 1.6)
        sign = rng.choice([-1.0, 1.0])
        raws = [_run(_label(_box(PED, s**sign)))["f:0"].raw for s in (small, large)]
        assert 0 < raws[0] < raws[1]
    (finding,) = _run(_label(_box(PED, 2.5))).values()
    assert finding.type is IssueType.geometry_3d and finding.raw == pytest.approx(1.0)
    assert (
        "box is 227 px tall but a 1.75 m tall Pedestrian at 14.0 m depth should be about 91 px"
        in finding.message
    )


def test_short_boxes_of_truncated_or_occluded_labels_count_less() -> None:
    short = _box(PED, 0.7)
    plain = _run(_label(short))["f:0"].raw
    occluded = _run(_label(short, occlusion=1))["f:0"].raw
    assert 0 < occluded < plain
    assert _run(_label(short, truncation=0.5)) == {}
    assert _run(_label((600.0, 369.0 - 40, 640.0, 369.0))) == {}  # cut by the bottom edge
    assert _run(_label(_box(PED, 1.5), truncation=0.5))["f:0"].raw == 1.0  # too tall is not explained


def test_no_focal_length_or_no_cuboid_means_no_judgement() -> None:
    assert _run(_label(_box(PED, 3.0)), focal=None) == {}
    assert _run(_label(_box(PED, 3.0), cuboid=None)) == {}


@pytest.fixture(scope="module")
def real(shared_data: Path) -> list[Dataset]:
    return [load_dataset(shared_data / "kitti_tracking"), load_dataset(shared_data / "kitti_object")]


def test_real_box_heights_fit_their_cuboids(real: list[Dataset]) -> None:
    for dataset in real:
        frames = dataset.frames
        scope = ReviewScope(frames=frames, spec=SPEC, stats=compute_stats(frames, SPEC.is_reviewed))
        found = depth_height.CHECK.run(scope)
        # Measured: boxes not cut by the image agree within 0.07 in log (start is 0.1); the cut ones are
        # not judged when short. Not one real label scores.
        assert found == []
