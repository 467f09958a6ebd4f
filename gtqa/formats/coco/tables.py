"""The tables of a COCO instances file: categories, videos and images (with their frame ids)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gtqa.domain import InputProblem, ProblemLevel, RecordKind, SourceRef
from gtqa.formats._json import JsonDoc, JsonPath, JsonSchemaError, Warn, gc_paused, json_files, load_json
from gtqa.formats._json_fields import arr, int_field, integer, obj, required, text, text_field


@dataclass(frozen=True)
class CocoIds:
    """How COCO results name things: image id -> frame id, category id -> class name."""

    images: Mapping[int, str]
    categories: Mapping[int, str]


@dataclass
class ImageEntry:
    """One valid ``images[]`` entry: ``where`` is its JSON path, ``frame`` its frame id (assigned once
    the whole table is read), ``index`` its frame index in a video."""

    image_id: int
    file_name: str
    where: JsonPath
    entry: dict[str, Any]
    width: int | None = None
    height: int | None = None
    sequence: str | None = None
    index: int | None = None
    frame: str = ""


@dataclass
class Tables:
    """One file's images and categories, validated; ``skipped`` holds ids of images left out."""

    doc: JsonDoc
    categories: dict[int, str]
    images: dict[int, ImageEntry]
    skipped: set[int] = field(default_factory=set)
    joined: set[int] = field(default_factory=set)  # images an earlier file (another task) read
    source: SourceRef = field(init=False)  # where its labels come from: one value for them all

    def __post_init__(self) -> None:
        self.source = SourceRef(path=str(self.doc.path))


@gc_paused
def coco_ids(root: Path) -> CocoIds:
    """The id tables of a COCO dataset (read again; problems were reported when it was loaded)."""
    images: dict[int, str] = {}
    categories: dict[int, str] = {}
    seen: dict[str, str] = {}
    for path in json_files(root):
        doc = load_json(path, [])
        tables = read_tables(doc, [], seen) if doc else None
        if tables is not None:
            for image in tables.images.values():
                images.setdefault(image.image_id, image.frame)
            for cat_id, name in tables.categories.items():
                categories.setdefault(cat_id, name)
    return CocoIds(images=images, categories=categories)


def read_tables(doc: JsonDoc, problems: list[InputProblem], seen_frames: dict[str, str]) -> Tables | None:
    """The file's tables, or None (with a problem) when it is no COCO instances object.

    ``seen_frames`` maps the frame ids read from earlier files to their image's file name: the same
    image in another task's file (COCO 2017 ships instances, person_keypoints, captions and stuff for
    one image table) is ``joined`` (its labels go to that frame); another image claiming a frame id
    already read is skipped, with a problem. New frames are added to it."""
    top = doc.data
    if not isinstance(top, dict):
        hint = " (a list is a COCO results file: give it with --predictions)" if isinstance(top, list) else ""
        problems.append(doc.problem((), f"expected a COCO instances object{hint}"))
        return None
    try:
        entries = arr(required(top, "images", ()), ("images",))
    except JsonSchemaError as exc:
        problems.append(doc.schema_problem(exc))
        return None
    tables = Tables(doc=doc, categories=_categories(doc, top, problems), images={})
    videos = _videos(doc, top, problems)
    images = _images(doc, entries, videos, problems, tables.skipped)
    _assign_frame_ids(doc, images, problems)
    for image in images:
        if seen_frames.get(image.frame) == image.file_name:
            tables.joined.add(image.image_id)
            tables.images[image.image_id] = image
            continue
        if image.frame in seen_frames:
            problems.append(
                doc.problem(image.where, f"frame {image.frame!r} was already read: image skipped").of(
                    RecordKind.frame
                )
            )
            tables.skipped.add(image.image_id)
            continue
        seen_frames[image.frame] = image.file_name
        tables.images[image.image_id] = image
    return tables


