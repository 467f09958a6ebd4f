"""Parsing BDD100K / Scalabel JSON into raw frames and labels, each with its JSON path."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gtqa.domain import Box2D, Cuboid3D, InputProblem, ProblemLevel, RecordKind
from gtqa.formats._json import JsonDoc, JsonPath, JsonSchemaError, Scalar, Warn, json_files, load_json
from gtqa.formats._json_fields import (
    arr,
    integer,
    number,
    number_field,
    numbers_field,
    obj,
    required,
    scalar_items,
    text,
    text_field,
)


@dataclass
class RawLabel:
    """A label as the file has it (``record``), parsed; ``where`` is its JSON path."""

    raw_id: str | None
    where: JsonPath
    record: dict[str, Any]
    cls: str
    box: Box2D
    attributes: dict[str, Scalar]
    cuboid: Cuboid3D | None = None
    alpha: float | None = None
    score: float | None = None
    doc: JsonDoc | None = None  # its file, when it is not its frame's (a frame met twice)


@dataclass
class RawFrame:
    """A frame as the file has it (``record``), parsed, with its labels; ``id`` is its frame id."""

    doc: JsonDoc
    where: JsonPath
    record: dict[str, Any]
    name: str
    sequence: str | None
    index: int
    width: int | None = None
    height: int | None = None
    labels: list[RawLabel] = field(default_factory=list)
    video: str | None = None  # its videoName (``sequence`` adds the sensor to it)
    sensor: str | None = None  # Scalabel's camera or sensor of a multi-sensor frame

    @property
    def id(self) -> str:
        """``<sequence>/<index:06d>`` (the sequence being ``<videoName>@<sensor>`` for a multi-sensor
        video), else the name's stem (``@<sensor>`` added): a frame is (video, frame, sensor)."""
        if self.sequence is not None:
            return f"{self.sequence}/{self.index:06d}"
        stem = Path(self.name).stem
        return f"{stem}@{self.sensor}" if self.sensor is not None else stem


def read_raw(root: Path, problems: list[InputProblem]) -> list[RawFrame]:
    frames: list[RawFrame] = []
    for path in json_files(root):
        doc = load_json(path, problems)
        if doc is not None:
            frames.extend(_parse_file(doc, problems))
    return _merge_repeats(frames, problems)


def _parse_file(doc: JsonDoc, problems: list[InputProblem]) -> list[RawFrame]:
    warn = doc.warner(problems)
    try:
        items, base, default_size = _frame_list(doc.data)
    except JsonSchemaError as exc:
        problems.append(doc.schema_problem(exc))
        return []
    frames: list[RawFrame] = []
    positions: Counter[str] = Counter()
    not_boxes = 0
    for i, item in enumerate(items):
        where: JsonPath = (*base, i)
        try:
            frame = _parse_frame(doc, item, where, default_size, positions, warn)
        except JsonSchemaError as exc:
            problems.append(doc.schema_problem(exc).of(RecordKind.frame))
            continue
        not_boxes += _parse_labels(frame, problems)
        frames.append(frame)
    if not_boxes:
        problems.append(
            InputProblem(
                path=str(doc.path),
                message=f"{not_boxes} labels have no box2d (lanes, areas, polygons): not read",
                level=ProblemLevel.warning,
            )
        )
    return frames


def _frame_list(data: Any) -> tuple[list[Any], JsonPath, tuple[int | None, int | None]]:
    """The frames, their JSON path prefix, and the dataset's default image size (Scalabel config)."""
    if isinstance(data, list):
        return data, (), (None, None)
    top = obj(data, ())
    items = arr(required(top, "frames", ()), ("frames",))
    size = top.get("config", {}).get("imageSize") if isinstance(top.get("config"), dict) else None
    return items, ("frames",), _size_of(size)


def _parse_frame(
    doc: JsonDoc,
    item: Any,
    where: JsonPath,
    default_size: tuple[int | None, int | None],
    positions: Counter[str],
    warn: Warn,
) -> RawFrame:
    record = obj(item, where)
    name = text_field(record, "name", where)
    video = record.get("videoName")
    sequence = text(video, (*where, "videoName")) if video not in (None, "") else None
    sensor = _sensor(record.get("sensor"), (*where, "sensor"))
    scope = f"{sequence}@{sensor}" if sequence is not None and sensor is not None else sequence
    index = 0
    if scope is not None:
        if record.get("frameIndex") is None:
            warn(where, f"frameIndex missing: position {positions[scope]} in {scope!r} used")
            index = positions[scope]
        else:
            index = integer(record["frameIndex"], (*where, "frameIndex"))
            if index < 0:
                raise JsonSchemaError((*where, "frameIndex"), f"negative frame index {index}")
        positions[scope] += 1
    width, height = _size_of(record.get("size"))
    if width is None:
        width, height = default_size
    return RawFrame(doc, where, record, name, scope, index, width, height, video=sequence, sensor=sensor)


