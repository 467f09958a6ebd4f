"""Patching KITTI object and tracking label files: every line is copied byte for byte unless an audit
changed, removed or added its label. A changed line keeps each field whose value did not change as it
was written (``0.00`` stays ``0.00``, an occlusion of 3 stays 3, a score column stays), so only the
fields an audit changed differ."""

from __future__ import annotations

import codecs
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from gtqa.domain import Dataset, Frame, Label
from gtqa.formats.export.diff import Changes, changes
from gtqa.formats.kitti import format_object_fields

_BREAKS = re.compile(r"(?<=\r\n)|(?<=\r)(?!\n)|(?<=\n)")  # split after \r\n, \r or \n, keeping them
Render = Callable[[Label, Frame], str]  # the KITTI text of a label in a frame, one line without break


def patch_kitti(original: Dataset, corrected: Dataset, out: Path) -> dict[str, str]:
    """``label_2/`` of the source with the audits' changes; {label id: label id in the written copy}."""
    return _patch(original, corrected, out, "label_2", _kitti_line, lambda f: f.id)


def patch_kitti_tracking(original: Dataset, corrected: Dataset, out: Path) -> dict[str, str]:
    """``label_02/`` of the source with the audits' changes; {label id: label id in the written copy}."""
    return _patch(original, corrected, out, "label_02", _tracking_line, lambda f: f.sequence or "0000")


def _kitti_line(label: Label, frame: Frame) -> str:
    return format_object_fields(label)


def _tracking_line(label: Label, frame: Frame) -> str:
    track = -1 if label.track_id is None else label.track_id
    return f"{frame.index} {track} {format_object_fields(label, truncation_levels=True)}"


def _patch(
    original: Dataset,
    corrected: Dataset,
    out: Path,
    folder: str,
    render: Render,
    stem_of: Callable[[Frame], str],
) -> dict[str, str]:
    diff = changes(original, corrected)
    before = {label.id: (label, frame) for frame in original.frames for label in frame.labels}
    added: dict[str, list[tuple[Label, Frame]]] = {}
    for frame_id, labels in diff.added.items():
        frame = diff.frames[frame_id]
        added.setdefault(stem_of(frame), []).extend((label, frame) for label in labels)
    source, target = Path(original.root) / folder, out / folder
    target.mkdir(parents=True, exist_ok=True)
    touched = {_stem(i) for i in (*diff.changed, *diff.removed)} | set(added)
    # A label id is ``<file stem>:<line index>``: an untouched file keeps every id.
    ids = {i: i for i in before if _stem(i) not in touched}
    stems: set[str] = set()
    for path in sorted(p for p in source.iterdir() if p.is_file()):
        stems.add(path.stem)
        if path.suffix != ".txt" or path.stem not in touched:
            shutil.copyfile(path, target / path.name)
            continue
        ids.update(_patch_file(path, target / path.name, diff, before, added.get(path.stem, []), render))
    for stem in sorted(set(added) - stems):
        ids.update(_new_file(target / f"{stem}.txt", added[stem], render))
    return ids


def _stem(label_id: str) -> str:
    return label_id.rsplit(":", 1)[0]


def _patch_file(
    path: Path,
    target: Path,
    diff: Changes,
    before: dict[str, tuple[Label, Frame]],
    added: list[tuple[Label, Frame]],
    render: Render,
) -> dict[str, str]:
    data = path.read_bytes()
    encoding, bom, text = _decode(data)
    lines = _BREAKS.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    kept: list[str] = []
    ids: dict[str, str] = {}
    for index, line in enumerate(lines):
        ident = f"{path.stem}:{index}"
        if ident in diff.removed:
            continue
        if ident in diff.changed:
            old, frame = before[ident]
            line = _patched_line(line, render(old, frame), render(diff.changed[ident], frame))
        if ident in before:
            ids[ident] = f"{path.stem}:{len(kept)}"
        kept.append(line)
    if added and kept and not kept[-1].endswith(("\n", "\r")):
        kept[-1] += _break_of(kept)
    for label, frame in added:
        ids[label.id] = f"{path.stem}:{len(kept)}"
        kept.append(render(label, frame) + _break_of(kept))
    target.write_bytes(bom + "".join(kept).encode(encoding, errors="surrogateescape"))
    return ids


def _new_file(target: Path, added: list[tuple[Label, Frame]], render: Render) -> dict[str, str]:
    target.write_text("".join(f"{render(label, frame)}\n" for label, frame in added), encoding="utf-8")
    return {label.id: f"{target.stem}:{i}" for i, (label, _) in enumerate(added)}


def _decode(data: bytes) -> tuple[str, bytes, str]:
    """The codec, byte-order mark and text of a label file (UTF-8, or UTF-16 with a mark)."""
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return codec, bom, data[len(bom) :].decode(codec)
    bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    return "utf-8", bom, data[len(bom) :].decode("utf-8", errors="surrogateescape")


def _break_of(lines: list[str]) -> str:
    """The line break the file uses (its first line's), ``\\n`` for a file without one."""
    first = lines[0] if lines else ""
    return "\r\n" if first.endswith("\r\n") else "\r" if first.endswith("\r") else "\n"


def _patched_line(line: str, old: str, new: str) -> str:
    """``line`` with only the fields whose rendered value changed replaced; extra trailing fields
    (a score column) and the line break are kept."""
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    raw, was, now = body.split(), old.split(), new.split()
    tokens = [
        raw[j] if j < len(raw) and j < len(was) and was[j] == token else token for j, token in enumerate(now)
    ]
    return " ".join([*tokens, *raw[len(now) :]]) + ending


__all__ = ["patch_kitti", "patch_kitti_tracking"]