def _categories(doc: JsonDoc, top: dict[str, Any], problems: list[InputProblem]) -> dict[int, str]:
    """The category table; a task file without boxes (captions) needs none."""
    out: dict[int, str] = {}
    if "categories" not in top and not has_boxes(top):
        return out
    try:
        items = arr(required(top, "categories", ()), ("categories",))
    except JsonSchemaError as exc:
        problems.append(doc.schema_problem(exc))
        return out
    for i, item in enumerate(items):
        where: JsonPath = ("categories", i)
        try:
            entry = obj(item, where)
            cat_id = int_field(entry, "id", where)
            name = text_field(entry, "name", where)
            if cat_id in out:
                raise JsonSchemaError((*where, "id"), f"category id {cat_id} is used twice")
        except JsonSchemaError as exc:
            problems.append(doc.schema_problem(exc))
            continue
        out[cat_id] = name
    return out


def has_boxes(top: dict[str, Any]) -> bool:
    """Whether a file's annotations have boxes (COCO captions have none): no annotations counts."""
    items = top.get("annotations")
    if not isinstance(items, list) or not items:
        return True
    return any(isinstance(item, dict) and "bbox" in item for item in items)


def _videos(doc: JsonDoc, top: dict[str, Any], problems: list[InputProblem]) -> dict[int, str]:
    out: dict[int, str] = {}
    for i, item in enumerate(top.get("videos") or []):
        where: JsonPath = ("videos", i)
        try:
            entry = obj(item, where)
            video_id = int_field(entry, "id", where)
            name = entry.get("name")
            out[video_id] = text(name, (*where, "name")) if name is not None else str(video_id)
        except JsonSchemaError as exc:
            problems.append(doc.schema_problem(exc))
    return out


def _images(
    doc: JsonDoc, entries: list[Any], videos: dict[int, str], problems: list[InputProblem], skipped: set[int]
) -> list[ImageEntry]:
    out: list[ImageEntry] = []
    ids: set[int] = set()

    warn = doc.warner(problems)
    for i, item in enumerate(entries):
        where: JsonPath = ("images", i)
        try:
            image = _image(item, where, videos, warn)
            if image.image_id in ids:
                raise JsonSchemaError((*where, "id"), f"image id {image.image_id} is used twice")
        except JsonSchemaError as exc:
            problems.append(doc.schema_problem(exc).of(RecordKind.frame))
            if isinstance(item, dict) and isinstance(item.get("id"), int) and item["id"] not in ids:
                skipped.add(item["id"])  # its annotations go with it, without a problem each
            continue
        ids.add(image.image_id)
        out.append(image)
    _number_video_frames(out)
    return out


def _image(item: Any, where: JsonPath, videos: dict[int, str], warn: Warn) -> ImageEntry:
    entry = obj(item, where)
    image = ImageEntry(
        image_id=int_field(entry, "id", where),
        file_name=text_field(entry, "file_name", where),
        where=where,
        entry=entry,
        width=_size(entry, "width", where, warn),
        height=_size(entry, "height", where, warn),
    )
    if entry.get("video_id") is not None:
        video_id = integer(entry["video_id"], (*where, "video_id"))
        image.sequence = videos.get(video_id, str(video_id))
        for key in ("frame_id", "frame_index"):
            if entry.get(key) is not None:
                image.index = integer(entry[key], (*where, key))
                break
    return image


def _size(entry: dict[str, Any], key: str, where: JsonPath, warn: Warn) -> int | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 1_000_000:
        return value
    warn((*where, key), f"not a positive pixel count: {value!r} (size taken from the image, if any)")
    return None


def _number_video_frames(images: list[ImageEntry]) -> None:
    """A video frame without an index takes its position among that video's images."""
    position: Counter[str] = Counter()
    for image in images:
        if image.sequence is not None:
            if image.index is None:
                image.index = position[image.sequence]
            position[image.sequence] += 1


def _assign_frame_ids(doc: JsonDoc, images: list[ImageEntry], problems: list[InputProblem]) -> None:
    stems = Counter(Path(i.file_name).stem for i in images if i.sequence is None)
    shared = sorted(s for s, n in stems.items() if n > 1)
    if shared:
        problems.append(
            doc.problem(
                ("images",),
                f"images share the file name stem {shared[0]!r}: frame ids are image ids in this file",
                ProblemLevel.warning,
            )
        )
    for image in images:
        if image.sequence is not None:
            image.frame = f"{image.sequence}/{image.index:06d}"
        else:
            image.frame = str(image.image_id) if shared else Path(image.file_name).stem
