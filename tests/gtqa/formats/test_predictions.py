"""Detector outputs: the real sources, score normalisation, and the layouts recognised."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from gtqa.domain import InputFormatError, InputProblem
from gtqa.formats import load_dataset
from gtqa.formats.predictions import read_predictions

RESULT = "Pedestrian -1 -1 -10 450.04 176.42 470.08 217.96 -1 -1 -1 -1000 -1000 -1000 -10 {score}"


def test_box2d_list_gives_the_predictions_of_the_dataset_frames_only(shared_data: Path) -> None:
    root = shared_data / "kitti_object"
    dataset = load_dataset(root, predictions=[root / "predictions" / "box2d.list"])
    assert dataset.problems == ()
    preds = [p for f in dataset.frames for p in f.predictions]
    assert len(preds) == 105 and {p.detector for p in preds} == {"box2d"}
    car = dataset.frame("000001").predictions[1]
    assert (car.cls, car.score, car.box.as_list()) == ("Car", 0.998467, [389.0, 181.0, 424.0, 202.0])
    assert car.source is not None and car.source.line == 3


def test_pointrcnn_logits_are_mapped_to_probabilities(shared_data: Path) -> None:
    root = shared_data / "kitti_tracking"
    dataset = load_dataset(root, predictions=[root / "detections"])
    assert dataset.problems == ()
    preds = [p for f in dataset.frames for p in f.predictions]
    assert Counter(p.cls for p in preds) == {"Car": 1458, "Pedestrian": 1562, "Cyclist": 713}
    assert any(p.raw_score < 0 for p in preds) and all(0.0 < p.score < 1.0 for p in preds)
    assert all(p.cuboid is not None for p in preds)
    ranked = sorted(preds, key=lambda p: p.raw_score)
    assert [p.score for p in ranked] == sorted(p.score for p in preds)  # the mapping keeps the order


def test_kitti_result_files_of_the_rechecked_frames(shared_data: Path) -> None:
    root = shared_data / "kitti_rechecked"
    dataset = load_dataset(root, predictions=[root / "pred_2"])
    assert dataset.problems == ()
    assert sum(len(f.predictions) for f in dataset.frames) == 2520


def test_a_single_kitti_result_file_is_a_source(tmp_path: Path) -> None:
    path = tmp_path / "000549.txt"
    path.write_text(RESULT.format(score=0.25) + "\n" + RESULT.format(score=0.5) + "\n")
    problems: list[InputProblem] = []
    preds = read_predictions(path, problems)
    assert problems == [] and [(p.frame, p.score) for p in preds] == [("000549", 0.25), ("000549", 0.5)]


def test_an_empty_csv_is_a_detector_that_found_nothing(tmp_path: Path) -> None:
    path = tmp_path / "0000.csv"
    path.write_text("")
    problems: list[InputProblem] = []
    assert read_predictions(path, problems) == [] and problems == []


@pytest.mark.parametrize("name", ["nope.list", "model.onnx"])
def test_a_source_gtqa_does_not_know_is_an_error_naming_it(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".onnx"):
        path.write_bytes(b"\x08\x01")
    with pytest.raises(InputFormatError) as caught:
        read_predictions(path, [])
    expected = "not a prediction file" if path.exists() else "no such file or folder"
    assert caught.value.problem.path == str(path) and expected in str(caught.value)


def test_predictions_that_name_no_frame_are_counted_and_explained(tmp_path: Path) -> None:
    box = {"x1": 1, "y1": 2, "x2": 30, "y2": 40}
    labels = [{"name": "a.jpg", "labels": [{"id": "1", "category": "car", "box2d": box}]}]
    preds = [
        {"name": f"cam0-{n}.jpg", "labels": [{"id": "1", "category": "car", "box2d": box, "score": 0.9}]}
        for n in ("a", "b")
    ] + [{"name": "a.jpg", "labels": [{"id": "2", "category": "car", "box2d": box, "score": 0.8}]}]
    (tmp_path / "gt.json").write_text(json.dumps(labels))
    (tmp_path / "dets.json").write_text(json.dumps(preds))
    dataset = load_dataset(tmp_path / "gt.json", "bdd", [tmp_path / "dets.json"])
    assert len(dataset.frames[0].predictions) == 1
    (problem,) = dataset.problems
    assert problem.count == 2 and dataset.dropped() == {"prediction": 2}
    assert problem.message.startswith("2 of 3 predictions name no frame of the dataset")
    assert "'cam0-a'" in problem.message and "'a'" in problem.message
