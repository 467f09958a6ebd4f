"""Reading COCO instances: frames from the image table, labels from the annotations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from gtqa.domain import Box2D, Dataset, Frame, InputProblem, Label, RecordKind
from gtqa.formats._json import (
    JsonDoc,
    JsonPath,
    JsonSchemaError,
    Places,
    Scalar,
    Warn,
    gc_paused,
    json_files,
    load_json,
)
from gtqa.formats._json_fields import (
    arr,
    dedupe_ids,
    int_field,
    integer,
    numbers_field,
    obj,
    reading_order,
    scalar_items,
)
from gtqa.formats.coco.tables import ImageEntry, Tables, has_boxes, read_tables
from gtqa.formats.images import measured_image

DONTCARE = "DontCare"
CROWD_KEYS = ("iscrowd", "category")  # the attributes a crowd label gains on reading


@gc_paused
def read_coco(root: Path) -> Dataset:
    return read_coco_places(root)[0]


@gc_paused
def read_coco_places(root: Path) -> tuple[Dataset, Places]:
    """The dataset, and the file and JSON path of each label's annotation and each frame's image.

    Several files (an ``annotations/`` folder) are one dataset. The same image in several task files
    (COCO 2017's instances, person_keypoints, captions, stuff) is one frame holding the boxes of every
    file; an annotation repeated with the same id, image and box (a keypoints file repeats the
    instances' people) is one label, read from the first file; a file whose annotations have no box
    (captions) is said so once and gives no label."""
    places = Places()
    problems: list[InputProblem] = []
    frames: dict[str, Frame] = {}
    seen_frames: dict[str, str] = {}
    seen_labels: dict[str, tuple[str, Box2D]] = {}
    for path in json_files(root):
        doc = load_json(path, problems)
        tables = read_tables(doc, problems, seen_frames) if doc else None
        if tables is not None:
            for frame in _frames(tables, problems, seen_labels, places):
                known = frames.get(frame.id)
                frames[frame.id] = frame if known is None else _joined(known, frame)
    dataset = Dataset(
        name=root.stem if root.is_file() else root.name,
        format="coco",
        root=str(root),
        frames=tuple(reading_order(list(frames.values()))),
        problems=tuple(problems),
    )
    return dataset, places


def _joined(known: Frame, more: Frame) -> Frame:
    return known.model_copy(update={"labels": known.labels + more.labels})


def _frames(
    tables: Tables, problems: list[InputProblem], seen_labels: dict[str, tuple[str, Box2D]], places: Places
) -> list[Frame]:
    warn = tables.doc.warner(problems)
    located = {
        i: _locate(tables.doc, image, warn) if i not in tables.joined else (None, None, None)
        for i, image in tables.images.items()
    }
    labels, boxes = _labels(tables, problems, seen_labels, places)
    for image in tables.images.values():
        places.add_frame(image.frame, tables.doc, image.where, strong=boxes)
    frames = []
    for image_id, image in tables.images.items():
        path, width, height = located[image_id]
        frames.append(
            Frame(
                id=image.frame,
                sequence=image.sequence,
                index=image.index if image.index is not None else image.image_id,
                image=path,
                width=width,
                height=height,
                labels=tuple(labels.get(image.image_id, ())),
            )
        )
    return frames


def _labels(
    tables: Tables, problems: list[InputProblem], seen_labels: dict[str, tuple[str, Box2D]], places: Places
) -> tuple[dict[int, list[Label]], bool]:
    """The labels by image id, and whether the file's annotations have boxes at all."""
    doc = tables.doc
    warn = doc.warner(problems)
    try:
        items = arr(doc.data.get("annotations") or [], ("annotations",))
    except JsonSchemaError as exc:
        problems.append(doc.schema_problem(exc))
        return {}, False
    if not has_boxes(doc.data):
        message = (
            f"none of its {len(items)} annotations has a bbox (a captions file, or another task "
            "without boxes): no label read from it"
        )
        warn(("annotations",), message)
        return {}, False
    parsed: list[tuple[int, Label, JsonPath]] = []
    for i, item in enumerate(items):
        where: JsonPath = ("annotations", i)
        try:
            found = _annotation(tables, item, where, warn)
        except JsonSchemaError as exc:
            problems.append(doc.schema_problem(exc).of(RecordKind.label))
            continue
        if found is not None and seen_labels.get(found[1].id) != (found[1].frame, found[1].box):
            parsed.append((*found, where))
    place: Callable[[str, JsonPath], None] = lambda ident, where: places.add_label(ident, doc, where)  # noqa: E731
    return _with_unique_ids(parsed, seen_labels, warn, place), True


def _with_unique_ids(
    parsed: list[tuple[int, Label, JsonPath]],
    seen_labels: dict[str, tuple[str, Box2D]],
    warn: Warn,
    place: Callable[[str, JsonPath], None],
) -> dict[int, list[Label]]:
    ids = dedupe_ids([*seen_labels, *(label.id for _, label, _ in parsed)])[len(seen_labels) :]
    out: dict[int, list[Label]] = {}
    for (image_id, label, where), ident in zip(parsed, ids, strict=True):
        if ident != label.id:
            warn((*where, "id"), f"annotation id {label.id} is used twice: this one is read as {ident}")
            label = label.model_copy(update={"id": ident})
        seen_labels[ident] = (label.frame, label.box)
        place(ident, where)
        out.setdefault(image_id, []).append(label)
    return out


def _annotation(tables: Tables, item: Any, where: JsonPath, warn: Warn) -> tuple[int, Label] | None:
    entry = obj(item, where)
    ann_id = _ident(entry, where)
    image_id = int_field(entry, "image_id", where)
    if image_id in tables.skipped:
        return None
    image = tables.images.get(image_id)
    if image is None:
        raise JsonSchemaError((*where, "image_id"), f"image {image_id} is not in images")
    cat_id = int_field(entry, "category_id", where)
    if cat_id not in tables.categories:
        raise JsonSchemaError((*where, "category_id"), f"category {cat_id} is not in categories")
    x, y, w, h = numbers_field(entry, "bbox", where, 4)
    crowd = _crowd(entry, where)
    attrs: dict[str, Scalar] = {}
    if entry.get("attributes") is not None:
        attrs, dropped = scalar_items(entry["attributes"], (*where, "attributes"))
        if dropped:
            warn((*where, "attributes"), f"not scalars, so not read: {', '.join(dropped)}")
    cls = tables.categories[cat_id]
    if crowd:
        attrs.update(iscrowd=True, category=cls)
        cls = DONTCARE
    return image_id, Label(
        id=ann_id,
        frame=image.frame,
        cls=cls,
        box=corners(x, y, w, h),
        occlusion=_level(attrs.get("occluded")),
        truncation=None if (t := _level(attrs.get("truncated"))) is None else float(t),
        track_id=_track(entry, attrs, where),
        attributes=attrs,
        source=tables.source,
    )


def corners(x: float, y: float, w: float, h: float) -> Box2D:
    """A COCO ``[x, y, w, h]`` box as corners. ``x + w`` carries float noise (143.0 + 164.92 is
    307.91999999999996); rounding to 1e-6 px, far below any labelling precision, removes it."""
    return Box2D(x1=x, y1=y, x2=round(x + w, 6), y2=round(y + h, 6))


def _ident(entry: dict[str, Any], where: JsonPath) -> str:
    """The annotation id as text: an integer (COCO's) or a non-empty string."""
    value = entry.get("id")
    if type(value) is int or (type(value) is str and value):
        return str(value)
    return str(int_field(entry, "id", where))


def _crowd(entry: dict[str, Any], where: JsonPath) -> bool:
    value = entry.get("iscrowd", 0)
    if type(value) in (int, bool) and value in (0, 1):
        return bool(value)
    raise JsonSchemaError((*where, "iscrowd"), f"expected 0 or 1, found {value!r}")


def _level(value: object) -> int | None:
    """A boolean occluded/truncated attribute as a 1/0 level; anything else is unknown."""
    return int(value) if isinstance(value, bool) else None


def _track(entry: dict[str, Any], attrs: dict[str, Any], where: JsonPath) -> int | None:
    track: int | None = None
    for key in ("track_id", "instance_id"):
        if entry.get(key) is not None:
            track = integer(entry[key], (*where, key))
            break
    else:
        value = attrs.get("track_id")
        track = value if isinstance(value, int) and not isinstance(value, bool) else None
    return track if track is not None and track >= 0 else None


def _locate(doc: JsonDoc, image: ImageEntry, warn: Warn) -> tuple[str | None, int | None, int | None]:
    """The image path and size; the file's own size wins over the JSON's when both are known."""
    folders = image_folders(doc.path)
    if not folders:
        return None, image.width, image.height
    names = (image.file_name, Path(image.file_name).name)
    path = next((f / n for f in folders for n in names if (f / n).is_file()), None)
    if path is None:
        warn(image.where, f"image file not found: {folders[0] / image.file_name}")
        return None, image.width, image.height
    return measured_image(path, image.width, image.height, lambda message: warn(image.where, message))


def images_folder(json_path: Path) -> Path | None:
    """The first folder ``image_folders`` finds, or None."""
    folders = image_folders(json_path)
    return folders[0] if folders else None


def image_folders(json_path: Path) -> list[Path]:
    """Where a COCO file's images are, most specific first: for ``instances_val2017.json`` (subset
    ``val2017``), ``images/val2017/`` and ``val2017/``, then ``images/``; each next to the JSON or, for
    a file in ``annotations/``, next to that folder."""
    bases = [json_path.parent]
    if json_path.parent.name == "annotations":
        bases.append(json_path.parent.parent)
    subset = json_path.stem.rsplit("_", 1)[-1] if "_" in json_path.stem else None
    candidates = [b / "images" / subset for b in bases] + [b / subset for b in bases] if subset else []
    candidates += [b / "images" for b in bases]
    return [c for c in candidates if c.is_dir()]
