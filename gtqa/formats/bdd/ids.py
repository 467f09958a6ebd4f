"""Label ids and track ids of BDD frames (the rules are in the package docstring)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from gtqa.domain import InputProblem, ProblemLevel
from gtqa.formats._json_fields import dedupe_ids
from gtqa.formats.bdd.parse import RawFrame

SOURCE_ID = "source_id"  # the attribute keeping a label's raw id when its label id differs
_DECIMAL = re.compile(r"[0-9]{1,18}")


def label_ids(entries: Iterable[tuple[str, bool, str | None, int]]) -> list[str]:
    """Label ids for ``(frame id, is video frame, raw id, position in frame)`` entries, by the rules of
    the package docstring (the reader and the writer share them)."""
    return dedupe_ids(_base_ids(list(entries)))


def _base_ids(entries: list[tuple[str, bool, str | None, int]]) -> list[str]:
    items = [(frame, video, raw if raw is not None else f"#{pos}") for frame, video, raw, pos in entries]
    image_ids = [raw for _, video, raw in items if not video]
    raw_ok = len(set(image_ids)) == len(image_ids) and all(r is not None for _, v, r, _ in entries if not v)
    return [raw if (raw_ok and not video) else f"{frame}:{raw}" for frame, video, raw in items]


def frame_label_ids(frames: list[RawFrame], problems: list[InputProblem]) -> list[list[str]]:
    """The label ids of each frame's labels; a warning for each id renamed because it was taken."""
    entries = [
        (f.id, f.sequence is not None, lab.raw_id, j) for f in frames for j, lab in enumerate(f.labels)
    ]
    bases = _base_ids(entries)
    flat = iter(zip(bases, dedupe_ids(bases), strict=True))
    out: list[list[str]] = []
    for frame in frames:
        ids = []
        for label in frame.labels:
            base, ident = next(flat)
            if ident != base:
                message = (
                    f"id {label.raw_id!r} is used twice in frame {frame.id!r}: this label is read as {ident}"
                )
                problems.append(frame.doc.problem((*label.where, "id"), message, ProblemLevel.warning))
            ids.append(ident)
        out.append(ids)
    return out


def track_ids(frames: list[RawFrame]) -> dict[tuple[str, str], int]:
    """``(sequence, raw id) -> track id`` for video frames (see the package docstring)."""
    by_video: dict[str, dict[str, None]] = {}  # video -> its raw ids, in order of first appearance
    for frame in sorted((f for f in frames if f.sequence is not None), key=lambda f: f.index):
        seen = by_video.setdefault(frame.sequence or "", {})
        seen.update(dict.fromkeys(lab.raw_id for lab in frame.labels if lab.raw_id is not None))
    out: dict[tuple[str, str], int] = {}
    for video, raws in by_video.items():
        numeric = all(_DECIMAL.fullmatch(r) for r in raws)
        out.update(((video, r), int(r) if numeric else n) for n, r in enumerate(raws))
    return out
