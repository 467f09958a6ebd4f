"""The bird's-eye view payload of a LiDAR sweep: footprints, the flagged cuboid, points, the track path."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gtqa"))
from av2_synthetic import SyntheticLog, moving_scene, write_log

from api.ui.bev import PAGE_POINTS, bev_payload, bev_svg, lidar_view
from gtqa.checks.scope import sweep_points
from gtqa.formats.av2 import read_av2


def test_the_view_draws_every_footprint_marks_the_flagged_one_and_its_track_path(tmp_path: Path) -> None:
    points = np.random.default_rng(0).uniform(-30, 30, size=(5000, 3))
    data = read_av2(write_log(tmp_path, SyntheticLog(moving_scene(8), sweeps={3: points})))
    frame = data.frames[3]
    car = next(lab for lab in frame.labels if lab.cls == "REGULAR_VEHICLE")
    view = bev_payload(frame, car.id, data.frames, sweep_points, max_points=1000)
    assert len(view["cuboids"]) == 3 and [c["flagged"] for c in view["cuboids"]].count(True) == 1
    corners = np.array(next(c["corners"] for c in view["cuboids"] if c["flagged"]))
    assert np.allclose(corners.min(axis=0), [13 - 2.05, -0.95]) and np.allclose(
        corners.max(axis=0), [13 + 2.05, 0.95]
    )
    assert len(view["points"]) == 1000
    path = view["path"]
    assert [round(p["x"], 6) for p in path] == [10.0 + s for s in range(8)]  # the car drives 1 m a sweep
    assert [p["flagged"] for p in path].index(True) == 3
    svg = bev_svg(view)
    assert svg.count("<polygon") == 3 and f'data-label="{car.id}"' in svg and 'data-role="track"' in svg


def test_a_sweep_without_points_draws_the_cuboids_alone(tmp_path: Path) -> None:
    data = read_av2(write_log(tmp_path, SyntheticLog(moving_scene(3))))
    view = bev_payload(data.frames[0], None, data.frames, sweep_points)
    assert view["points"] == [] and view["path"] == [] and len(view["cuboids"]) == 3


def test_the_page_view_rings_the_flagged_sweep_under_the_flagged_cuboid_and_escapes_ids(
    tmp_path: Path,
) -> None:
    points = np.random.default_rng(1).uniform(-30, 30, size=(20_000, 3))
    data = read_av2(write_log(tmp_path, SyntheticLog(moving_scene(6), sweeps={2: points})))
    frame = data.frames[2]
    car = next(lab for lab in frame.labels if lab.cls == "REGULAR_VEHICLE")
    odd = car.model_copy(update={"id": 'a"<b>'})
    frame = frame.model_copy(update={"labels": tuple(odd if lab is car else lab for lab in frame.labels)})
    track = [frame if f.id == frame.id else f for f in data.frames]
    view = lidar_view(frame, odd, track, sweep_points)
    assert (view.cuboids, view.points, view.path, view.flagged_cls) == (3, PAGE_POINTS, 6, "REGULAR_VEHICLE")
    svg = view.svg
    assert 'data-label="a&quot;&lt;b&gt;"' in svg and "<b>" not in svg
    assert svg.count('data-role="flagged-sweep"') == 1
    last = svg.rindex("<polygon")  # the ring under every cuboid, the flagged cuboid drawn last
    assert svg.index('data-role="flagged-sweep"') < last < svg.index('stroke="#ff3b30"')
    assert f'data-count="{PAGE_POINTS}"' in svg and "style=" not in svg  # the pages' CSP: no inline style
