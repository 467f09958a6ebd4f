"""The track and 3D views of the review page (api.ui.scene), without a server or a browser, on the real
KITTI tracking sequence 0016 and the KITTI object frames with a calibration."""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

from api.ui.scene import NEIGHBOURS, field_of_view, scene_view, track_view
from gtqa.domain import Dataset
from gtqa.domain.boxes import iou
from gtqa.formats import load_dataset


@cache
def _data(root: Path, name: str, fmt: str) -> Dataset:
    return load_dataset(root / name, fmt)


def test_a_tracked_label_shows_its_whole_track_and_the_frames_around_it(shared_data: Path) -> None:
    data = _data(shared_data, "kitti_tracking", "kitti-tracking")
    frame = data.frames[len(data.frames) // 2]
    label = next(lb for lb in frame.labels if lb.track_id is not None and lb.cls != "DontCare")
    track = [(f.id, f.index, lb) for f in data.frames for lb in f.labels if lb.track_id == label.track_id]
    view = track_view(track[::-1], data.frames, label, frame)
    assert view is not None and view.track_id == label.track_id
    own = [lb for f in data.frames for lb in f.labels if lb.track_id == label.track_id]
    assert len(view.points) == len(own), "every frame of the track"
    indices = [p.index for p in view.points]
    assert indices == sorted(indices) and frame.index in indices
    offsets = [n.offset for n in view.neighbours]
    assert offsets == sorted(offsets) and min(offsets) >= -NEIGHBOURS and max(offsets) <= NEIGHBOURS
    assert len(offsets) == 2 * NEIGHBOURS + 1, "the middle of a long sequence has all its neighbours"
    here = next(n for n in view.neighbours if n.offset == 0)
    assert here.box == (label.box.x1, label.box.y1, label.box.x2, label.box.y2)
    assert len(here.others) == len(frame.labels) - 1


def test_a_label_without_a_track_has_no_track_view(shared_data: Path) -> None:
    data = _data(shared_data, "kitti_object", "kitti")
    frame = data.frames[0]
    assert track_view([], data.frames, frame.labels[0], frame) is None


def test_the_flagged_cuboid_is_projected_where_its_2d_box_is(shared_data: Path) -> None:
    data = _data(shared_data, "kitti_object", "kitti")
    calibrated = [f for f in data.frames if f.calib is not None]
    assert calibrated, "the KITTI object data has frames with a calibration"
    checked = 0
    for frame in calibrated:
        for label in frame.labels:
            if label.cuboid is None or (label.truncation or 0) > 0.1 or label.cuboid.z < 2:
                continue
            view = scene_view(frame, label)
            assert view is not None and view.projected is not None and view.calibrated
            assert [b.flagged for b in view.boxes].count(True) == 1
            us, vs = [u for u, _ in view.projected], [v for _, v in view.projected]
            hull = (min(us), min(vs), max(us), max(vs))
            box = (label.box.x1, label.box.y1, label.box.x2, label.box.y2)
            assert iou(hull, box) > 0.5, f"{label.id}: the cuboid projects away from its 2D box"
            checked += 1
    assert checked >= 3


def test_the_field_of_view_comes_from_the_calibration(shared_data: Path) -> None:
    data = _data(shared_data, "kitti_object", "kitti")
    with_calib = next(f for f in data.frames if f.calib is not None)
    left, right = field_of_view(with_calib)
    assert 60 < math.degrees(left + right) < 100, "KITTI's colour camera sees about 80 degrees"
    without = next(f for f in data.frames if f.calib is None)
    view = scene_view(without, without.labels[0])
    assert view is not None and view.projected is None and not view.calibrated
