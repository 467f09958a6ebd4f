"""Patching JSON label files (COCO, BDD100K / Scalabel): a file no audit touched is copied byte for
byte; in a touched file, only the records of labels an audit changed, removed or added differ, and in
a changed record only the fields whose value changed (a polygon, ``box3d: null``, ``attributes: null``
and any field gtqa does not read stay as they were). Everything the reader skipped (labels without a
box, records it rejected) is carried through untouched."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gtqa.domain import Dataset, Frame, Label
from gtqa.formats._json import JsonPath, Places, dump_json, json_files, load_json
from gtqa.formats.export.diff import Changes, changes

_MISSING = object()


@dataclass(frozen=True)
class JsonFormat:
    """How one JSON format renders a label's record and adds a new one.

    ``render(data, label, frame, src)`` gives the record a label would have, given its source record
    ``src`` (``{}`` for a new label) in the file ``data``; ``add(data, frame_where, record, frame)``
    appends a new label's record for the frame whose record is at ``frame_where`` and returns the
    label id it will be read back with. ``inner`` names a nested list written one item a line."""

    render: Callable[[Any, Label, Frame, dict[str, Any]], dict[str, Any]]
    add: Callable[[Any, JsonPath, dict[str, Any], Frame, Label], str]
    inner: str | None = None


def patch_json(
    original: Dataset, corrected: Dataset, places: Places, out: Path, fmt: JsonFormat
) -> dict[str, str]:
    """Write every JSON file of the source under ``out`` at its relative path, patched; returns {label
    id in the dataset: label id in the written copy}."""
    diff = changes(original, corrected)
    root = Path(original.root)
    frames = {frame.id: frame for frame in original.frames}
    before = {label.id: label for label in original.labels()}
    ids = {i: i for i in before if i not in diff.removed}
    for path in json_files(root):
        target = out / (path.name if root.is_file() else path.relative_to(root))
        target.parent.mkdir(parents=True, exist_ok=True)
        if not _touched(path, diff, places):
            shutil.copyfile(path, target)
            continue
        ids.update(_patch_file(path, target, diff, places, before, frames, fmt))
    return ids


def _touched(path: Path, diff: Changes, places: Places) -> bool:
    labels = (places.labels.get(i) for i in (*diff.changed, *diff.removed))
    frames = (places.frames.get(i) for i in diff.added)
    return any(p is not None and p[0] == path for p in (*labels, *frames))


def _patch_file(
    path: Path,
    target: Path,
    diff: Changes,
    places: Places,
    before: dict[str, Label],
    frames: dict[str, Frame],
    fmt: JsonFormat,
) -> dict[str, str]:
    doc = load_json(path, [])
    if doc is None:  # it was read a moment ago; it changed or vanished since
        raise OSError(f"{path}: cannot read it again to patch it")
    data = doc.data
    for ident, label in diff.changed.items():
        where = _here(places.labels, ident, path)
        if where is not None:
            src = _at(data, where)
            frame = frames[label.frame]
            old = fmt.render(data, before[ident], frame, src)
            _set(data, where, patch_record(src, old, fmt.render(data, label, diff.frames[frame.id], src)))
    ids: dict[str, str] = {}
    for frame_id, labels in diff.added.items():
        at = _here(places.frames, frame_id, path)
        if at is None:
            continue
        frame = diff.frames[frame_id]
        for label in labels:
            ids[label.id] = fmt.add(data, at, fmt.render(data, label, frame, {}), frame, label)
    removed = [w for i in diff.removed if (w := _here(places.labels, i, path)) is not None]
    for where in sorted(removed, key=lambda w: (w[:-1], w[-1]), reverse=True):
        del _at(data, where[:-1])[where[-1]]
    dump_json(target, data, inner=fmt.inner)
    return ids


def patch_record(record: dict[str, Any], old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``record`` with every key whose rendered value differs between ``old`` and ``new`` set to the
    new value (or removed); a nested object changes key by key, so what gtqa does not read stays."""
    out = dict(record)
    for key in [*old, *(k for k in new if k not in old)]:
        was, now = old.get(key, _MISSING), new.get(key, _MISSING)
        if _same(was, now):
            continue
        if now is _MISSING:
            out.pop(key, None)
        elif isinstance(was, dict) and isinstance(now, dict) and isinstance(out.get(key), dict):
            out[key] = patch_record(out[key], was, now)
        else:
            out[key] = now
    return out


def _same(a: object, b: object) -> bool:
    if a is _MISSING or b is _MISSING:
        return a is b
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _here(table: dict[str, tuple[Path, JsonPath]], ident: str, path: Path) -> JsonPath | None:
    place = table.get(ident)
    return place[1] if place is not None and place[0] == path else None


def _at(data: Any, where: JsonPath) -> Any:
    for part in where:
        data = data[part]
    return data


def _set(data: Any, where: JsonPath, value: Any) -> None:
    _at(data, where[:-1])[where[-1]] = value
