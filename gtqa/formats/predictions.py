"""Detector outputs, as shipped: KITTI result files, ``box2d.list``, PointRCNN CSV detections, COCO
results JSON and BDD100K / Scalabel JSON with scores.

Every reader returns predictions with ``score`` in [0, 1]: scores already in that range are kept,
otherwise (PointRCNN writes logits, some negative) the whole source is mapped with a logistic function.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Iterable, Sequence
from pathlib import Path

from gtqa.domain import (
    Box2D,
    Cuboid3D,
    Dataset,
    InputFormatError,
    InputProblem,
    Prediction,
    ProblemLevel,
    SourceRef,
)
from gtqa.formats._text import expect_fields, iter_lines, parse_floats
from gtqa.formats.bdd import read_bdd_predictions
from gtqa.formats.coco import CocoIds, read_coco_results
from gtqa.formats.json_sniff import sniff_json_file
from gtqa.formats.kitti import parse_object_fields
from gtqa.formats.kitti_tracking import frame_id as tracking_frame_id

# Class ids of box2d.list and of the PointRCNN files (KITTI's evaluation classes).
KITTI_CLASS_IDS = {1: "Pedestrian", 2: "Car", 3: "Cyclist"}
_BOX = ["x1", "y1", "x2", "y2"]


def read_predictions(
    path: Path,
    problems: list[InputProblem],
    frame_ids: Container[str] | None = None,
    *,
    coco_ids: CocoIds | None = None,
) -> list[Prediction]:
    """Read one prediction source, recognising its format by its layout. ``frame_ids`` keeps only the
    predictions of those frames (``box2d.list`` covers all 7,481 KITTI frames). ``coco_ids`` are the
    image and category tables a COCO results file refers to (the dataset's, see ``coco.coco_ids``).
    A path that does not exist, or a source none of whose records could be read, is an
    ``InputFormatError``; a malformed record is a problem in ``problems`` (``unreadable_sources`` tells
    a source none of whose records could be read)."""
    if not path.exists():
        raise InputFormatError(str(path), 0, "no such file or folder")
    return normalise_scores(_read_any(path, problems, frame_ids, coco_ids))


def unreadable_sources(dataset: Dataset, sources: Sequence[Path]) -> list[InputFormatError]:
    """One error per prediction source of ``dataset`` that gave no prediction but had problems: a
    malformed file, never to be taken for a detector that found nothing."""
    read = {p.source.path for f in dataset.frames for p in f.predictions if p.source is not None}
    errors = []
    for source in sources:
        inside = _within(source)
        if any(inside(path) for path in read):
            continue
        found = [p for p in dataset.problems if inside(p.path) and p.level == ProblemLevel.error]
        if found:
            first = found[0]
            why = f"no prediction could be read ({len(found)} skipped): {first.message}"
            errors.append(InputFormatError(first.path, first.line, why))
    return errors


def _within(source: Path) -> Callable[[str], bool]:
    root = str(source)
    return lambda path: path == root or path.startswith(root.rstrip("/") + "/")


def _read_any(
    path: Path, problems: list[InputProblem], frame_ids: Container[str] | None, coco_ids: CocoIds | None
) -> list[Prediction]:
    if path.is_file() and path.suffix == ".list":
        preds = read_box2d_list(path, problems, frame_ids)
    elif path.is_file() and (path.suffix == ".csv" or (path.suffix == ".txt" and _looks_like_csv(path))):
        preds = read_pointrcnn_csv(path, path.stem, problems)
    elif path.is_file() and path.suffix == ".txt":
        preds = read_kitti_results(path, problems)
    elif path.is_file() and path.suffix == ".json":
        preds = _read_json_predictions(path, problems, coco_ids)
    elif path.is_dir() and any(path.glob("*/*.txt")) and not any(path.glob("*.txt")):
        preds = [p for f in sorted(path.glob("*/*.txt")) for p in read_pointrcnn_csv(f, f.stem, problems)]
    elif path.is_dir():
        preds = [p for f in sorted(path.glob("*.txt")) for p in read_kitti_results(f, problems)]
    else:
        raise InputFormatError(
            str(path),
            0,
            "not a prediction file or folder gtqa knows (KITTI result folder or file, box2d.list, "
            "PointRCNN CSV, COCO results JSON, BDD100K JSON with scores)",
        )
    return preds


def _read_json_predictions(path: Path, problems: list[InputProblem], ids: CocoIds | None) -> list[Prediction]:
    """COCO results or BDD100K JSON; a file neither is read as the dataset's kind, to name its problem."""
    kind = sniff_json_file(path)
    if kind == "bdd" or (kind != "coco-results" and ids is None):
        return read_bdd_predictions(path, problems)
    if ids is None:
        raise InputFormatError(
            str(path), 0, "COCO results name images and categories by id: they need a COCO dataset"
        )
    return read_coco_results(path, problems, ids)


def normalise_scores(preds: list[Prediction]) -> list[Prediction]:
    if all(0.0 <= p.raw_score <= 1.0 for p in preds):
        return preds
    return [p.model_copy(update={"score": _logistic(p.raw_score)}) for p in preds]


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 50.0), -50.0)))


