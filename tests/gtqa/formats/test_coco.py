"""COCO instances and results: conventions, round trips, and scanning a COCO dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from cli.main import app
from gtqa.domain import Dataset, Label, ProblemLevel
from gtqa.formats import WRITERS, detect_format, load_dataset
from gtqa.formats.coco import coco_ids, read_coco, write_coco

CATEGORIES = [{"id": 1, "name": "Car", "supercategory": "vehicle"}, {"id": 3, "name": "Pedestrian"}]


def _coco(tmp_path: Path, annotations: list[dict[str, Any]], **top: Any) -> Path:
    images = [
        {"id": 11, "file_name": "000011.png", "width": 400, "height": 300, "license": 2},
        {"id": 12, "file_name": "000012.png", "width": 400, "height": 300},
    ]
    data = {"info": {"year": 2024}, "images": images, "annotations": annotations, "categories": CATEGORIES}
    path = tmp_path / "instances.json"
    path.write_text(json.dumps({**data, **top}, indent=2), encoding="utf-8")
    return path


def _ann(
    ann_id: int, image_id: int, cat: int = 1, bbox: list[float] | None = None, **extra: Any
) -> dict[str, Any]:
    return {"id": ann_id, "image_id": image_id, "category_id": cat, "bbox": bbox or [10, 20, 30, 40], **extra}


def _same_labels(a: Dataset, b: Dataset, ids: dict[str, str] | None = None) -> None:
    """Identical labels but for where they were read from (and their ids, mapped by ``ids``)."""
    mapped = {ids.get(lab.id, lab.id) if ids else lab.id: lab for lab in a.labels()}
    assert [lab.id for lab in b.labels()] == list(mapped)
    for lab in b.labels():
        assert lab.model_dump(exclude={"source", "id"}) == mapped[lab.id].model_dump(exclude={"source", "id"})


def test_images_annotations_and_categories_become_frames_and_labels(tmp_path: Path) -> None:
    path = _coco(tmp_path, [_ann(5, 11, bbox=[10.5, 20, 30, 40]), _ann(6, 12, cat=3), _ann(7, 11)])
    dataset = load_dataset(path)
    assert (dataset.format, dataset.name, dataset.problems) == ("coco", "instances", ())
    assert [(f.id, f.index, f.width, f.height, f.image) for f in dataset.frames] == [
        ("000011", 11, 400, 300, None),
        ("000012", 12, 400, 300, None),
    ]
    car = dataset.frame("000011").labels[0]
    assert (car.id, car.cls, car.box.as_list()) == ("5", "Car", [10.5, 20.0, 40.5, 60.0])
    assert car.source is not None and car.source.path == str(path) and car.source.line == 0
    assert [lab.id for lab in dataset.frame("000011").labels] == ["5", "7"]
    assert dataset.frame("000012").labels[0].cls == "Pedestrian"


def test_a_crowd_annotation_is_a_dontcare_region_keeping_its_category(tmp_path: Path) -> None:
    dataset = load_dataset(_coco(tmp_path, [_ann(1, 11, cat=3, iscrowd=1), _ann(2, 11, iscrowd=0)]))
    crowd, car = dataset.frame("000011").labels
    assert (crowd.cls, crowd.attributes) == ("DontCare", {"iscrowd": True, "category": "Pedestrian"})
    assert (car.cls, car.attributes) == ("Car", {})


def test_attributes_occlusion_and_tracks(tmp_path: Path) -> None:
    annotations = [
        _ann(1, 11, attributes={"occluded": True, "truncated": False, "rotation": 0.0, "poly": [1, 2]}),
        _ann(2, 11, track_id=4),
        _ann(3, 11, instance_id=9),
        _ann(4, 11, attributes={"track_id": 3, "keyframe": True}),
        _ann(5, 11, track_id=-1),
    ]
    dataset = load_dataset(_coco(tmp_path, annotations))
    labels = dataset.frame("000011").labels
    assert (labels[0].occlusion, labels[0].truncation) == (1, 0.0)
    assert labels[0].attributes == {"occluded": True, "truncated": False, "rotation": 0.0}
    assert [lab.track_id for lab in labels] == [None, 4, 9, 3, None]
    (warning,) = dataset.problems
    assert warning.level is ProblemLevel.warning and "not scalars, so not read: poly" in warning.message


def test_shared_file_name_stems_make_image_ids_the_frame_ids(tmp_path: Path) -> None:
    images = [{"id": 1, "file_name": "a/000001.jpg"}, {"id": 2, "file_name": "b/000001.jpg"}]
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"images": images, "annotations": [_ann(1, 2)], "categories": CATEGORIES}))
    dataset = load_dataset(path, "coco")
    assert [f.id for f in dataset.frames] == ["1", "2"] and dataset.frame("2").labels[0].frame == "2"
    (warning,) = dataset.problems
    assert (warning.line, warning.level) == (
        1,
        ProblemLevel.warning,
    ) and "share the file name stem" in warning.message


def test_video_images_are_sequence_frames(tmp_path: Path) -> None:
    images = [
        {"id": 7, "file_name": "cam/b.jpg", "video_id": 2, "frame_id": 1},
        {"id": 6, "file_name": "cam/a.jpg", "video_id": 2, "frame_id": 0},
        {"id": 9, "file_name": "x.jpg", "video_id": 5},
        {"id": 8, "file_name": "still.jpg"},
    ]
    top = {"videos": [{"id": 2, "name": "drive_17"}], "images": images, "categories": CATEGORIES}
    path = tmp_path / "vid.json"
    path.write_text(
        json.dumps({**top, "annotations": [_ann(1, 7, instance_id=3), _ann(2, 6, instance_id=3)]})
    )
    dataset = load_dataset(path, "coco")
    assert dataset.problems == ()
    assert [(f.id, f.sequence, f.index) for f in dataset.frames] == [
        ("drive_17/000000", "drive_17", 0),
        ("drive_17/000001", "drive_17", 1),
        ("5/000000", "5", 0),
        ("still", None, 8),
    ]
    assert [lab.track_id for lab in dataset.labels()] == [3, 3]


def _png(path: Path, width: int, height: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.zeros((height, width, 3), dtype=np.uint8))


def test_images_are_found_next_to_the_json_and_their_own_size_wins(tmp_path: Path) -> None:
    root = tmp_path / "coco"
    (root / "annotations").mkdir(parents=True)
    path = _coco(root / "annotations", [_ann(1, 11)])
    _png(root / "images" / "000011.png", 200, 100)
    assert detect_format(root) == "coco"
    dataset = load_dataset(root)
    assert dataset.frame("000011").image == str(root / "images" / "000011.png")
    assert (dataset.frame("000011").width, dataset.frame("000011").height) == (200, 100)
    assert dataset.frame("000012").image is None and dataset.frame("000012").width == 400
    size, missing = dataset.problems
    assert (size.path, size.level) == (str(path), ProblemLevel.warning)
    assert "size 400x300 differs from the image's 200x100" in size.message
    assert missing.message == f"images[1]: image file not found: {root / 'images' / '000012.png'}"


def test_an_annotation_id_used_twice_keeps_both_labels(tmp_path: Path) -> None:
    dataset = load_dataset(_coco(tmp_path, [_ann(4, 11), _ann(4, 12, cat=3)]))
    assert [lab.id for lab in dataset.labels()] == ["4", "4#2"]
    (warning,) = dataset.problems
    assert warning.level is ProblemLevel.warning and "annotation id 4 is used twice" in warning.message


def test_a_folder_of_files_is_one_dataset_and_an_image_in_two_files_is_one_frame(tmp_path: Path) -> None:
    _coco(tmp_path, [_ann(1, 11)])
    more = tmp_path / "more.json"
    images = [{"id": 12, "file_name": "000012.png"}, {"id": 13, "file_name": "000013.png"}]
    annotations = [_ann(2, 13), _ann(3, 12)]
    more.write_text(json.dumps({"images": images, "annotations": annotations, "categories": CATEGORIES}))
    dataset = load_dataset(tmp_path, "coco")
    assert [f.id for f in dataset.frames] == ["000011", "000012", "000013"]
    by_frame = {f.id: [lab.id for lab in f.labels] for f in dataset.frames}
    assert by_frame == {"000011": ["1"], "000012": ["3"], "000013": ["2"]}  # 3 joined its image's frame
    assert dataset.problems == ()


def test_another_image_claiming_a_frame_already_read_is_reported(tmp_path: Path) -> None:
    _coco(tmp_path, [_ann(1, 11)])
    more = tmp_path / "more.json"
    images = [{"id": 12, "file_name": "other/000012.png"}, {"id": 13, "file_name": "000013.png"}]
    annotations = [_ann(2, 13), _ann(3, 12)]
    more.write_text(json.dumps({"images": images, "annotations": annotations, "categories": CATEGORIES}))
    dataset = load_dataset(tmp_path, "coco")
    assert [f.id for f in dataset.frames] == ["000011", "000012", "000013"]
    assert [lab.id for lab in dataset.labels()] == ["1", "2"]  # 3 went with its repeated image
    (problem,) = dataset.problems
    assert (problem.path, problem.line) == (str(more), 1)
    assert problem.message == "images[0]: frame '000012' was already read: image skipped"


def test_round_trip_keeps_labels_ids_and_the_source_metadata(tmp_path: Path) -> None:
    annotations = [
        _ann(1, 11, bbox=[0.1, 0.2, 0.2, 0.4], segmentation=[[1, 2, 3, 4]], area=7.5),
        _ann(2, 11, cat=3, iscrowd=1, attributes={"occluded": False, "note": "x"}),
        _ann(3, 12, instance_id=5, attributes={"list": [1]}),
        _ann(4, 12, bbox=[10, 20, -4, 6]),
    ]
    source = _coco(tmp_path, annotations)
    dataset = read_coco(source)
    ids = write_coco(dataset, tmp_path / "out")
    assert ids == {"1": "1", "2": "2", "3": "3", "4": "4"}
    written = tmp_path / "out" / "instances.json"
    again = read_coco(written)
    _same_labels(dataset, again)
    data = json.loads(written.read_text())
    assert data["info"] == {"year": 2024} and data["categories"] == CATEGORIES
    assert data["images"][0] == {
        "id": 11,
        "file_name": "000011.png",
        "width": 400,
        "height": 300,
        "license": 2,
    }
    by_id = {a["id"]: a for a in data["annotations"]}
    assert by_id[1]["segmentation"] == [[1, 2, 3, 4]] and by_id[1]["area"] == 7.5
    assert by_id[2]["iscrowd"] == 1 and by_id[2]["category_id"] == 3
    assert by_id[2]["attributes"] == {"occluded": False, "note": "x"}
    assert by_id[3]["instance_id"] == 5 and by_id[3]["attributes"] == {"list": [1]}
    assert WRITERS["coco"] is write_coco


def test_a_corrected_box_drops_the_stale_segmentation(tmp_path: Path) -> None:
    dataset = read_coco(_coco(tmp_path, [_ann(1, 11, segmentation=[[1, 2, 3, 4]], area=7.5)]))
    (label,) = dataset.labels()
    moved = label.model_copy(update={"box": label.box.model_copy(update={"x2": 60.0})})
    frames = (dataset.frames[0].model_copy(update={"labels": (moved,)}), dataset.frames[1])
    write_coco(dataset.model_copy(update={"frames": frames}), tmp_path / "out")
    (ann,) = json.loads((tmp_path / "out" / "instances.json").read_text())["annotations"]
    assert "segmentation" not in ann and ann["bbox"] == [10.0, 20.0, 50.0, 40.0] and ann["area"] == 2000.0


def test_kitti_labels_written_as_coco_read_back_the_same(shared_data: Path, tmp_path: Path) -> None:
    kitti = load_dataset(shared_data / "kitti_object")
    ids = write_coco(kitti, tmp_path / "out")
    again = read_coco(tmp_path / "out" / "annotations.json")
    assert [f.id for f in again.frames] == [f.id for f in kitti.frames]
    assert [(f.width, f.height) for f in again.frames] == [(f.width, f.height) for f in kitti.frames]
    by_id = {ids[lab.id]: lab for lab in kitti.labels()}
    for lab in again.labels():
        before = by_id[lab.id]
        assert (lab.frame, lab.cls, lab.box) == (before.frame, before.cls, before.box)
        assert lab.occlusion == (None if before.occlusion is None else int(before.occlusion > 0))


def test_kitti_tracking_written_as_coco_keeps_sequences_and_tracks(shared_data: Path, tmp_path: Path) -> None:
    tracking = load_dataset(shared_data / "kitti_tracking")
    labelled = tracking.model_copy(update={"frames": tuple(f for f in tracking.frames if f.labels)})
    ids = write_coco(labelled, tmp_path / "out")
    again = read_coco(tmp_path / "out" / "annotations.json")
    assert again.problems == ()
    assert [f.id for f in again.frames] == [f.id for f in labelled.frames]
    tracks = {ids[lab.id]: lab.track_id for lab in labelled.labels()}
    assert {lab.id: lab.track_id for lab in again.labels()} == tracks


def test_coco_results_attach_to_frames_by_image_id(tmp_path: Path) -> None:
    path = _coco(tmp_path, [_ann(1, 11)])
    results = tmp_path / "dets.json"
    rows = [
        {"image_id": 12, "category_id": 3, "bbox": [1, 2, 3, 4], "score": 0.25},
        {"image_id": 11, "category_id": 1, "bbox": [10, 20, 30, 40], "score": 0.9},
    ]
    results.write_text(json.dumps(rows))
    dataset = load_dataset(path, "coco", [results])
    assert dataset.problems == ()
    (pred,) = dataset.frame("000012").predictions
    assert (pred.cls, pred.box.as_list(), pred.score, pred.detector) == (
        "Pedestrian",
        [1, 2, 4, 6],
        0.25,
        "dets",
    )
    assert coco_ids(path).images == {11: "000011", 12: "000012"}


@pytest.mark.parametrize("target", ["file", "folder"])
def test_scan_reads_a_coco_file_or_folder(tmp_path: Path, target: str) -> None:
    path = _coco(tmp_path, [_ann(1, 11), _ann(2, 12, bbox=[50, 50, -10, 10])])
    out = tmp_path / "f.jsonl"
    arg = path if target == "file" else tmp_path
    result = CliRunner().invoke(app, ["scan", str(arg), "--format", "coco", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert ("2", "degenerate_box") in {(r["label"], r["check"]) for r in rows}


def test_label_equality_helper_sees_a_difference(tmp_path: Path) -> None:
    dataset = read_coco(_coco(tmp_path, [_ann(1, 11)]))
    (label,) = dataset.labels()
    other: Label = label.model_copy(update={"cls": "Van"})
    changed = dataset.model_copy(
        update={"frames": (dataset.frames[0].model_copy(update={"labels": (other,)}),)}
    )
    with pytest.raises(AssertionError):
        _same_labels(dataset, changed)


def test_files_reusing_image_and_annotation_ids_are_written_as_one_consistent_file(tmp_path: Path) -> None:
    for name, file_name in (("a", "x.png"), ("b", "y.png")):
        top = {
            "images": [{"id": 1, "file_name": file_name}],
            "annotations": [_ann(1, 1)],
            "categories": CATEGORIES,
        }
        (tmp_path / f"{name}.json").write_text(json.dumps(top))
    dataset = read_coco(tmp_path)
    assert [lab.id for lab in dataset.labels()] == ["1", "1#2"]
    ids = write_coco(dataset, tmp_path / "out")
    assert ids == {"1": "1", "1#2": "2"}
    data = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert [(i["id"], i["file_name"]) for i in data["images"]] == [(1, "x.png"), (2, "y.png")]
    again = read_coco(tmp_path / "out" / "annotations.json")
    assert again.problems == ()
    assert [(lab.id, lab.frame) for lab in again.labels()] == [("1", "x"), ("2", "y")]


def _official_layout(root: Path) -> None:
    """COCO 2017's layout: one image table in every task file, boxes in instances, keypoints (which
    repeat the instances' people) and stuff, none in captions; images under ``val2017/``."""
    images = [{"id": 7, "file_name": "000000000007.jpg", "width": 40, "height": 30}]
    person = {"id": 70, "image_id": 7, "category_id": 1, "bbox": [1, 2, 10, 20], "iscrowd": 0, "area": 200}
    keypoints = {**person, "keypoints": [5, 6, 2] * 17, "num_keypoints": 17}
    car = {"id": 71, "image_id": 7, "category_id": 3, "bbox": [20, 5, 8, 6], "iscrowd": 0}
    grass = {"id": 10070, "image_id": 7, "category_id": 124, "bbox": [0, 20, 40, 10], "iscrowd": 0}
    files = {
        "captions": {"images": images, "annotations": [{"id": 1, "image_id": 7, "caption": "a car"}]},
        "instances": {
            "images": images, "annotations": [person, car],
            "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}],
        },
        "person_keypoints": {
            "images": images, "annotations": [keypoints], "categories": [{"id": 1, "name": "person"}],
        },
        "stuff": {"images": images, "annotations": [grass], "categories": [{"id": 124, "name": "grass"}]},
    }  # fmt: skip
    (root / "annotations").mkdir(parents=True)
    for task, doc in files.items():
        (root / "annotations" / f"{task}_val2017.json").write_text(json.dumps({"info": {}, **doc}))
    (root / "val2017").mkdir()
    cv2.imwrite(str(root / "val2017" / "000000000007.jpg"), np.zeros((30, 40, 3), np.uint8))


def test_the_official_annotations_folder_reads_every_task_file_for_what_it_holds(tmp_path: Path) -> None:
    _official_layout(tmp_path)
    dataset = load_dataset(tmp_path, "coco")
    (frame,) = dataset.frames
    assert sorted((lab.id, lab.cls) for lab in frame.labels) == [
        ("10070", "grass"), ("70", "person"), ("71", "car")
    ]  # fmt: skip
    sources = {lab.id: Path(lab.source.path).name for lab in frame.labels if lab.source}
    assert sources == {"70": "instances_val2017.json", "71": "instances_val2017.json",
                       "10070": "stuff_val2017.json"}  # fmt: skip
    (note,) = dataset.problems
    assert note.level is ProblemLevel.warning and Path(note.path).name == "captions_val2017.json"
    assert "none of its 1 annotations has a bbox" in note.message
    assert frame.image == str(tmp_path / "val2017" / "000000000007.jpg") and frame.width == 40
