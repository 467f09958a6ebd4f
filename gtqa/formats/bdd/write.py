"""Writing BDD100K / Scalabel JSON: corrected labels back, the source's other fields kept."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from gtqa.domain import Cuboid3D, Dataset, Frame, Label
from gtqa.formats._json import JsonPath, JsonSchemaError, dump_json, gc_paused
from gtqa.formats._json_fields import scalar_items
from gtqa.formats.bdd.ids import SOURCE_ID, frame_label_ids, label_ids
from gtqa.formats.bdd.parse import parse_box3d, read_raw
from gtqa.formats.export.json_patch import JsonFormat

_LABEL_KEYS = frozenset({"id", "category", "attributes", "box2d", "box3d"})  # what the writer owns


@gc_paused
def write_bdd(dataset: Dataset, out: Path) -> dict[str, str]:
    """Write ``<out>/<source stem or 'labels'>.json`` (a list of frames, or the source's ``{"frames"}``
    object with its ``config``); returns {label id: label id when read back}.

    Frames and labels of a BDD source keep their other fields (url, timestamp, attributes of the
    frame; manualShape, poly2d… of a label). A box3d whose cuboid is unchanged is written as read."""
    source_frames, source_labels, top = _source(dataset)
    raw_tracks = _raw_track_ids(dataset)
    records: list[dict[str, Any]] = []
    entries: list[tuple[str, bool, str | None, int]] = []
    order: list[str] = []
    for frame in dataset.frames:
        record = dict(source_frames.get(frame.id) or _new_frame(frame))
        labels = []
        for pos, label in enumerate(frame.labels):
            raw = _raw_id_out(label, frame, raw_tracks)
            labels.append(_label_record(label, raw, source_labels.get(label.id, {})))
            entries.append((frame.id, frame.sequence is not None, raw, pos))
            order.append(label.id)
        record["labels"] = labels
        records.append(record)
    root = Path(dataset.root)
    data: Any = {**top, "frames": records} if top is not None else records
    dump_json(out / f"{root.stem if root.suffix == '.json' else 'labels'}.json", data, inner="labels")
    return dict(zip(order, label_ids(entries), strict=True))


def _source(
    dataset: Dataset,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, Any] | None]:
    """Source frame records by frame id, label records by label id, and the top-level object of a
    single-file Scalabel dataset (without its frames)."""
    root = Path(dataset.root)
    if dataset.format != "bdd" or not root.exists():
        return {}, {}, None
    raw = read_raw(root, [])
    ids = frame_label_ids(raw, [])
    frames = {f.id: {k: v for k, v in f.record.items() if k != "labels"} for f in raw}
    labels = {
        i: lab.record for f, fids in zip(raw, ids, strict=True) for lab, i in zip(f.labels, fids, strict=True)
    }
    top = None
    if root.is_file() and raw and isinstance(raw[0].doc.data, dict):
        top = {k: v for k, v in raw[0].doc.data.items() if k != "frames"}
    return frames, labels, top


def _new_frame(frame: Frame) -> dict[str, Any]:
    suffix = Path(frame.image).suffix if frame.image else ".jpg"
    if frame.sequence is None:
        record: dict[str, Any] = {"name": f"{frame.id}{suffix}"}
    else:
        record = {
            "name": f"{frame.sequence}-{frame.index + 1:07d}{suffix}",  # BDD100K's own naming
            "videoName": frame.sequence,
            "frameIndex": frame.index,
        }
    if frame.width and frame.height:
        record["size"] = {"width": frame.width, "height": frame.height}
    return record


def _raw_track_ids(dataset: Dataset) -> dict[tuple[str, int], str]:
    """``(sequence, track id) -> raw id``: the raw id most labels of that track carry (a corrected
    track id on one label does not rename the track it joined)."""
    votes: dict[tuple[str, int], Counter[str]] = {}
    for frame in dataset.frames:
        for label in frame.labels:
            raw = label.attributes.get(SOURCE_ID)
            if frame.sequence is not None and label.track_id is not None and isinstance(raw, str):
                votes.setdefault((frame.sequence, label.track_id), Counter())[raw] += 1
    return {key: counter.most_common(1)[0][0] for key, counter in votes.items()}


def _raw_id_out(label: Label, frame: Frame, raw_tracks: dict[tuple[str, int], str]) -> str | None:
    """The id to write. In a video frame it is the track identity, so a label on no track (a DontCare
    region from KITTI tracking) is written without one."""
    if frame.sequence is not None:
        if label.track_id is None:
            return None
        return raw_tracks.get((frame.sequence, label.track_id), str(label.track_id))
    raw = label.attributes.get(SOURCE_ID)
    return raw if isinstance(raw, str) else label.id


def _label_record(label: Label, raw_id: str | None, src: dict[str, Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = {k: v for k, v in label.attributes.items() if k != SOURCE_ID}
    if label.occlusion is not None:
        attributes["occluded"] = label.occlusion > 0
    if label.truncation is not None:
        attributes["truncated"] = label.truncation > 0
    src_attrs = src.get("attributes")
    if isinstance(src_attrs, dict):  # non-scalar attributes the reader could not carry
        kept, _ = scalar_items(src_attrs, ())
        attributes.update({k: v for k, v in src_attrs.items() if k not in kept and k not in attributes})
    record: dict[str, Any] = {} if raw_id is None else {"id": raw_id}
    record["category"] = label.cls
    if attributes or "attributes" in src:
        record["attributes"] = attributes
    b = label.box
    record["box2d"] = {"x1": b.x1, "y1": b.y1, "x2": b.x2, "y2": b.y2}
    if label.cuboid is not None:
        record["box3d"] = _box3d_out(label.cuboid, label.alpha, src.get("box3d"))
    record.update((k, v) for k, v in src.items() if k not in _LABEL_KEYS)
    return record


def _box3d_out(c: Cuboid3D, alpha: float | None, src: Any) -> dict[str, Any]:
    """Scalabel's box3d of a cuboid (the inverse of ``parse_box3d``); the source's own when unchanged,
    so the roll and pitch gtqa does not model survive."""
    try:
        if parse_box3d(src, ()) == (c, alpha):
            return dict(src)
    except JsonSchemaError:
        pass
    return {
        "alpha": -10.0 if alpha is None else alpha,
        "orientation": [0.0, c.rotation_y, 0.0],
        # Rounding drops float noise from y - h/2, so reading back gives the same y.
        "location": [c.x, round(c.y - c.h / 2, 9), c.z],
        "dimension": [c.h, c.w, c.l],
    }


def bdd_patch_format(corrected: Dataset) -> JsonFormat:
    """How ``gtqa.formats.export`` renders and adds BDD label records (the writer's own rules)."""
    tracks = _raw_track_ids(corrected)

    def render(data: Any, label: Label, frame: Frame, src: dict[str, Any]) -> dict[str, Any]:
        return _label_record(label, _raw_id_out(label, frame, tracks), src)

    def add(data: Any, where: JsonPath, record: dict[str, Any], frame: Frame, label: Label) -> str:
        frame_record = _at(data, where)
        if not isinstance(frame_record.get("labels"), list):
            frame_record["labels"] = []
        frame_record["labels"].append(record)
        raw = record.get("id", f"#{len(frame_record['labels']) - 1}")
        return str(raw) if frame.sequence is None else f"{frame.id}:{raw}"

    return JsonFormat(render=render, add=add, inner="labels")


def _at(data: Any, where: JsonPath) -> Any:
    for part in where:
        data = data[part]
    return data