def _looks_like_csv(path: Path) -> bool:
    with path.open("rb") as fh:
        return b"," in fh.readline()


def read_kitti_results(path: Path, problems: list[InputProblem]) -> list[Prediction]:
    """``<frame>.txt`` in KITTI result format: a label line plus a 16th field, the score."""
    out: list[Prediction] = []
    for index, text in iter_lines(path, problems):
        tokens = text.split()
        try:
            expect_fields(tokens, (16,), path, index, "a KITTI result line")
            label = parse_object_fields(tokens, path, index, label_id="", frame_id=path.stem)
            (score,) = parse_floats(tokens[15:16], path, index, ["score"])
        except InputFormatError as exc:
            problems.append(exc.problem)
            continue
        out.append(
            Prediction(
                frame=path.stem,
                cls=label.cls,
                box=label.box,
                score=_clip(score),
                raw_score=score,
                detector=path.parent.name,
                cuboid=label.cuboid,
                source=label.source,
            )
        )
    return out


def read_box2d_list(
    path: Path, problems: list[InputProblem], frame_ids: Container[str] | None = None
) -> list[Prediction]:
    """``box2d.list``: ``frame class_id score x1 y1 x2 y2`` (1 Pedestrian, 2 Car, 3 Cyclist)."""
    out: list[Prediction] = []
    for index, text in iter_lines(path, problems):
        tokens = text.split()
        if frame_ids is not None and tokens[0] not in frame_ids:
            continue
        try:
            expect_fields(tokens, (7,), path, index, "a box2d.list line")
            cls = _class_of(tokens[1], path, index)
            score, *box = parse_floats(tokens[2:7], path, index, ["score", *_BOX])
        except InputFormatError as exc:
            problems.append(exc.problem)
            continue
        out.append(
            Prediction(
                frame=tokens[0],
                cls=cls,
                box=Box2D.from_seq(box),
                score=_clip(score),
                raw_score=score,
                detector=path.stem,
                source=SourceRef(path=str(path), line=index + 1),
            )
        )
    return out


def read_pointrcnn_csv(path: Path, sequence: str, problems: list[InputProblem]) -> list[Prediction]:
    """``frame,type_id,x1,y1,x2,y2,score,h,w,l,x,y,z,rotation_y,alpha`` (score unnormalised)."""
    out: list[Prediction] = []
    names = [*_BOX, "score", "h", "w", "l", "x", "y", "z", "rotation_y", "alpha"]
    detector = path.parent.name if path.parent.name.startswith("pointrcnn") else "pointrcnn"
    for index, text in iter_lines(path, problems):
        tokens = [t.strip() for t in text.split(",")]
        try:
            expect_fields(tokens, (15,), path, index, "a PointRCNN detection")
            frame_index = _int(tokens[0], path, index, "frame")
            cls = _class_of(tokens[1], path, index)
            v = parse_floats(tokens[2:15], path, index, names)
        except InputFormatError as exc:
            problems.append(exc.problem)
            continue
        cuboid = Cuboid3D(h=v[5], w=v[6], l=v[7], x=v[8], y=v[9], z=v[10], rotation_y=v[11])
        out.append(
            Prediction(
                frame=tracking_frame_id(sequence, frame_index),
                cls=cls,
                box=Box2D.from_seq(v[:4]),
                score=_clip(v[4]),
                raw_score=v[4],
                detector=detector.split("_")[0],
                cuboid=cuboid,
                source=SourceRef(path=str(path), line=index + 1),
            )
        )
    return out


def _class_of(token: str, path: Path, index: int) -> str:
    class_id = _int(token, path, index, "class_id")
    if class_id not in KITTI_CLASS_IDS:
        raise InputFormatError(str(path), index + 1, f"unknown class id {class_id} (known: 1, 2, 3)")
    return KITTI_CLASS_IDS[class_id]


def _int(token: str, path: Path, index: int, name: str) -> int:
    try:
        return int(token)
    except ValueError:
        raise InputFormatError(str(path), index + 1, f"{name} is not an integer: {token!r}") from None


def _clip(score: float) -> float:
    return min(max(score, 0.0), 1.0)


def group_by_frame(preds: Iterable[Prediction]) -> dict[str, list[Prediction]]:
    out: dict[str, list[Prediction]] = {}
    for p in preds:
        out.setdefault(p.frame, []).append(p)
    return out
