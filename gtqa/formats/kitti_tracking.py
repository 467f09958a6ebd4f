"""KITTI tracking benchmark: ``label_02/<seq>.txt``, optional ``image_02/<seq>/`` and ``calib/<seq>.txt``.

One object per line: ``frame track_id type truncated occluded alpha x1 y1 x2 y2 h w l x y z rotation_y``.
``truncated`` is a level 0/1/2 (mapped to 0, 0.5, 1; the level is kept in ``attributes``), ``track_id``
is -1 for DontCare. Frame ids are ``<seq>/<index:06d>``; label ids ``<seq>:<0-based line index>``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from gtqa.domain import Dataset, Frame, FrameStream, InputFormatError, InputProblem, Label, RecordKind
from gtqa.formats._text import expect_fields, iter_lines
from gtqa.formats.calib import read_calib
from gtqa.formats.kitti import format_object_fields, locate_image, parse_object_fields

MAX_FRAME_INDEX = 10_000_000
MAX_FRAME_SPAN = 200_000


def frame_id(sequence: str, index: int) -> str:
    return f"{sequence}/{index:06d}"


def read_kitti_tracking(root: Path, *, sequences: Sequence[str] | None = None) -> Dataset:
    """Read a KITTI tracking folder whole (``stream_kitti_tracking``, collected)."""
    return stream_kitti_tracking(root, sequences=sequences).to_dataset()


def stream_kitti_tracking(root: Path, *, sequences: Sequence[str] | None = None) -> FrameStream:
    """A KITTI tracking folder, one sequence file at a time: a sequence's frames are built from its one
    label file (capped at ``MAX_TEXT_FILE_BYTES``), so memory is bounded by the largest sequence, not
    the folder."""
    label_dir = root / "label_02"
    if not label_dir.is_dir():
        raise InputFormatError(str(root), 0, "no label_02/ folder: not a KITTI tracking dataset")
    problems: list[InputProblem] = []
    seqs = list(sequences) if sequences is not None else sorted(p.stem for p in label_dir.glob("*.txt"))
    frames = (frame for seq in seqs for frame in _read_sequence(root, seq, problems))
    return FrameStream(root.name, "kitti-tracking", str(root), frames, problems)


def _read_sequence(root: Path, seq: str, problems: list[InputProblem]) -> list[Frame]:
    path = root / "label_02" / f"{seq}.txt"
    by_frame: dict[int, list[Label]] = defaultdict(list)
    for index, text in iter_lines(path, problems):
        try:
            frame_index, label = _parse_line(text.split(), path, index, seq)
        except InputFormatError as exc:
            problems.append(exc.problem.of(RecordKind.label))
            continue
        by_frame[frame_index].append(label)
    calib_path = root / "calib" / f"{seq}.txt"
    calib = read_calib(calib_path, problems) if calib_path.is_file() else None
    image_dir = root / "image_02" / seq
    image_indices = {
        int(p.stem)
        for p in image_dir.glob("*.png")
        if p.stem.isascii() and p.stem.isdigit() and int(p.stem) <= MAX_FRAME_INDEX
    }
    frames = []
    for i in _frame_indices(set(by_frame) | image_indices):
        image, size = (None, None)
        if i in image_indices:
            image, size = locate_image(image_dir, f"{i:06d}", problems)
        frames.append(
            Frame(
                id=frame_id(seq, i),
                sequence=seq,
                index=i,
                image=image,
                width=size[0] if size else None,
                height=size[1] if size else None,
                calib=calib,
                labels=tuple(by_frame.get(i, ())),
            )
        )
    return frames


def _frame_indices(present: set[int]) -> list[int]:
    """Every index from 0 to the last one seen (a frame where nobody labelled anything still exists),
    unless the span is absurd, then only the indices present."""
    last = max(present, default=-1)
    return list(range(last + 1)) if last < MAX_FRAME_SPAN else sorted(present)


def _parse_line(tokens: list[str], path: Path, index: int, seq: str) -> tuple[int, Label]:
    expect_fields(tokens, (17, 18), path, index, "a KITTI tracking label")
    try:
        frame_index, track = int(tokens[0]), int(tokens[1])
    except ValueError:
        raise InputFormatError(
            str(path), index + 1, f"frame and track_id must be integers: {tokens[0]!r} {tokens[1]!r}"
        ) from None
    if frame_index < 0 or frame_index > MAX_FRAME_INDEX:
        raise InputFormatError(str(path), index + 1, f"frame index out of range: {frame_index}")
    label = parse_object_fields(
        tokens[2:],
        path,
        index,
        label_id=f"{seq}:{index}",
        frame_id=frame_id(seq, frame_index),
        track_id=track if track >= 0 else None,
        truncation_levels=True,
    )
    return frame_index, label


def write_kitti_tracking(dataset: Dataset, out: Path) -> dict[str, str]:
    """Write ``label_02/<seq>.txt``; returns {label id in dataset: label id in the written copy}."""
    (out / "label_02").mkdir(parents=True, exist_ok=True)
    lines: dict[str, list[str]] = defaultdict(list)
    ids: dict[str, str] = {}
    for frame in dataset.frames:
        seq = frame.sequence or "0000"
        for label in frame.labels:
            ids[label.id] = f"{seq}:{len(lines[seq])}"
            track = -1 if label.track_id is None else label.track_id
            lines[seq].append(f"{frame.index} {track} {format_object_fields(label, truncation_levels=True)}")
    for seq, rows in lines.items():
        (out / "label_02" / f"{seq}.txt").write_text("".join(f"{r}\n" for r in rows), encoding="utf-8")
    return ids