def _sensor(value: Any, where: JsonPath) -> str | None:
    """A multi-sensor frame's sensor (Scalabel writes an int) as text, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise JsonSchemaError(where, f"expected a sensor id (an integer or a name), found {value!r}")
    return str(value)


def _size_of(value: Any) -> tuple[int | None, int | None]:
    if not isinstance(value, dict):
        return None, None
    w, h = value.get("width"), value.get("height")
    ok = all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 1_000_000 for v in (w, h))
    return (w, h) if ok else (None, None)


def _parse_labels(frame: RawFrame, problems: list[InputProblem]) -> int:
    """Parse the frame's labels into ``frame.labels``; returns how many were not boxes."""
    doc = frame.doc

    warn = doc.warner(problems)
    try:
        items = arr(frame.record.get("labels") or [], (*frame.where, "labels"))
    except JsonSchemaError as exc:
        problems.append(doc.schema_problem(exc))
        return 0
    not_boxes = 0
    for j, item in enumerate(items):
        where: JsonPath = (*frame.where, "labels", j)
        try:
            label = _parse_label(item, where, warn)
        except JsonSchemaError as exc:
            problems.append(doc.schema_problem(exc).of(RecordKind.label))
            continue
        if label is None:
            not_boxes += 1
        else:
            frame.labels.append(label)
    return not_boxes


def _parse_label(item: Any, where: JsonPath, warn: Warn) -> RawLabel | None:
    record = obj(item, where)
    if record.get("box2d") is None:
        return None
    b = obj(record["box2d"], (*where, "box2d"))
    box_where: JsonPath = (*where, "box2d")
    x1, y1, x2, y2 = (number_field(b, k, box_where) for k in _CORNERS)
    attributes, dropped = scalar_items(record.get("attributes"), (*where, "attributes"))
    if dropped:
        warn((*where, "attributes"), f"not scalars, so not read: {', '.join(dropped)}")
    cuboid, alpha = parse_box3d(record.get("box3d"), (*where, "box3d"))
    score = record.get("score")
    return RawLabel(
        raw_id=_raw_id(record.get("id"), (*where, "id")),
        where=where,
        record=record,
        cls=text_field(record, "category", where),
        box=Box2D(x1=x1, y1=y1, x2=x2, y2=y2),
        attributes=attributes,
        cuboid=cuboid,
        alpha=alpha,
        score=None if score is None else number(score, (*where, "score")),
    )


_CORNERS = ("x1", "y1", "x2", "y2")


def _raw_id(value: Any, where: JsonPath) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return str(integer(value, where))


def parse_box3d(value: Any, where: JsonPath) -> tuple[Cuboid3D | None, float | None]:
    """Scalabel box3d -> (cuboid with a bottom-centre location, alpha); see the package docstring."""
    if value is None:
        return None, None
    box = obj(value, where)
    x, y, z = numbers_field(box, "location", where, 3)
    h, w, l = numbers_field(box, "dimension", where, 3)  # noqa: E741
    _, ry, _ = numbers_field(box, "orientation", where, 3)
    alpha = number(box["alpha"], (*where, "alpha")) if box.get("alpha") is not None else None
    # Rounded to a micrometre: without it, a y written as a centre reads back off by float noise.
    cuboid = Cuboid3D(h=h, w=w, l=l, x=x, y=round(y + h / 2, 6), z=z, rotation_y=ry)
    return cuboid, alpha if alpha is not None and alpha > -10 else None


def _merge_repeats(frames: list[RawFrame], problems: list[InputProblem]) -> list[RawFrame]:
    first: dict[str, RawFrame] = {}
    out: list[RawFrame] = []
    for frame in frames:
        seen = first.get(frame.id)
        if seen is None:
            first[frame.id] = frame
            out.append(frame)
            continue
        where = f"{seen.doc.path}:{seen.doc.line_of(seen.where)}"
        message = f"frame {frame.id!r} already read at {where}: its labels are added to it"
        problems.append(frame.doc.problem(frame.where, message, ProblemLevel.warning))
        for label in frame.labels:
            label.doc = label.doc or frame.doc
        seen.labels.extend(frame.labels)
    return out
