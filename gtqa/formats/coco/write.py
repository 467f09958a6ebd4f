"""Writing COCO instances: corrected labels back in the source's own file, its metadata kept."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gtqa.domain import Dataset, Frame, Label
from gtqa.formats._json import JsonPath, dump_json, gc_paused, json_files, load_json
from gtqa.formats._json_fields import scalar_items
from gtqa.formats.coco.read import CROWD_KEYS, DONTCARE
from gtqa.formats.coco.tables import read_tables
from gtqa.formats.export.json_patch import JsonFormat

_OWNED = frozenset(
    {"id", "image_id", "category_id", "bbox", "iscrowd", "attributes", "track_id", "instance_id"}
)


@dataclass
class _Source:
    """What the source files hold beyond labels, so a corrected copy keeps it: top-level keys (info,
    licenses), image entries by frame id, categories, videos and annotation entries by label id."""

    top: dict[str, Any] = field(default_factory=dict)
    images: dict[str, dict[str, Any]] = field(default_factory=dict)
    categories: list[dict[str, Any]] = field(default_factory=list)
    videos: list[dict[str, Any]] = field(default_factory=list)
    annotations: dict[str, dict[str, Any]] = field(default_factory=dict)


@gc_paused
def write_coco(dataset: Dataset, out: Path) -> dict[str, str]:
    """Write ``<out>/<source stem or 'annotations'>.json``; returns {label id: label id when read back}.

    Image entries, categories, videos, ``info`` and ``licenses`` of the source are kept; an annotation
    keeps its other fields (``segmentation``, ``area``…) unless its box changed, when ``area`` becomes
    the box area and ``segmentation`` is dropped (it would no longer match)."""
    source = _source(dataset)
    cat_ids, categories = _category_table(dataset, source)
    image_ids, images, videos = _image_table(dataset, source)
    annotations: list[dict[str, Any]] = []
    ids: dict[str, str] = {}
    # A label keeps its id when it is a number; the source's ids and the labels' own are reserved.
    reserved = [int(k) for k in source.annotations if k.isdigit()]
    new_ids = _Ids([*reserved, *(int(lab.id) for lab in dataset.labels() if lab.id.isdigit())])
    for frame in dataset.frames:
        for label in frame.labels:
            ann_id = new_ids.claim(int(label.id) if label.id.isdigit() else None, owned=True)
            annotations.append(_annotation_record(label, ann_id, image_ids[frame.id], cat_ids, source))
            ids[label.id] = str(ann_id)
    doc: dict[str, Any] = {
        **source.top,
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }
    if videos:
        doc["videos"] = videos
    root = Path(dataset.root)
    dump_json(out / f"{root.stem if root.suffix == '.json' else 'annotations'}.json", doc)
    return ids


def _source(dataset: Dataset) -> _Source:
    source = _Source()
    if dataset.format != "coco" or not Path(dataset.root).exists():
        return source
    seen: dict[str, str] = {}
    for path in json_files(Path(dataset.root)):
        doc = load_json(path, [])
        tables = read_tables(doc, [], seen) if doc else None
        if tables is None:
            continue
        top = tables.doc.data
        for key, value in top.items():
            if key not in ("images", "annotations", "categories", "videos"):
                source.top.setdefault(key, value)
        for image in tables.images.values():
            source.images.setdefault(image.frame, image.entry)
        source.categories.extend(c for c in top.get("categories") or [] if isinstance(c, dict))
        source.videos.extend(v for v in top.get("videos") or [] if isinstance(v, dict))
        for entry in top.get("annotations") or []:
            if isinstance(entry, dict) and isinstance(entry.get("id"), int | str):
                source.annotations.setdefault(str(entry["id"]), entry)
    return source


def _category_table(dataset: Dataset, source: _Source) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """The source's categories (ids kept), then one new category per class name not among them."""
    categories: list[dict[str, Any]] = []
    cat_ids: dict[str, int] = {}
    seen: set[int] = set()
    for entry in source.categories:
        if (
            isinstance(entry.get("id"), int)
            and isinstance(entry.get("name"), str)
            and entry["id"] not in seen
        ):
            seen.add(entry["id"])
            categories.append(entry)
            cat_ids.setdefault(entry["name"], entry["id"])
    next_id = max(seen, default=0) + 1
    for label in dataset.labels():
        name = category_name(label)
        if name not in cat_ids:
            cat_ids[name] = next_id
            categories.append({"id": next_id, "name": name})
            next_id += 1
    return cat_ids, categories


