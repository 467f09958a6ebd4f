"""BDD100K detection and Scalabel / BDD100K box-tracking JSON: conventions, round trips, scanning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from cli.main import app
from gtqa.domain import Dataset, ProblemLevel
from gtqa.formats import WRITERS, detect_format, load_dataset
from gtqa.formats.bdd import SOURCE_ID, read_bdd, write_bdd
from gtqa.formats.export.corrections import export_labels


def _label(
    ident: Any, category: str = "car", box: tuple[float, ...] = (10, 20, 40, 60), **extra: Any
) -> dict[str, Any]:
    x1, y1, x2, y2 = box
    return {"id": ident, "category": category, "box2d": {"x1": x1, "y1": y1, "x2": x2, "y2": y2}, **extra}


def _write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def _same_labels(a: Dataset, b: Dataset, ids: dict[str, str]) -> None:
    """Identical labels but for where they were read from; ``ids`` maps a's label ids to b's."""
    mapped = {ids[lab.id]: lab for lab in a.labels()}
    assert [lab.id for lab in b.labels()] == list(mapped)
    for lab in b.labels():
        assert lab.model_dump(exclude={"source", "id"}) == mapped[lab.id].model_dump(exclude={"source", "id"})


DETECTION: list[dict[str, Any]] = [
    {
        "name": "b1c66a42-6f7d68ca.jpg",
        "attributes": {"weather": "overcast", "scene": "city street"},
        "timestamp": 10000,
        "labels": [
            _label(
                "0",
                attributes={"occluded": True, "truncated": False, "trafficLightColor": "NA"},
                manualShape=True,
            ),
            _label(
                "1",
                "traffic light",
                attributes={"occluded": False, "truncated": True},
                box3d={
                    "alpha": 0.4,
                    "orientation": [0, -1.2, 0],
                    "location": [2.0, 0.9, 15.0],
                    "dimension": [1.5, 1.6, 4.0],
                },
            ),
            {
                "id": "2",
                "category": "lane",
                "poly2d": [{"vertices": [[1, 2], [3, 4]], "types": "LL", "closed": False}],
            },
        ],
    },
    {"name": "c2.jpg", "labels": [_label(3, "pedestrian", (5, 5, 9, 30))]},
    {"name": "d3.jpg", "labels": None},
]


def test_detection_frames_labels_and_attributes(tmp_path: Path) -> None:
    path = _write(tmp_path / "det_val.json", DETECTION)
    assert detect_format(path) == "bdd" and detect_format(tmp_path) == "bdd"
    dataset = load_dataset(path)
    assert [(f.id, f.sequence) for f in dataset.frames] == [
        ("b1c66a42-6f7d68ca", None),
        ("c2", None),
        ("d3", None),
    ]
    car, light = dataset.frame("b1c66a42-6f7d68ca").labels
    assert (car.id, car.cls, car.box.as_list(), car.occlusion, car.truncation) == (
        "0",
        "car",
        [10, 20, 40, 60],
        1,
        0.0,
    )
    assert car.attributes == {"occluded": True, "truncated": False, "trafficLightColor": "NA"}
    assert (light.cls, light.occlusion, light.truncation, light.alpha) == ("traffic light", 0, 1.0, 0.4)
    assert light.cuboid is not None
    # Scalabel's location is the box centre; gtqa's (KITTI's) the bottom-face centre: y + h / 2.
    assert (light.cuboid.x, light.cuboid.y, light.cuboid.z, light.cuboid.rotation_y) == (
        2.0,
        1.65,
        15.0,
        -1.2,
    )
    assert (light.cuboid.h, light.cuboid.w, light.cuboid.l) == (1.5, 1.6, 4.0)
    assert dataset.frame("c2").labels[0].id == "3" and dataset.frame("c2").labels[0].track_id is None
    (warning,) = dataset.problems
    assert (warning.path, warning.line, warning.level) == (str(path), 0, ProblemLevel.warning)
    assert warning.message == "1 labels have no box2d (lanes, areas, polygons): not read"


def test_label_ids_repeating_across_image_frames_are_qualified(tmp_path: Path) -> None:
    frames = [
        {"name": "a.jpg", "labels": [_label("0"), _label("1")]},
        {"name": "b.jpg", "labels": [_label("0"), _label(None)]},
    ]
    dataset = load_dataset(_write(tmp_path / "d.json", frames), "bdd")
    assert [lab.id for lab in dataset.labels()] == ["a:0", "a:1", "b:0", "b:#1"]
    assert [lab.attributes.get(SOURCE_ID) for lab in dataset.labels()] == ["0", "1", "0", None]


def _video(name: str, ids: list[list[Any]], **frame: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": f"{name}-{i + 1:07d}.jpg",
            "videoName": name,
            "frameIndex": i,
            "labels": [_label(x) for x in row],
            **frame,
        }
        for i, row in enumerate(ids)
    ]


def test_video_frames_track_ids_and_label_ids(tmp_path: Path) -> None:
    frames = [*_video("v1", [["00000007", "00000031"], ["00000031"]]), *_video("v2", [["b7"], ["a1", "b7"]])]
    frames.reverse()  # frames are put back in index order within their video
    dataset = load_dataset(_write(tmp_path / "track.json", frames), "bdd")
    assert dataset.problems == ()
    assert [(f.id, f.sequence, f.index) for f in dataset.frames] == [
        ("v2/000000", "v2", 0),
        ("v2/000001", "v2", 1),
        ("v1/000000", "v1", 0),
        ("v1/000001", "v1", 1),
    ]
    got = [(lab.id, lab.track_id, lab.attributes[SOURCE_ID]) for lab in dataset.labels()]
    assert got == [
        ("v2/000000:b7", 0, "b7"),  # not all numeric: order of first appearance
        ("v2/000001:a1", 1, "a1"),
        ("v2/000001:b7", 0, "b7"),
        ("v1/000000:00000007", 7, "00000007"),  # all numeric: the number itself
        ("v1/000000:00000031", 31, "00000031"),
        ("v1/000001:00000031", 31, "00000031"),
    ]


def test_an_id_twice_in_one_video_frame_keeps_both_and_warns(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.json", _video("v", [["5", "5"]]))
    dataset = load_dataset(path, "bdd")
    assert [(lab.id, lab.track_id) for lab in dataset.labels()] == [("v/000000:5", 5), ("v/000000:5#2", 5)]
    (warning,) = dataset.problems
    assert (
        warning.level is ProblemLevel.warning
        and "id '5' is used twice in frame 'v/000000'" in warning.message
    )
    lines = path.read_text().splitlines()
    assert warning.line == [i for i, line in enumerate(lines, 1) if line.strip() == '"id": "5",'][1]


def test_scalabel_dataset_object_missing_frame_index_and_repeated_frames(tmp_path: Path) -> None:
    frames = [
        {"name": "v-1.jpg", "videoName": "v", "labels": [_label("1")]},
        {"name": "v-2.jpg", "videoName": "v", "labels": [_label("1")]},
        {"name": "a.jpg", "labels": [_label("9")], "size": {"width": 64, "height": 32}},
        {"name": "a.jpg", "labels": [_label("10")]},
    ]
    data = {
        "config": {"imageSize": {"width": 1280, "height": 720}, "categories": [{"name": "car"}]},
        "frames": frames,
    }
    path = _write(tmp_path / "s.json", data)
    dataset = load_dataset(path, "bdd")
    assert [(f.id, f.width, f.height) for f in dataset.frames] == [
        ("v/000000", 1280, 720),
        ("v/000001", 1280, 720),
        ("a", 64, 32),
    ]
    assert [lab.id for lab in dataset.frame("a").labels] == ["9", "10"]
    first_a = path.read_text().splitlines().index('      "name": "a.jpg",')  # 0-based: its "{" line
    messages = [(p.level, p.message) for p in dataset.problems]
    assert messages == [
        (ProblemLevel.warning, "frames[0]: frameIndex missing: position 0 in 'v' used"),
        (ProblemLevel.warning, "frames[1]: frameIndex missing: position 1 in 'v' used"),
        (
            ProblemLevel.warning,
            f"frames[3]: frame 'a' already read at {path}:{first_a}: its labels are added to it",
        ),
    ]


def test_images_are_found_under_images_next_to_the_json(tmp_path: Path) -> None:
    frames = [*_video("v", [["1"], ["1"]]), {"name": "still.jpg", "labels": []}]
    path = _write(tmp_path / "t.json", frames)
    image = tmp_path / "images" / "v" / "v-0000001.jpg"
    image.parent.mkdir(parents=True)
    cv2.imwrite(str(image), np.zeros((30, 50, 3), dtype=np.uint8))
    dataset = load_dataset(path, "bdd")
    first, second, still = dataset.frames
    assert (first.image, first.width, first.height) == (str(image), 50, 30)
    assert second.image is None and still.image is None
    assert [p.message.split(":")[0] for p in dataset.problems] == ["[1]", "[2]"]


def test_round_trip_of_detection_json_keeps_labels_and_source_fields(tmp_path: Path) -> None:
    dataset = read_bdd(_write(tmp_path / "det_val.json", DETECTION))
    ids = write_bdd(dataset, tmp_path / "out")
    assert ids == {"0": "0", "1": "1", "3": "3"}
    written = tmp_path / "out" / "det_val.json"
    again = read_bdd(written)
    _same_labels(dataset, again, ids)
    frames = json.loads(written.read_text())
    assert frames[0]["attributes"] == DETECTION[0]["attributes"] and frames[0]["timestamp"] == 10000
    assert frames[0]["labels"][0]["manualShape"] is True
    assert frames[0]["labels"][1]["box3d"] == DETECTION[0]["labels"][1]["box3d"]
    assert WRITERS["bdd"] is write_bdd


def test_round_trip_of_tracking_json_keeps_raw_ids_and_a_corrected_track(tmp_path: Path) -> None:
    source = {
        "config": {"imageSize": {"width": 1280, "height": 720}},
        "frames": _video("v", [["a", "b"], ["a", "b"], ["b"]]),
    }
    dataset = read_bdd(_write(tmp_path / "t.json", source))
    ids = write_bdd(dataset, tmp_path / "out")
    again = read_bdd(tmp_path / "out" / "t.json")
    _same_labels(dataset, again, ids)
    assert json.loads((tmp_path / "out" / "t.json").read_text())["config"] == source["config"]
    # An auditor moves the last "b" onto track "a": it is written with a's raw id.
    last = dataset.frames[2]
    fixed = last.labels[0].model_copy(update={"track_id": 0})
    frames = (*dataset.frames[:2], last.model_copy(update={"labels": (fixed,)}))
    ids = write_bdd(dataset.model_copy(update={"frames": frames}), tmp_path / "fixed")
    assert ids["v/000002:b"] == "v/000002:a"
    assert [lab.track_id for lab in read_bdd(tmp_path / "fixed" / "t.json").frame("v/000002").labels] == [0]


def test_kitti_tracking_written_as_bdd_reads_back_the_same(shared_data: Path, tmp_path: Path) -> None:
    tracking = load_dataset(shared_data / "kitti_tracking")
    ids = write_bdd(tracking, tmp_path / "out")
    again = read_bdd(tmp_path / "out" / "labels.json")
    assert again.problems == ()
    assert [f.id for f in again.frames] == [f.id for f in tracking.frames]
    before = {ids[lab.id]: lab for lab in tracking.labels()}
    for lab in again.labels():
        old = before[lab.id]
        assert (lab.frame, lab.cls, lab.box, lab.cuboid, lab.track_id) == (
            old.frame,
            old.cls,
            old.box,
            old.cuboid,
            old.track_id,
        )
        assert lab.alpha == old.alpha


def test_bdd_predictions_attach_by_frame_id(tmp_path: Path) -> None:
    path = _write(tmp_path / "gt.json", DETECTION)
    preds = [{"name": "c2.jpg", "labels": [_label(1, "pedestrian", score=0.7), _label(2, "car", score=1.5)]}]
    dets = _write(tmp_path / "preds" / "det.json", preds)
    dataset = load_dataset(path, "bdd", [dets])
    predictions = dataset.frame("c2").predictions
    assert [(p.cls, p.raw_score, p.detector) for p in predictions] == [
        ("pedestrian", 0.7, "det"),
        ("car", 1.5, "det"),
    ]
    assert all(0 < p.score < 1 for p in predictions)  # a score above 1: the source is mapped by a logistic


@pytest.mark.parametrize("target", ["file", "folder"])
def test_scan_reads_a_bdd_file_or_folder(tmp_path: Path, target: str) -> None:
    frames = [{"name": "a.jpg", "labels": [_label("1"), _label("2", box=(50, 5, 40, 60))]}]
    path = _write(tmp_path / "data" / "det.json", frames)
    out = tmp_path / "f.jsonl"
    arg = path if target == "file" else path.parent
    result = CliRunner().invoke(app, ["scan", str(arg), "--format", "bdd", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert ("2", "degenerate_box") in {(r["label"], r["check"]) for r in rows}


def test_a_multi_sensor_scalabel_file_keeps_one_frame_per_video_frame_and_sensor(tmp_path: Path) -> None:
    """Scalabel's KITTI and Waymo converters write one frame record per camera: (video, frame, sensor)
    is a frame, so the same object seen by two cameras is neither a duplicate nor a track clash."""
    frames = [
        {**frame, "sensor": sensor, "name": f"cam{sensor}-{frame['name']}"}
        for sensor in (0, 1)
        for frame in _video("seq", [["7", "8"], ["7"]])
    ]
    dataset = load_dataset(_write(tmp_path / "multi.json", frames), "bdd")
    assert dataset.problems == ()
    assert [(f.id, f.sequence) for f in dataset.frames] == [
        ("seq@0/000000", "seq@0"), ("seq@0/000001", "seq@0"),
        ("seq@1/000000", "seq@1"), ("seq@1/000001", "seq@1"),
    ]  # fmt: skip
    assert sum(len(f.labels) for f in dataset.frames) == 6
    out = tmp_path / "out"
    export_labels(dataset, [], out)
    assert json.loads((out / "multi.json").read_text()) == frames  # all 4 frame records come back


def test_a_sensor_that_is_not_an_id_is_a_problem_of_its_frame(tmp_path: Path) -> None:
    frames = [{"name": "a.jpg", "sensor": [1], "labels": [_label("1")]}, {"name": "b.jpg", "labels": []}]
    dataset = load_dataset(_write(tmp_path / "bad.json", frames), "bdd")
    assert [f.id for f in dataset.frames] == ["b"]
    (problem,) = dataset.problems
    assert "sensor" in problem.message
