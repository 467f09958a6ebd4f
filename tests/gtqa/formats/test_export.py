"""Lossless export (``gtqa.formats.export``): with no audit every label file comes back as it was read
(byte for byte for KITTI's line formats, the same JSON values for COCO and BDD), and an audit changes
only what it corrected. Generated inputs (hypothesis) hold the odd cases: sentinels, occlusion 3,
``0.00``, a score column, lines the reader rejects, CRLF and a missing final newline; COCO polygons,
overlapping ids across task files and ``null`` fields; BDD labels without a box2d."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gtqa.domain import Audit, Box2D, Dataset, InputFormatError, IssueType, Label, Verdict
from gtqa.formats import load_dataset
from gtqa.formats.export.corrections import MANIFEST, export_labels
from gtqa.formats.export.snapshot import keep_source, restore_source
from tests.gtqa.formats.test_coco import _official_layout

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _exported(dataset: Dataset, audits: list[Audit], out: Path) -> dict[str, bytes]:
    export_labels(dataset, audits, out)
    return {k: v for k, v in _files(out).items() if k != MANIFEST}


def _box_audit(label: Label, box: Box2D) -> Audit:
    corrected = label.model_copy(update={"box": box})
    return Audit(
        id="a1", frame=label.frame, label=label.id, verdict=Verdict.defect,
        issue_type=IssueType.bad_box, corrected=corrected,
    )  # fmt: skip


def _removal(label: Label) -> Audit:
    return Audit(
        id="a2", frame=label.frame, label=label.id, verdict=Verdict.defect,
        issue_type=IssueType.spurious_object,
    )  # fmt: skip


# ---------------------------------------------------------------- KITTI object and tracking: bytes

_NUM = st.one_of(
    st.sampled_from(["0.00", "0", "-1", "-10", "-1000", "1.50", "12.345678", "-0.00", "3"]),
    st.floats(-500, 500, allow_nan=False).map(lambda v: f"{v:.2f}"),
)
_BOX = st.tuples(*(st.integers(0, 600) for _ in range(2)), st.integers(1, 300), st.integers(1, 300)).map(
    lambda t: [f"{t[0]:.2f}", f"{t[1]:.2f}", f"{t[0] + t[2]:.2f}", f"{t[1] + t[3]:.2f}"]
)


@st.composite
def _object_line(draw: st.DrawFn) -> str:
    cls = draw(st.sampled_from(["Car", "Pedestrian", "DontCare", "car", "Cyclist"]))
    trunc = draw(st.sampled_from(["0.00", "-1", "0.5", "1.00", "0"]))
    occ = draw(st.sampled_from(["0", "1", "2", "3", "-1"]))
    rest = [draw(_NUM) for _ in range(8)]
    score = draw(st.sampled_from([[], ["0.93"], ["-3.2100"]]))
    return " ".join([cls, trunc, occ, draw(_NUM), *draw(_BOX), *rest, *score])


_ODD_LINE = st.sampled_from(["", "# a comment", "Car 0 0", "Car x 0 0 0 0 0 0 0 0 0 0 0 0 0", "   "])
_LINES = st.lists(st.one_of(_object_line(), _object_line(), _ODD_LINE), max_size=8)
_BREAK = st.sampled_from(["\n", "\r\n"])


def _text(lines: list[str], brk: str, final: bool) -> bytes:
    body = brk.join(lines) + (brk if final and lines else "")
    return body.encode()


@SETTINGS
@given(files=st.lists(st.tuples(_LINES, _BREAK, st.booleans()), min_size=1, max_size=4))
def test_a_kitti_object_export_without_audits_is_byte_identical(
    files: list[tuple[list[str], str, bool]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "src"
        (root / "label_2").mkdir(parents=True)
        for i, (lines, brk, final) in enumerate(files):
            (root / "label_2" / f"{i:06d}.txt").write_bytes(_text(lines, brk, final))
        dataset = load_dataset(root, "kitti")
        assert _exported(dataset, [], Path(tmp) / "out") == _files(root)


@st.composite
def _tracking_line(draw: st.DrawFn) -> str:
    frame, track = draw(st.integers(0, 30)), draw(st.sampled_from([-1, 0, 1, 7]))
    obj = draw(_object_line()).split()
    obj[1] = draw(st.sampled_from(["0", "1", "2"]))  # tracking's truncation levels
    return " ".join([str(frame), str(track), *obj[:15], *obj[15:]])


@SETTINGS
@given(
    lines=st.lists(st.one_of(_tracking_line(), _ODD_LINE), max_size=12),
    brk=_BREAK,
    final=st.booleans(),
    pick=st.integers(0, 100),
)
def test_a_kitti_tracking_export_changes_only_the_audited_boxs_fields(
    lines: list[str], brk: str, final: bool, pick: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "src"
        (root / "label_02").mkdir(parents=True)
        source = _text(lines, brk, final)
        (root / "label_02" / "0003.txt").write_bytes(source)
        dataset = load_dataset(root, "kitti-tracking")
        assert _exported(dataset, [], Path(tmp) / "same") == _files(root)
        labels = list(dataset.labels())
        if not labels:
            return
        label = labels[pick % len(labels)]
        box = Box2D(x1=1.25, y1=2.5, x2=label.box.x2 + 10, y2=label.box.y2 + 10)
        written = _exported(dataset, [_box_audit(label, box)], Path(tmp) / "changed")
        before = source.decode().splitlines(keepends=True)
        after = written["label_02/0003.txt"].decode().splitlines(keepends=True)
        index = int(label.id.split(":")[1])
        assert len(after) == len(before)
        assert [b for i, b in enumerate(before) if i != index] == [
            a for i, a in enumerate(after) if i != index
        ]
        old, new = before[index].split(), after[index].split()
        changed = {j for j, (a, b) in enumerate(zip(old, new, strict=True)) if a != b}
        assert changed <= {6, 7, 8, 9}  # x1 y1 x2 y2 only; everything else as written
        assert before[index][len(before[index].rstrip()) :] == after[index][len(after[index].rstrip()) :]


def test_a_changed_kitti_line_keeps_its_sentinels_score_and_number_formats(tmp_path: Path) -> None:
    root = tmp_path / "src"
    (root / "label_2").mkdir(parents=True)
    line = "Pedestrian 0.00 3 -10 450.04 176.42 470.08 217.96 -1 -1 -1 -1000 -1000 -1000 -10 0.87"
    (root / "label_2" / "000007.txt").write_text(
        f"{line}\r\nCar 0 0\r\nDontCare -1 -1 -10 1.00 2.00 3.00 4.00 -1 -1 -1 -1000 -1000 -1000 -10"
    )
    dataset = load_dataset(root, "kitti")
    label = next(dataset.labels())
    written = _exported(dataset, [_box_audit(label, Box2D(x1=440, y1=170, x2=480, y2=220))], tmp_path / "o")
    lines = written["label_2/000007.txt"].decode().split("\r\n")
    assert lines[0] == "Pedestrian 0.00 3 -10 440 170 480 220 -1 -1 -1 -1000 -1000 -1000 -10 0.87"
    assert lines[1] == "Car 0 0"  # a line the reader rejected is carried through
    assert lines[2].startswith("DontCare -1 -1 -10 1.00")


def test_a_removed_and_an_added_kitti_label_shift_only_their_file(tmp_path: Path) -> None:
    root = tmp_path / "src"
    (root / "label_2").mkdir(parents=True)
    car = "Car 0.00 0 -1.58 100.00 150.00 200.00 220.00 1.50 1.60 3.90 1.00 1.60 20.00 -1.50"
    (root / "label_2" / "000001.txt").write_text(f"{car}\n{car}\n")
    (root / "label_2" / "000002.txt").write_text(f"{car}\n")
    dataset = load_dataset(root, "kitti")
    first = next(dataset.labels())
    new = first.model_copy(update={"id": "new", "cls": "Van"})
    added = Audit(
        id="a3", frame="000002", label=None, verdict=Verdict.defect,
        issue_type=IssueType.missing_object, corrected=new,
    )  # fmt: skip
    out = tmp_path / "o"
    manifest = export_labels(dataset, [_removal(first), added], out)
    assert (out / "label_2/000001.txt").read_text() == f"{car}\n"
    assert (out / "label_2/000002.txt").read_text().splitlines()[1].startswith("Van 0 0 -1.58 100 150")
    assert manifest["label_ids"] == {"000001:1": "000001:0", "000002:0": "000002:0", "new": "000002:1"}


def test_the_real_kitti_data_comes_back_byte_identical(shared_data: Path, tmp_path: Path) -> None:
    for name, fmt in (("kitti_object", "kitti"), ("kitti_tracking", "kitti-tracking")):
        root = shared_data / name
        folder = "label_2" if fmt == "kitti" else "label_02"
        written = _exported(load_dataset(root, fmt), [], tmp_path / name)
        assert written == {f"{folder}/{k}": v for k, v in _files(root / folder).items()}


def test_an_export_whose_source_is_gone_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "src"
    (root / "label_2").mkdir(parents=True)
    (root / "label_2" / "000001.txt").write_text("Car 0 0 0 1 1 5 5 -1 -1 -1 -1000 -1000 -1000 -10\n")
    dataset = load_dataset(root, "kitti")
    (root / "label_2" / "000001.txt").unlink()
    (root / "label_2").rmdir()
    root.rmdir()
    with pytest.raises(InputFormatError, match="source files are gone"):
        export_labels(dataset, [], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_export_whose_source_changed_since_reading_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "src"
    (root / "label_2").mkdir(parents=True)
    (root / "label_2" / "000001.txt").write_text("Car 0 0 0 1 1 5 5 -1 -1 -1 -1000 -1000 -1000 -10\n")
    dataset = load_dataset(root, "kitti")
    (root / "label_2" / "000001.txt").write_text("")
    with pytest.raises(InputFormatError, match="no longer holds"):
        export_labels(dataset, [], tmp_path / "out")


# ---------------------------------------------------------------- COCO: JSON values

_NULLABLE: st.SearchStrategy[dict[str, Any] | None] = st.one_of(
    st.none(), st.just({}), st.just({"occluded": True, "note": [1, 2]})
)


@st.composite
def _coco_doc(draw: st.DrawFn, first_id: int) -> dict[str, Any]:
    n_images = draw(st.integers(1, 3))
    images = [
        {"id": i + 1, "file_name": f"img{first_id}_{i}.jpg", "width": 640, "height": 480, "license": 1}
        for i in range(n_images)
    ]
    annotations = []
    for k in range(draw(st.integers(0, 6))):
        x, y, w, h = (draw(st.integers(0, 300)) for _ in range(4))
        ann: dict[str, Any] = {
            "id": first_id + k, "image_id": draw(st.integers(1, n_images)),
            "category_id": draw(st.integers(1, 3)),
            "bbox": [x, y, w + 1, h + 1], "area": float((w + 1) * (h + 1)), "iscrowd": 0,
            "segmentation": [[x, y, x + w, y, x + w, y + h]],
        }  # fmt: skip
        attrs = draw(_NULLABLE)
        if attrs is not None or draw(st.booleans()):
            ann["attributes"] = attrs
        annotations.append(ann)
    if draw(st.booleans()):  # a record the reader rejects is carried through
        annotations.append({"id": 999, "image_id": 77, "category_id": 1, "bbox": [0, 0, 1, 1]})
    categories = [
        {"id": i, "name": n, "supercategory": "x"} for i, n in ((1, "person"), (2, "car"), (3, "bus"))
    ]
    return {"info": {"year": 2017}, "licenses": [{"id": 1}], "images": images,
            "annotations": annotations, "categories": categories}  # fmt: skip


def _coco_folder(root: Path, docs: list[dict[str, Any]]) -> None:
    (root / "annotations").mkdir(parents=True)
    for name, doc in zip(("instances_train2017", "instances_val2017"), docs, strict=False):
        (root / "annotations" / f"{name}.json").write_text(json.dumps(doc, indent=2))


def _values(files: dict[str, bytes]) -> dict[str, Any]:
    return {k: json.loads(v) for k, v in files.items()}


@SETTINGS
@given(docs=st.lists(_coco_doc(first_id=1), min_size=1, max_size=2), pick=st.integers(0, 100))
def test_a_coco_export_changes_only_the_audited_annotation(docs: list[dict[str, Any]], pick: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "src"
        for i, doc in enumerate(docs):  # train and val share image and annotation ids
            for image in doc["images"]:
                image["file_name"] = f"{i}_{image['file_name']}"
        _coco_folder(root, docs)
        dataset = load_dataset(root, "coco")
        assert _exported(dataset, [], Path(tmp) / "same") == _files(root)
        labels = list(dataset.labels())
        if not labels:
            return
        label = labels[pick % len(labels)]
        removed = labels[(pick + 1) % len(labels)]
        audits = [_box_audit(label, Box2D(x1=1, y1=2, x2=50, y2=60))]
        audits += [_removal(removed)] if removed.id != label.id else []
        written = _values(_exported(dataset, audits, Path(tmp) / "changed"))
        expected = _values(_files(root))
        for name, doc in expected.items():
            for ann in list(doc["annotations"]):
                if _is(ann, label, name):
                    ann.update(bbox=[1, 2, 49, 58], area=49 * 58)
                    ann.pop("segmentation")
                elif removed.id != label.id and _is(ann, removed, name):
                    doc["annotations"].remove(ann)
        assert written == expected


def _is(ann: dict[str, Any], label: Label, name: str) -> bool:
    assert label.source is not None
    return Path(label.source.path).name == Path(name).name and str(ann["id"]) == label.id.split("#")[0]


# ---------------------------------------------------------------- BDD / Scalabel: JSON values


@st.composite
def _bdd_label(draw: st.DrawFn, ident: int) -> dict[str, Any]:
    record: dict[str, Any] = {"id": str(ident), "category": draw(st.sampled_from(["car", "pedestrian"]))}
    kind = draw(st.sampled_from(["box", "box", "poly", "rle"]))
    if kind == "box":
        x, y = draw(st.integers(0, 500)), draw(st.integers(0, 300))
        record["box2d"] = {"x1": x, "y1": y, "x2": x + 20.5, "y2": y + 30}
        record["box3d"] = None
    elif kind == "poly":
        record["poly2d"] = [{"vertices": [[0, 0], [5, 5]], "types": "LL", "closed": False}]
    else:
        record["rle"] = {"counts": "abc", "size": [720, 1280]}
    record["attributes"] = draw(st.one_of(st.none(), st.just({"occluded": False, "truncated": True})))
    record["manualShape"] = True
    return record


@st.composite
def _bdd_frames(draw: st.DrawFn) -> list[dict[str, Any]]:
    frames = []
    ident = 0
    for i in range(draw(st.integers(1, 3))):
        labels = []
        for _ in range(draw(st.integers(0, 4))):
            ident += 1
            labels.append(draw(_bdd_label(ident)))
        frames.append(
            {"name": f"b{i}.jpg", "attributes": {"weather": "clear"}, "timestamp": 10000, "labels": labels}
        )
    return frames


@SETTINGS
@given(frames=_bdd_frames(), pick=st.integers(0, 100))
def test_a_bdd_export_keeps_labels_without_a_box_and_changes_only_the_audited_one(
    frames: list[dict[str, Any]], pick: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "det.json"
        root.write_text(json.dumps(frames))
        dataset = load_dataset(root, "bdd")
        assert _exported(dataset, [], Path(tmp) / "same") == {"det.json": root.read_bytes()}
        labels = list(dataset.labels())
        if not labels:
            return
        label = labels[pick % len(labels)]
        written = _values(_exported(dataset, [_removal(label)], Path(tmp) / "removed"))
        for frame in frames:
            frame["labels"] = [lab for lab in frame["labels"] if lab["id"] != label.id]
        assert written == {"det.json": frames}


def test_a_changed_bdd_label_keeps_null_fields_and_what_gtqa_does_not_read(tmp_path: Path) -> None:
    record: dict[str, Any] = {
        "id": "7", "category": "car", "attributes": {"occluded": False, "trafficLightColor": "none"},
        "box2d": {"x1": 1, "y1": 2, "x2": 30, "y2": 40}, "box3d": None, "poly2d": None, "manualShape": True,
    }  # fmt: skip
    frames = [{"name": "a.jpg", "labels": [record, {"id": "8", "category": "lane", "poly2d": [[1, 2]]}]}]
    root = tmp_path / "det.json"
    root.write_text(json.dumps(frames))
    dataset = load_dataset(root, "bdd")
    label = next(dataset.labels())
    van = label.model_copy(update={"cls": "truck"})
    audit = Audit(
        id="a", frame=label.frame, label=label.id, verdict=Verdict.defect,
        issue_type=IssueType.wrong_class, corrected=van,
    )  # fmt: skip
    written = _values(_exported(dataset, [audit], tmp_path / "o"))
    record["category"] = "truck"
    assert written == {"det.json": frames}


def test_the_manifest_counts_every_audit(tmp_path: Path) -> None:
    root = tmp_path / "det.json"
    root.write_text(json.dumps([{"name": "a.jpg", "labels": []}]))
    manifest = export_labels(load_dataset(root, "bdd"), [], tmp_path / "o")
    assert manifest["applied"] == [] and manifest["format"] == "bdd"


def test_the_official_coco_layout_comes_back_whole_and_an_added_label_joins_a_box_file(
    tmp_path: Path,
) -> None:
    root = tmp_path / "src"
    _official_layout(root)
    dataset = load_dataset(root, "coco")
    json_files = {k: v for k, v in _files(root).items() if k.endswith(".json")}
    assert _exported(dataset, [], tmp_path / "same") == json_files
    frame = dataset.frames[0]
    new = Label(id="new", frame=frame.id, cls="car", box=Box2D(x1=1, y1=1, x2=5, y2=5))
    added = Audit(
        id="a", frame=frame.id, label=None, verdict=Verdict.defect,
        issue_type=IssueType.missing_object, corrected=new,
    )  # fmt: skip
    written = _values(_exported(dataset, [added], tmp_path / "added"))
    expected = _values(json_files)
    expected["annotations/instances_val2017.json"]["annotations"].append(
        {"id": 72, "image_id": 7, "category_id": 3, "bbox": [1, 1, 4, 4], "iscrowd": 0, "area": 16}
    )
    assert written == expected


def test_kept_source_files_are_stored_once_and_rebuilt_byte_for_byte(tmp_path: Path) -> None:
    root = tmp_path / "det.json"
    root.write_text(json.dumps([{"name": "a.jpg", "labels": [{"id": "1", "category": "car", "poly2d": []}]}]))
    store = tmp_path / "store"
    first = keep_source(root, "bdd", store, "1")
    assert first == root.stat().st_size and keep_source(root, "bdd", store, "2") == 0  # content-addressed
    restored = restore_source(store, "2", tmp_path / "back")
    assert restored is not None and restored.read_bytes() == root.read_bytes()
    assert restore_source(store, "3", tmp_path / "none") is None