def category_name(label: Label) -> str:
    """The COCO category of a label: a crowd region's own category, else its class."""
    if _is_crowd(label):
        return str(label.attributes.get("category", label.cls))
    return label.cls


def _is_crowd(label: Label) -> bool:
    return label.cls == DONTCARE and label.attributes.get("iscrowd") is True


def _image_table(
    dataset: Dataset, source: _Source
) -> tuple[dict[str, int], list[dict[str, Any]], list[dict[str, Any]]]:
    videos = list(source.videos)
    video_ids = {str(v.get("name", v.get("id"))): v["id"] for v in videos if isinstance(v.get("id"), int)}
    ids = _Ids(e["id"] for e in source.images.values() if isinstance(e.get("id"), int))
    image_ids: dict[str, int] = {}
    images: list[dict[str, Any]] = []
    for frame in dataset.frames:
        known = source.images.get(frame.id)
        entry = dict(known or _new_image(frame, video_ids, videos))
        wanted = entry.get("id") if isinstance(entry.get("id"), int) else None
        entry["id"] = ids.claim(wanted, owned=known is not None)
        if frame.width and frame.height:
            entry["width"], entry["height"] = frame.width, frame.height
        image_ids[frame.id] = entry["id"]
        images.append(entry)
    return image_ids, images, videos


def _new_image(frame: Frame, video_ids: dict[str, int], videos: list[dict[str, Any]]) -> dict[str, Any]:
    """An image entry for a frame that came from another format (its id is the frame's index when free)."""
    suffix = Path(frame.image).suffix if frame.image else ".png"
    if frame.sequence is None:
        return {"id": frame.index, "file_name": f"{frame.id}{suffix}"}
    if frame.sequence not in video_ids:
        video_ids[frame.sequence] = max(video_ids.values(), default=0) + 1
        videos.append({"id": video_ids[frame.sequence], "name": frame.sequence})
    return {
        "id": None,
        "file_name": f"{frame.sequence}/{frame.index:06d}{suffix}",
        "video_id": video_ids[frame.sequence],
        "frame_id": frame.index,
    }


class _Ids:
    """Integer ids of written records. A record keeps the id it wants unless a record written before
    took it, or it is new and the source owns that id; otherwise it gets a fresh id above them all."""

    def __init__(self, reserved: Iterable[int]) -> None:
        self._reserved = set(reserved)
        self._taken: set[int] = set()
        self._fresh = max(self._reserved, default=0) + 1

    def claim(self, wanted: int | None, *, owned: bool) -> int:
        free = wanted is not None and wanted not in self._taken and (owned or wanted not in self._reserved)
        if wanted is not None and free:
            ident = wanted
        else:
            while self._fresh in self._taken:
                self._fresh += 1
            ident = self._fresh
        self._taken.add(ident)
        return ident


