"""Bad input fed to every reader: each gives a problem naming the file and the 1-based line (0 = the
whole file), or a finding from the review, and never crashes or loses the good records around it.

Review findings are asserted only for checks registered in gtqa/checks/registry.py: ``degenerate_box``
(negative sizes) always; ``unknown_class`` only when the registry has it (another engineer adds it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import main as cli
from gtqa.checks.registry import CHECKS
from gtqa.domain import Dataset, InputFormatError, InputProblem, ProblemLevel
from gtqa.formats import load_dataset
from gtqa.review import review_dataset
from gtqa.spec import load_spec

KITTI = "Car 0.00 0 -1.58 100.00 150.00 200.00 220.00 1.50 1.60 3.90 1.00 1.60 20.00 -1.50"
TRACK = "{f} 1 Pedestrian 0 0 -1.00 100.00 150.00 130.00 220.00 1.70 0.60 0.80 1.00 1.60 15.00 0.10"
BOX2D = "{f} 2 0.9 100 150 200 220"
PRCNN = "{f},2,100.0,150.0,200.0,220.0,3.5,1.5,1.6,3.9,1.0,1.6,20.0,-1.5,-1.6"
RESULT = KITTI + " 0.87"
GARBAGE = bytes(range(256)) * 8  # starts with a NUL byte, on line 1
REGISTERED = {c.id for c in CHECKS}


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _lines(*lines: str | bytes) -> bytes:
    return b"".join((x.encode("utf-8") if isinstance(x, str) else x) + b"\n" for x in lines)


def _only(problems: tuple[InputProblem, ...] | list[InputProblem]) -> InputProblem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def _at(
    problem: InputProblem, path: Path, line: int, text: str, level: ProblemLevel = ProblemLevel.error
) -> None:
    assert (problem.path, problem.line, problem.level) == (str(path), line, level), str(problem)
    assert text in problem.message, str(problem)
    assert str(problem).startswith(f"{path}:{line}: " if line else f"{path}: ")


# Line formats: the target file holds good, bad, good lines; another file or frame is good.


@dataclass(frozen=True)
class LineFormat:
    name: str
    good: Callable[[int], str]  # a good line for frame n
    field: int  # index of the x1 token
    sep: str
    build: Callable[[Path, bytes], tuple[Dataset, Path]]  # (target file content) -> (dataset, target)
    count: Callable[[Dataset], int]  # records read (labels or predictions)
    good_total: int  # records read when the bad line is skipped


def _kitti_dataset(root: Path, target: bytes) -> tuple[Dataset, Path]:
    _write(root / "label_2" / "000001.txt", _lines(KITTI, KITTI))
    bad = _write(root / "label_2" / "000002.txt", target)
    return load_dataset(root, "kitti"), bad


def _tracking_dataset(root: Path, target: bytes) -> tuple[Dataset, Path]:
    bad = _write(root / "label_02" / "0000.txt", target)
    _write(root / "label_02" / "0001.txt", _lines(TRACK.format(f=0), TRACK.format(f=1)))
    return load_dataset(root, "kitti-tracking"), bad


def _box2d_dataset(root: Path, target: bytes) -> tuple[Dataset, Path]:
    for i in range(3):
        _write(root / "data" / "label_2" / f"{i:06d}.txt", _lines(KITTI))
    bad = _write(root / "box2d.list", target)
    return load_dataset(root / "data", "kitti", [bad]), bad


def _prcnn_dataset(root: Path, target: bytes) -> tuple[Dataset, Path]:
    _write(root / "data" / "label_02" / "0000.txt", _lines(TRACK.format(f=0), TRACK.format(f=2)))
    bad = _write(root / "det" / "pointrcnn_Car_val" / "0000.txt", target)
    return load_dataset(root / "data", "kitti-tracking", [root / "det"]), bad


def _results_dataset(root: Path, target: bytes) -> tuple[Dataset, Path]:
    _write(root / "data" / "label_2" / "000001.txt", _lines(KITTI))
    _write(root / "data" / "label_2" / "000002.txt", _lines(KITTI))
    _write(root / "pred" / "000001.txt", _lines(RESULT))
    bad = _write(root / "pred" / "000002.txt", target)
    return load_dataset(root / "data", "kitti", [root / "pred"]), bad


def _labels(ds: Dataset) -> int:
    return sum(len(f.labels) for f in ds.frames)


def _preds(ds: Dataset) -> int:
    return sum(len(f.predictions) for f in ds.frames)


LINE_FORMATS = [
    LineFormat("kitti", lambda n: KITTI, 4, " ", _kitti_dataset, _labels, 4),
    LineFormat("kitti-tracking", lambda n: TRACK.format(f=n), 6, " ", _tracking_dataset, _labels, 4),
    LineFormat("box2d.list", lambda n: BOX2D.format(f=f"{n:06d}"), 3, " ", _box2d_dataset, _preds, 2),
    LineFormat("pointrcnn", lambda n: PRCNN.format(f=n), 2, ",", _prcnn_dataset, _preds, 2),
    LineFormat("kitti-results", lambda n: RESULT, 4, " ", _results_dataset, _preds, 3),
]


def _replace(fmt: LineFormat, line: str, value: bytes) -> bytes:
    tokens = line.split(fmt.sep)
    head, tail = fmt.sep.join(tokens[: fmt.field]), fmt.sep.join(tokens[fmt.field + 1 :])
    return head.encode() + fmt.sep.encode() + value + fmt.sep.encode() + tail.encode()


BAD_LINES: dict[str, tuple[Callable[[LineFormat, str], bytes], str]] = {
    "truncated": (lambda fmt, g: g[: len(g) // 2].encode(), "fields"),
    "nan": (lambda fmt, g: _replace(fmt, g, b"nan"), "not finite"),
    "inf": (lambda fmt, g: _replace(fmt, g, b"-inf"), "not finite"),
    "huge": (lambda fmt, g: _replace(fmt, g, b"1e12"), "out of range"),
    "text": (lambda fmt, g: _replace(fmt, g, b"12o.5"), "not a number"),
    "latin-1": (lambda fmt, g: _replace(fmt, g, "100\xb0".encode("latin-1")), "not UTF-8"),
    "nul": (lambda fmt, g: _replace(fmt, g, b"1\x000"), "NUL byte"),
}


@pytest.mark.parametrize("fmt", LINE_FORMATS, ids=lambda f: f.name)
@pytest.mark.parametrize("kind", sorted(BAD_LINES))
def test_a_bad_line_is_reported_at_its_line_and_the_others_are_read(
    tmp_path: Path, fmt: LineFormat, kind: str
) -> None:
    make, text = BAD_LINES[kind]
    target = _lines(fmt.good(0), make(fmt, fmt.good(1)), fmt.good(2))
    dataset, bad = fmt.build(tmp_path, target)
    _at(_only(dataset.problems), bad, 2, text)
    assert fmt.count(dataset) == fmt.good_total


@pytest.mark.parametrize("fmt", LINE_FORMATS, ids=lambda f: f.name)
def test_binary_garbage_is_one_problem_and_the_other_files_are_read(tmp_path: Path, fmt: LineFormat) -> None:
    dataset, bad = fmt.build(tmp_path, b"\n" + GARBAGE)
    _at(_only(dataset.problems), bad, 2, "binary data")
    assert fmt.count(dataset) == fmt.good_total - 2  # the two good lines of the target went with it


@pytest.mark.parametrize("fmt", LINE_FORMATS, ids=lambda f: f.name)
def test_utf16_without_a_bom_is_binary(tmp_path: Path, fmt: LineFormat) -> None:
    dataset, bad = fmt.build(tmp_path, "\n".join([fmt.good(0), fmt.good(2)]).encode("utf-16-le"))
    _at(_only(dataset.problems), bad, 1, "UTF-16 without a byte-order mark")


@pytest.mark.parametrize("fmt", LINE_FORMATS, ids=lambda f: f.name)
def test_utf16_with_a_bom_is_read_with_a_warning(tmp_path: Path, fmt: LineFormat) -> None:
    dataset, bad = fmt.build(tmp_path, "\r\n".join([fmt.good(0), "", fmt.good(2)]).encode("utf-16"))
    _at(_only(dataset.problems), bad, 0, "UTF-16 text, read as such", ProblemLevel.warning)
    assert fmt.count(dataset) == fmt.good_total


@pytest.mark.parametrize("fmt", LINE_FORMATS, ids=lambda f: f.name)
def test_an_empty_file_has_no_records_and_is_no_problem(tmp_path: Path, fmt: LineFormat) -> None:
    """An empty label file is a frame with no objects; an empty result file, a detector that found
    nothing. Neither is malformed."""
    dataset, _ = fmt.build(tmp_path, b"")
    assert dataset.problems == ()
    assert fmt.count(dataset) == fmt.good_total - 2


def test_a_utf8_bom_and_crlf_or_cr_line_ends_are_plain_text(tmp_path: Path) -> None:
    dataset, _ = _kitti_dataset(tmp_path, b"\xef\xbb\xbf" + f"{KITTI}\r{KITTI}\r\n".encode())
    assert dataset.problems == ()
    assert [lab.id for lab in dataset.frame("000002").labels] == ["000002:0", "000002:1"]


def test_a_tracking_line_with_a_non_integer_frame_or_huge_index_is_reported(tmp_path: Path) -> None:
    lines = _lines(TRACK.format(f=0), TRACK.format(f="1.5"), TRACK.format(f=10**9), TRACK.format(f=2))
    dataset, bad = _tracking_dataset(tmp_path, lines)
    first, second = dataset.problems
    _at(first, bad, 2, "must be integers")
    _at(second, bad, 3, "frame index out of range")
    assert _labels(dataset) == 4


@pytest.mark.parametrize(
    ("line", "text"), [("0 9 0.9 1 2 3 4", "unknown class id 9"), ("0 x 0.9 1 2 3 4", "not an integer")]
)
def test_box2d_list_class_ids_are_checked(tmp_path: Path, line: str, text: str) -> None:
    dataset, bad = _box2d_dataset(
        tmp_path, _lines(BOX2D.format(f="000001"), line.replace("0 ", "000002 ", 1))
    )
    _at(_only(dataset.problems), bad, 2, text)
    assert _preds(dataset) == 1


# KITTI folders: images, calibration, layout.


def _kitti_frames(root: Path, n: int = 3) -> Path:
    for i in range(1, n + 1):
        _write(root / "label_2" / f"{i:06d}.txt", _lines(KITTI))
    return root


def _png(width: int, height: int) -> bytes:
    import cv2
    import numpy as np

    ok, data = cv2.imencode(".png", np.zeros((height, width, 3), dtype=np.uint8))
    assert ok
    return bytes(data)


def test_a_missing_image_is_a_warning_and_the_frame_is_reviewed_from_labels(tmp_path: Path) -> None:
    root = _kitti_frames(tmp_path)
    _write(root / "image_2" / "000001.png", _png(40, 20))
    _write(root / "image_2" / "000003.png", _png(40, 20))
    dataset = load_dataset(root, "kitti")
    _at(_only(dataset.problems), root / "image_2" / "000002.png", 0, "image missing", ProblemLevel.warning)
    assert dataset.frame("000002").image is None and dataset.frame("000001").width == 40
    assert _labels(dataset) == 3


@pytest.mark.parametrize(
    ("content", "text"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 8 + b"XXXX" + b"\x00" * 13, "corrupt PNG header"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 17, "zero size"),
        (b"not an image at all", "not a readable image"),
        (b"", "not a readable image"),
    ],
    ids=["bad-ihdr", "zero-size", "text", "empty"],
)
def test_a_corrupt_png_is_a_warning_naming_it(tmp_path: Path, content: bytes, text: str) -> None:
    root = _kitti_frames(tmp_path)
    for i in (1, 3):
        _write(root / "image_2" / f"{i:06d}.png", _png(40, 20))
    bad = _write(root / "image_2" / "000002.png", content)
    dataset = load_dataset(root, "kitti")
    _at(_only(dataset.problems), bad, 0, text, ProblemLevel.warning)
    assert dataset.frame("000002").image is None and dataset.frame("000003").image is not None
    assert _labels(dataset) == 3


@pytest.mark.parametrize(
    ("calib", "problems"),
    [
        ("P0: " + " ".join(["1"] * 12) + "\nR0_rect: " + " ".join(["1"] * 9), [(0, "no valid P2")]),
        ("P2: " + " ".join(["1"] * 11), [(1, "P2 needs 12 numbers, found 11"), (0, "no valid P2")]),
        ("P2: " + " ".join(["1"] * 11 + ["nan"]), [(1, "not finite"), (0, "no valid P2")]),
    ],
    ids=["no-P2", "short-P2", "nan-P2"],
)
def test_a_calib_without_a_valid_p2_is_reported_and_the_frame_keeps_its_labels(
    tmp_path: Path, calib: str, problems: list[tuple[int, str]]
) -> None:
    root = _kitti_frames(tmp_path)
    good = "P2: 7.0e+02 0 6.0e+02 45 0 7.0e+02 1.8e+02 -0.3 0 0 1 0.005\n"
    _write(root / "calib" / "000001.txt", good)
    bad = _write(root / "calib" / "000002.txt", calib + "\n")
    dataset = load_dataset(root, "kitti")
    assert len(dataset.problems) == len(problems)
    for problem, (line, text) in zip(dataset.problems, problems, strict=True):
        _at(problem, bad, line, text)
    assert dataset.frame("000002").calib is None and dataset.frame("000001").calib is not None
    assert _labels(dataset) == 3


def test_a_missing_label_2_folder_is_an_error_naming_the_folder(tmp_path: Path) -> None:
    _write(tmp_path / "image_2" / "000001.png", _png(4, 4))
    with pytest.raises(InputFormatError) as caught:
        load_dataset(tmp_path, "kitti")
    assert caught.value.problem.path == str(tmp_path) and "no label_2/" in str(caught.value)
    with pytest.raises(InputFormatError, match="no label_02/"):
        load_dataset(tmp_path, "kitti-tracking")


def test_frames_txt_naming_a_missing_label_file_or_a_path_is_reported(tmp_path: Path) -> None:
    root = _kitti_frames(tmp_path, 2)
    listed = _write(root / "frames.txt", "000001\n000009 ../../etc/passwd\n000002\n")
    dataset = load_dataset(root, "kitti")
    first, second = sorted(dataset.problems, key=lambda p: (p.path, p.line))
    _at(first, root / "frames.txt", 2, "not a frame id")
    _at(second, root / "label_2" / "000009.txt", 0, "label file missing")
    assert [f.id for f in dataset.frames] == ["000001", "000009", "000002"] and listed.is_file()
    assert _labels(dataset) == 2


# JSON formats: one record per line, so each record's line is known from the file alone.


CATEGORIES = [{"id": 1, "name": "Car"}, {"id": 2, "name": "Pedestrian"}]


def _coco_text(annotations: list[Any], categories: list[Any] = CATEGORIES) -> str:
    """Line 1 ``{"images": [``, lines 2-4 images, line 5 ``],``, line 6 categories, line 7
    ``"annotations": [``, then annotation i on line 8 + i."""
    images = [{"id": i, "file_name": f"{i:06d}.png", "width": 400, "height": 300} for i in (1, 2, 3)]
    rows = [
        '{"images": [',
        *_rows(images),
        "],",
        f'"categories": {json.dumps(categories)},',
        '"annotations": [',
    ]
    return "\n".join([*rows, *_rows(annotations), "]}"]) + "\n"


def _rows(items: list[Any]) -> list[str]:
    return [json.dumps(x) + ("," if i < len(items) - 1 else "") for i, x in enumerate(items)]


def _ann(ann_id: int, image_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": 1,
        "bbox": [10, 20, 30, 40],
        "iscrowd": 0,
        **extra,
    }


def _coco_annotations() -> list[dict[str, Any]]:
    return [_ann(1, 1), _ann(2, 2), _ann(3, 3)]


BAD_ANNOTATIONS: dict[str, tuple[Any, str]] = {
    "nan": ({"bbox": [10, 20, float("nan"), 40]}, "annotations[1].bbox[2]: not finite"),
    "inf": ({"bbox": [10, float("inf"), 30, 40]}, "annotations[1].bbox[1]: not finite"),
    "huge": ({"bbox": [10, 20, 1e12, 40]}, "annotations[1].bbox[2]: out of range"),
    "string": ({"bbox": [10, "20", 30, 40]}, "annotations[1].bbox[1]: expected a number"),
    "bool": ({"bbox": [10, 20, True, 40]}, "annotations[1].bbox[2]: expected a number, found a boolean"),
    "short-bbox": ({"bbox": [10, 20, 30]}, "annotations[1].bbox: expected 4 numbers, found 3"),
    "no-bbox": ({"bbox": None}, "annotations[1].bbox: missing"),
    "bbox-object": ({"bbox": {"x": 1}}, "annotations[1].bbox: expected an array"),
    "no-id": ({"id": None}, "annotations[1].id: missing"),
    "float-image-id": ({"image_id": 2.0}, "annotations[1].image_id: expected an integer"),
    "unknown-image": ({"image_id": 99}, "annotations[1].image_id: image 99 is not in images"),
    "unknown-category": ({"category_id": 7}, "annotations[1].category_id: category 7 is not in categories"),
    "iscrowd": ({"iscrowd": 2}, "annotations[1].iscrowd: expected 0 or 1"),
    "not-an-object": (5, "annotations[1]: expected an object, found the number 5"),
}


@pytest.mark.parametrize("kind", sorted(BAD_ANNOTATIONS))
def test_a_bad_coco_annotation_names_its_json_path_and_line(tmp_path: Path, kind: str) -> None:
    change, text = BAD_ANNOTATIONS[kind]
    annotations: list[Any] = _coco_annotations()
    annotations[1] = change if not isinstance(change, dict) else {**annotations[1], **change}
    path = _write(tmp_path / "coco.json", _coco_text(annotations))
    dataset = load_dataset(path, "coco")
    _at(_only(dataset.problems), path, 9, text)
    assert [lab.id for lab in dataset.labels()] == ["1", "3"]
    assert [f.id for f in dataset.frames] == ["000001", "000002", "000003"]


def test_a_pretty_printed_coco_file_names_the_line_of_the_bad_value(tmp_path: Path) -> None:
    annotations = _coco_annotations()
    annotations[2]["bbox"] = [1, 2, "x", 4]
    text = json.dumps(
        {"images": [{"id": 3, "file_name": "a.png"}], "annotations": annotations, "categories": CATEGORIES},
        indent=2,
    )
    path = _write(tmp_path / "coco.json", text)
    dataset = load_dataset(path, "coco")
    lines = text.splitlines()
    bad_line = next(i for i, line in enumerate(lines, 1) if '"x"' in line)
    image_id = next(i for i, line in enumerate(lines, 1) if '"image_id": 1,' in line)
    first, second, third = dataset.problems
    _at(first, path, image_id, "annotations[0].image_id: image 1 is not in images")
    _at(third, path, bad_line, "annotations[2].bbox[2]: expected a number")
    assert second.message.startswith("annotations[1].image_id")


def test_a_missing_key_names_the_line_where_its_object_starts(tmp_path: Path) -> None:
    annotations = _coco_annotations()
    del annotations[1]["bbox"]
    top = {"images": [{"id": 2, "file_name": "a.png"}], "annotations": annotations, "categories": CATEGORIES}
    text = json.dumps(top, indent=2)
    path = _write(tmp_path / "coco.json", text + "\n")
    starts = [i for i, line in enumerate(text.splitlines(), 1) if line == "    {"]
    problems = load_dataset(path, "coco").problems
    assert [(p.line, p.message) for p in problems if "bbox" in p.message] == [
        (starts[2], "annotations[1].bbox: missing")
    ]


@pytest.mark.parametrize(
    ("top", "text"),
    [
        ([], "(top level): expected a COCO instances object (a list is a COCO results file"),
        ({"annotations": []}, "images: missing"),
        ({"images": {}, "annotations": []}, "images: expected an array"),
    ],
    ids=["list", "no-images", "images-object"],
)
def test_a_coco_file_of_the_wrong_shape_is_one_problem(tmp_path: Path, top: Any, text: str) -> None:
    path = _write(tmp_path / "coco.json", json.dumps(top))
    _at(_only(load_dataset(path, "coco").problems), path, 1, text)


def test_bad_coco_images_and_categories_are_skipped_with_their_annotations(tmp_path: Path) -> None:
    text = "\n".join(
        [
            '{"images": [',
            '{"id": 1, "file_name": "a.png"},',
            '{"id": 2},',
            '{"id": 3, "file_name": "c.png", "width": -4}',
            '], "categories": [{"id": 1, "name": "Car"}, {"id": "2", "name": "Pedestrian"}],',
            '"annotations": [',
            *_rows([_ann(1, 1), _ann(2, 2), _ann(3, 3), _ann(4, 1, category_id=2)]),
            "]}",
        ]
    )
    path = _write(tmp_path / "coco.json", text)
    dataset = load_dataset(path, "coco")
    problems = [(p.line, p.level.value, p.message) for p in dataset.problems]
    assert problems == [
        (5, "error", "categories[1].id: expected an integer, found the string '2'"),
        (3, "error", "images[1].file_name: missing"),
        (4, "warning", "images[2].width: not a positive pixel count: -4 (size taken from the image, if any)"),
        (10, "error", "annotations[3].category_id: category 2 is not in categories"),
    ]
    assert [f.id for f in dataset.frames] == ["a", "c"]
    assert [lab.id for lab in dataset.labels()] == ["1", "3"]  # annotation 2 left with its image


# JSON files, whole: syntax, encodings, emptiness, garbage.


def _coco_file(tmp_path: Path) -> tuple[Path, str]:
    text = _coco_text(_coco_annotations())
    return tmp_path / "coco.json", text


def _bdd_file(tmp_path: Path) -> tuple[Path, str]:
    frames = [{"name": f"{i:06d}.jpg", "labels": [_bdd_label(i, 0), _bdd_label(i, 1)]} for i in (1, 2, 3)]
    return tmp_path / "bdd.json", "[\n" + "\n".join(_rows(frames)) + "\n]\n"


def _bdd_label(frame: int, n: int, **extra: Any) -> dict[str, Any]:
    box = {"x1": 10.0, "y1": 20.0, "x2": 40.0 + n, "y2": 60.0}
    return {"id": f"{frame}-{n}", "category": "car", "attributes": {"occluded": False}, "box2d": box, **extra}


JSON_FILES: dict[str, tuple[Callable[[Path], tuple[Path, str]], str]] = {
    "coco": (_coco_file, "coco"),
    "bdd": (_bdd_file, "bdd"),
}


@pytest.mark.parametrize("name", sorted(JSON_FILES))
def test_a_truncated_json_file_names_the_line_where_it_breaks(tmp_path: Path, name: str) -> None:
    make, fmt = JSON_FILES[name]
    path, text = make(tmp_path)
    lines = text.splitlines()
    cut = "\n".join(lines[:3]) + "\n" + lines[3][: len(lines[3]) // 2]  # mid-way through line 4
    _write(path, cut)
    _at(_only(load_dataset(path, fmt).problems), path, 4, "not valid JSON")


@pytest.mark.parametrize("name", sorted(JSON_FILES))
@pytest.mark.parametrize(
    ("content", "line", "text"),
    [
        (b"", 0, "empty file"),
        (b" \n\t\n", 0, "empty file"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), 1, "not valid JSON"),
        (b"[" * 100_000, 0, "nested too deeply"),
        (b'{"images": [], "x": ' + b"7" * 5000 + b"}", 1, "not valid JSON: Exceeds the limit"),
    ],
    ids=["empty", "blank", "garbage", "deep", "long-int"],
)
def test_a_json_file_that_is_not_json_is_one_problem(
    tmp_path: Path, name: str, content: bytes, line: int, text: str
) -> None:
    make, fmt = JSON_FILES[name]
    path, _ = make(tmp_path)
    _write(path, content)
    dataset = load_dataset(path, fmt)
    _at(_only(dataset.problems), path, line, text)
    assert dataset.frames == ()


@pytest.mark.parametrize("name", sorted(JSON_FILES))
def test_utf16_json_is_read_with_a_warning(tmp_path: Path, name: str) -> None:
    make, fmt = JSON_FILES[name]
    path, text = make(tmp_path)
    _write(path, text.encode("utf-16"))
    dataset = load_dataset(path, fmt)
    _at(_only(dataset.problems), path, 0, "UTF-16 text, read as such", ProblemLevel.warning)
    assert len(list(dataset.labels())) == len(list(load_dataset(_write(path, text), fmt).labels()))


@pytest.mark.parametrize(("name", "line"), [("coco", 6), ("bdd", 3)])
def test_latin1_bytes_in_json_are_a_warning_at_their_line(tmp_path: Path, name: str, line: int) -> None:
    make, fmt = JSON_FILES[name]
    path, text = make(tmp_path)
    lines = text.splitlines()
    lines[line - 1] = lines[line - 1].replace('"car"', '"caf\xe9"').replace('"Car"', '"Caf\xe9"')
    _write(path, "\n".join(lines).encode("latin-1"))
    dataset = load_dataset(path, fmt)
    _at(_only(dataset.problems), path, line, "not UTF-8 (byte 0xe9)", ProblemLevel.warning)
    assert len(list(dataset.labels())) == len(list(load_dataset(_write(path, text), fmt).labels()))
    assert any(lab.cls.startswith("caf\ufffd") or lab.cls.startswith("Caf\ufffd") for lab in dataset.labels())


BAD_BDD_LABELS: dict[str, tuple[Any, str]] = {
    "nan": ({"box2d": {"x1": float("nan"), "y1": 1, "x2": 2, "y2": 3}}, "[1].labels[1].box2d.x1: not finite"),
    "huge": ({"box2d": {"x1": 1, "y1": -1e13, "x2": 2, "y2": 3}}, "[1].labels[1].box2d.y1: out of range"),
    "missing-corner": ({"box2d": {"x1": 1, "y1": 1, "x2": 2}}, "[1].labels[1].box2d.y2: missing"),
    "box-list": ({"box2d": [1, 2, 3, 4]}, "[1].labels[1].box2d: expected an object"),
    "no-category": ({"category": None}, "[1].labels[1].category: missing"),
    "id-float": ({"id": 1.5}, "[1].labels[1].id: expected an integer"),
    "box3d": (
        {"box3d": {"location": [1, 2], "dimension": [1, 1, 1], "orientation": [0, 0, 0]}},
        "[1].labels[1].box3d.location: expected 3 numbers, found 2",
    ),
    "score": ({"score": "high"}, "[1].labels[1].score: expected a number"),
    "attributes": ({"attributes": [1]}, "[1].labels[1].attributes: expected an object"),
}


@pytest.mark.parametrize("kind", sorted(BAD_BDD_LABELS))
def test_a_bad_bdd_label_names_its_json_path_and_line(tmp_path: Path, kind: str) -> None:
    change, text = BAD_BDD_LABELS[kind]
    path, content = _bdd_file(tmp_path)
    frames = json.loads(content)
    frames[1]["labels"][1].update(change)
    _write(path, "[\n" + "\n".join(_rows(frames)) + "\n]\n")
    dataset = load_dataset(path, "bdd")
    _at(_only(dataset.problems), path, 3, text)
    assert [lab.id for lab in dataset.labels()] == ["1-0", "1-1", "2-0", "3-0", "3-1"]


@pytest.mark.parametrize(
    ("frame", "text"),
    [
        ({"labels": []}, "[1].name: missing"),
        ({"name": "b.jpg", "videoName": "v", "frameIndex": -2}, "[1].frameIndex: negative frame index -2"),
        ({"name": "b.jpg", "videoName": 7}, "[1].videoName: expected a non-empty string"),
        ("frame", "[1]: expected an object, found the string 'frame'"),
    ],
    ids=["no-name", "negative-index", "video-number", "string"],
)
def test_a_bad_bdd_frame_is_skipped_and_named(tmp_path: Path, frame: Any, text: str) -> None:
    path, content = _bdd_file(tmp_path)
    frames = json.loads(content)
    frames[1] = frame
    _write(path, "[\n" + "\n".join(_rows(frames)) + "\n]\n")
    dataset = load_dataset(path, "bdd")
    _at(_only(dataset.problems), path, 3, text)
    assert [f.id for f in dataset.frames] == ["000001", "000003"]


def test_bdd_labels_that_are_not_a_list_leave_the_frame_without_labels(tmp_path: Path) -> None:
    path, content = _bdd_file(tmp_path)
    frames = json.loads(content)
    frames[1]["labels"] = {"0": 1}
    _write(path, "[\n" + "\n".join(_rows(frames)) + "\n]\n")
    dataset = load_dataset(path, "bdd")
    _at(_only(dataset.problems), path, 3, "[1].labels: expected an array")
    assert [len(f.labels) for f in dataset.frames] == [2, 0, 2]


# COCO results.


def _results(tmp_path: Path, rows: list[Any]) -> tuple[Path, Path]:
    data = _write(tmp_path / "coco.json", _coco_text(_coco_annotations()))
    results = _write(tmp_path / "dets.json", "[\n" + "\n".join(_rows(rows)) + "\n]\n")
    return data, results


def _result(image_id: int, **extra: Any) -> dict[str, Any]:
    return {"image_id": image_id, "category_id": 1, "bbox": [10, 20, 30, 40], "score": 0.8, **extra}


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"score": float("nan")}, "[1].score: not finite"),
        ({"score": None}, "[1].score: missing"),
        ({"bbox": [1, 2, 3, 4, 5]}, "[1].bbox: expected 4 numbers, found 5"),
        ({"bbox": [1, 2, "3", 4]}, "[1].bbox[2]: expected a number"),
        ({"category_id": 9}, "[1].category_id: category 9 is not in the dataset's categories"),
        ({"image_id": "2"}, "[1].image_id: expected an integer"),
    ],
    ids=["nan-score", "no-score", "long-bbox", "string-bbox", "unknown-category", "string-image"],
)
def test_a_bad_coco_result_names_its_line(tmp_path: Path, change: dict[str, Any], text: str) -> None:
    data, results = _results(tmp_path, [_result(1), {**_result(2), **change}, _result(3)])
    dataset = load_dataset(data, "coco", [results])
    _at(_only(dataset.problems), results, 3, text)
    assert [len(f.predictions) for f in dataset.frames] == [1, 0, 1]


def test_coco_results_on_other_images_are_counted_once(tmp_path: Path) -> None:
    data, results = _results(tmp_path, [_result(1), _result(77), _result(78)])
    dataset = load_dataset(data, "coco", [results])
    _at(
        _only(dataset.problems),
        results,
        0,
        "2 results are on images not in the dataset",
        ProblemLevel.warning,
    )
    assert _preds(dataset) == 1


@pytest.mark.parametrize(
    ("content", "line", "text"),
    [
        (b"", 0, "empty file"),
        (
            b'[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5},\n{"image_id"',
            2,
            "not valid JSON",
        ),
        (b'{"image_id": 1}', 1, "(top level): expected a list of COCO results"),
    ],
    ids=["empty", "truncated", "object"],
)
def test_a_broken_coco_results_file_is_one_problem(
    tmp_path: Path, content: bytes, line: int, text: str
) -> None:
    data, results = _results(tmp_path, [])
    _write(results, content)
    dataset = load_dataset(data, "coco", [results])
    _at(_only(dataset.problems), results, line, text)
    assert len(list(dataset.labels())) == 3


def test_coco_results_need_a_coco_dataset(tmp_path: Path) -> None:
    root = _kitti_frames(tmp_path / "kitti", 1)
    results = _write(tmp_path / "dets.json", json.dumps([_result(1)]))
    with pytest.raises(InputFormatError, match="need a COCO dataset"):
        load_dataset(root, "kitti", [results])


# Defects the review reports rather than the reader.


def _review(dataset: Dataset, checks: list[str]) -> set[tuple[str, str | None, str]]:
    result = review_dataset(dataset, load_spec(), checks=checks)
    assert result.errors == []
    return {(f.check, f.label, f.frame) for f in result.findings}


NEGATIVE_SIZE: dict[str, Callable[[Path], tuple[Dataset, str]]] = {
    "kitti": lambda root: (
        _kitti_dataset(root, _lines(KITTI, KITTI.replace("200.00 220.00", "90.00 220.00")))[0],
        "000002:1",
    ),
    "kitti-tracking": lambda root: (
        _tracking_dataset(
            root, _lines(TRACK.format(f=0), TRACK.format(f=1).replace("130.00 220.00", "130.00 140.00"))
        )[0],
        "0000:1",
    ),
    "coco": lambda root: (
        load_dataset(
            _write(root / "c.json", _coco_text([_ann(1, 1), _ann(2, 2, bbox=[10, 20, -5, 40])])), "coco"
        ),
        "2",
    ),
    "bdd": lambda root: (
        load_dataset(
            _write(
                root / "b.json",
                json.dumps(
                    [
                        {
                            "name": "a.jpg",
                            "labels": [_bdd_label(1, 0, box2d={"x1": 50, "y1": 5, "x2": 40, "y2": 60})],
                        }
                    ]
                ),
            ),
            "bdd",
        ),
        "1-0",
    ),
}


@pytest.mark.parametrize("fmt", sorted(NEGATIVE_SIZE))
def test_a_negative_size_is_read_as_is_and_flagged_by_degenerate_box(tmp_path: Path, fmt: str) -> None:
    dataset, label_id = NEGATIVE_SIZE[fmt](tmp_path)
    assert dataset.problems == ()
    found = _review(dataset, ["degenerate_box"])
    assert [(check, label) for check, label, _ in found] == [("degenerate_box", label_id)]


UNKNOWN_CLASS: dict[str, Callable[[Path], tuple[Dataset, str]]] = {
    "kitti": lambda root: (_kitti_dataset(root, _lines(KITTI, KITTI.replace("Car", "Kar")))[0], "000002:1"),
    "kitti-tracking": lambda root: (
        _tracking_dataset(root, _lines(TRACK.format(f=0), TRACK.format(f=1).replace("Pedestrian", "Alien")))[
            0
        ],
        "0000:1",
    ),
    "bdd": lambda root: (
        load_dataset(
            _write(
                root / "b.json",
                json.dumps([{"name": "a.jpg", "labels": [_bdd_label(1, 0, category="Caar")]}]),
            ),
            "bdd",
        ),
        "1-0",
    ),
}


@pytest.mark.parametrize("fmt", sorted(UNKNOWN_CLASS))
def test_an_unknown_class_is_read_and_left_to_the_review(tmp_path: Path, fmt: str) -> None:
    """COCO has no free class names: an unknown ``category_id`` is an input problem (tested above)."""
    dataset, label_id = UNKNOWN_CLASS[fmt](tmp_path)
    assert dataset.problems == ()
    assert any(lab.id == label_id for lab in dataset.labels())
    if "unknown_class" not in REGISTERED:
        pytest.skip("no unknown_class check registered yet")
    assert ("unknown_class", label_id) in {(c, lab) for c, lab, _ in _review(dataset, ["unknown_class"])}


# One garbage file never costs the other frames: read and reviewed.


def _garbage_kitti(root: Path) -> tuple[Path, Path]:
    for i in range(1, 6):
        lines = [KITTI, KITTI.replace("100.00 150.00", "300.00 150.00")]
        if i == 4:
            lines.append(KITTI.replace("200.00 220.00", "90.00 220.00"))  # a reversed box to find
        _write(root / "label_2" / f"{i:06d}.txt", _lines(*lines))
    bad = _write(root / "label_2" / "000003.txt", b"Car 0 0 0 1 2 3 4\n" + GARBAGE)
    return root, bad


def _garbage_tracking(root: Path) -> tuple[Path, Path]:
    lines = [TRACK.format(f=f) for f in range(4)]
    lines.append(TRACK.format(f=2).replace("130.00 220.00", "130.00 140.00"))
    _write(root / "label_02" / "0000.txt", _lines(*lines))
    bad = _write(root / "label_02" / "0001.txt", GARBAGE)
    _write(root / "label_02" / "0002.txt", _lines(*lines[:2]))
    return root, bad


def _garbage_coco(root: Path) -> tuple[Path, Path]:
    _write(root / "a.json", _coco_text([_ann(1, 1), _ann(2, 2), _ann(3, 3, bbox=[10, 20, -5, 4])]))
    bad = _write(root / "b.json", GARBAGE)
    return root, bad


def _garbage_bdd(root: Path) -> tuple[Path, Path]:
    frames: list[dict[str, Any]] = [
        {"name": "v-1.jpg", "videoName": "v", "frameIndex": i, "labels": [_bdd_label(7, 0), _bdd_label(8, 0)]}
        for i in range(4)
    ]
    frames[2]["labels"].append(_bdd_label(9, 0, box2d={"x1": 50, "y1": 5, "x2": 40, "y2": 60}))
    _write(root / "v.json", json.dumps(frames, indent=1))
    bad = _write(root / "w.json", GARBAGE)
    return root, bad


# (builder, line of the problem: 0 = the whole file, labels read, frames read)
GARBAGE_DATASETS = {
    "kitti": (_garbage_kitti, 2, 9, 5),
    "kitti-tracking": (_garbage_tracking, 1, 7, 6),
    "coco": (_garbage_coco, 0, 3, 3),
    "bdd": (_garbage_bdd, 0, 9, 4),
}


@pytest.mark.parametrize("fmt", sorted(GARBAGE_DATASETS))
def test_one_garbage_file_leaves_every_other_frame_read_and_reviewed(tmp_path: Path, fmt: str) -> None:
    build, line, labels, frames = GARBAGE_DATASETS[fmt]
    root, bad = build(tmp_path / "data")
    dataset = load_dataset(root)  # the format is recognised from the layout
    assert dataset.format == fmt
    problem = _only([p for p in dataset.problems if p.level is ProblemLevel.error])
    assert (problem.path, problem.line) == (str(bad), line)
    assert sum(len(f.labels) for f in dataset.frames) == labels
    assert len(dataset.frames) == frames
    reviewed: list[int] = []
    result = review_dataset(dataset, load_spec(), chunk_size=2, progress=reviewed.append)
    assert result.errors == []
    assert sum(reviewed) == frames
    assert any(f.check == "degenerate_box" for f in result.findings), "the good frames were reviewed"


@pytest.mark.parametrize("fmt", sorted(GARBAGE_DATASETS))
def test_scan_exits_0_and_prints_the_problem_with_its_file_and_line(tmp_path: Path, fmt: str) -> None:
    build, line, _, _ = GARBAGE_DATASETS[fmt]
    root, bad = build(tmp_path / "data")
    out = tmp_path / "findings.jsonl"
    result = CliRunner().invoke(cli.app, ["scan", str(root), "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    # the record is skipped, named with its file and line on one line (a long path is never folded)
    assert (f"skipped: {bad}:{line}: " if line else f"skipped: {bad}: ") in result.output
    flagged = [json.loads(row) for row in out.read_text().splitlines()]
    assert any(row["check"] == "degenerate_box" for row in flagged)


def test_scan_of_a_folder_without_labels_exits_2_naming_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.app, ["scan", str(tmp_path), "--format", "kitti"])
    assert result.exit_code == 2
    assert f"error: {tmp_path}: no label_2/ folder" in result.output


def test_a_text_file_over_the_per_file_cap_is_one_problem_and_not_read(tmp_path: Path, monkeypatch) -> None:
    from gtqa.formats import _text

    path = tmp_path / "000001.txt"
    path.write_text("Car 0 0 0 1 2 3 4 1 1 1 0 0 10 0\n" * 100)
    monkeypatch.setattr(_text, "MAX_FILE_BYTES", 1000)
    problems: list[InputProblem] = []
    assert list(_text.iter_lines(path, problems)) == []
    assert [p.message for p in problems] == ["larger than 1000 bytes, not a label file: nothing read from it"]
    size = path.stat().st_size
    assert _text.read_capped(path, size) is not None and _text.read_capped(path, size - 1) is None