def _annotation_record(
    label: Label, ann_id: int, image_id: int, cat_ids: dict[str, int], source: _Source
) -> dict[str, Any]:
    src = source.annotations.get(label.id, {})
    b = label.box
    # Rounding drops float noise from x2 - x1, so reading back gives the same x2.
    bbox = [b.x1, b.y1, round(b.x2 - b.x1, 9), round(b.y2 - b.y1, 9)]
    record: dict[str, Any] = {
        "id": ann_id,
        "image_id": image_id,
        "category_id": cat_ids[category_name(label)],
        "bbox": bbox,
        "iscrowd": int(_is_crowd(label)),
    }
    record.update((k, v) for k, v in src.items() if k not in _OWNED)
    if not _same_box(src.get("bbox"), bbox):
        record.pop("segmentation", None)
        record["area"] = max(bbox[2], 0.0) * max(bbox[3], 0.0)
    attributes = _attributes_out(label, src)
    if label.track_id is not None and "track_id" not in attributes:
        record["instance_id" if "instance_id" in src else "track_id"] = label.track_id
    if attributes or "attributes" in src:
        record["attributes"] = attributes
    return record


def _attributes_out(label: Label, src: dict[str, Any]) -> dict[str, Any]:
    """Label attributes (minus what the reader added), synced with occlusion/truncation/track, plus the
    source's non-scalar attributes the reader could not carry."""
    attrs: dict[str, Any] = dict(label.attributes)
    if _is_crowd(label):
        for key in CROWD_KEYS:
            attrs.pop(key, None)
    if label.occlusion is not None:
        attrs["occluded"] = label.occlusion > 0
    if label.truncation is not None:
        attrs["truncated"] = label.truncation > 0
    if label.track_id is not None and "track_id" in attrs:
        attrs["track_id"] = label.track_id
    src_attrs = src.get("attributes")
    if isinstance(src_attrs, dict):
        kept, _ = scalar_items(src_attrs, ())
        attrs.update(
            {k: v for k, v in src_attrs.items() if k not in kept and k not in attrs and v is not None}
        )
    return attrs


def _same_box(old: Any, new: list[float]) -> bool:
    if not isinstance(old, list) or len(old) != 4:
        return False
    try:
        return all(abs(float(a) - b) < 1e-6 for a, b in zip(old, new, strict=True))
    except (TypeError, ValueError):
        return False


def coco_patch_format() -> JsonFormat:
    """How ``gtqa.formats.export`` renders and adds COCO annotation records (the writer's own rules);
    a class the file has no category for gets a new one in that file."""

    def render(data: Any, label: Label, frame: Frame, src: dict[str, Any]) -> dict[str, Any]:
        ann_id, image_id = src.get("id"), src.get("image_id")
        ann_id = ann_id if isinstance(ann_id, int) else 0
        image_id = image_id if isinstance(image_id, int) else 0
        cat_ids = _file_categories(data, category_name(label))
        return _annotation_record(label, ann_id, image_id, cat_ids, _Source(annotations={label.id: src}))

    def add(data: Any, where: JsonPath, record: dict[str, Any], frame: Frame, label: Label) -> str:
        annotations = data.get("annotations")
        if not isinstance(annotations, list):
            annotations = data["annotations"] = []
        taken = [a["id"] for a in annotations if isinstance(a, dict) and isinstance(a.get("id"), int)]
        record["id"] = max(taken, default=0) + 1
        record["image_id"] = _image_at(data, where).get("id")
        annotations.append(record)
        return str(record["id"])

    return JsonFormat(render=render, add=add)


def _file_categories(data: Any, wanted: str) -> dict[str, int]:
    """A file's category ids by name (the first of a name), with ``wanted`` added when missing."""
    if not isinstance(data.get("categories"), list):
        data["categories"] = []
    entries = [c for c in data["categories"] if isinstance(c, dict) and isinstance(c.get("id"), int)]
    ids: dict[str, int] = {}
    for entry in entries:
        ids.setdefault(str(entry.get("name")), entry["id"])
    if wanted not in ids:
        ids[wanted] = max((e["id"] for e in entries), default=0) + 1
        data["categories"].append({"id": ids[wanted], "name": wanted})
    return ids


def _image_at(data: Any, where: JsonPath) -> dict[str, Any]:
    for part in where:
        data = data[part]
    return data if isinstance(data, dict) else {}
