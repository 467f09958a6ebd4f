"""Readers and writers for the ground-truth formats gtqa reviews, and for detector outputs.

``load_dataset`` is the one entry point: it reads labels in a named (or recognised) format and
attaches the predictions of every given detector to their frames. Malformed records never raise:
they are skipped and listed in ``Dataset.problems`` with their file and line. ``open_dataset`` is the
same reading one frame at a time (a ``FrameStream``), for deliveries too large to hold whole: the KITTI
formats are streamed file by file; COCO and BDD are single JSON documents, parsed whole (the API bounds
them by its archive's per-file cap, ``max_member_bytes``); AV2 logs are read whole (one log is a few
hundred frames).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from gtqa.domain import Dataset, Frame, FrameStream, InputFormatError, InputProblem, Prediction, RecordKind
from gtqa.formats._json import json_files
from gtqa.formats.av2 import is_log, read_av2, write_av2
from gtqa.formats.bdd import read_bdd, write_bdd
from gtqa.formats.coco import CocoIds, coco_ids, read_coco, write_coco
from gtqa.formats.json_sniff import sniff_json_format
from gtqa.formats.kitti import kitti_frame_ids, read_kitti, stream_kitti, write_kitti
from gtqa.formats.kitti_tracking import read_kitti_tracking, stream_kitti_tracking, write_kitti_tracking
from gtqa.formats.predictions import group_by_frame, read_predictions, unreadable_sources

Reader = Callable[[Path], Dataset]
Writer = Callable[[Dataset, Path], dict[str, str]]

READERS: dict[str, Reader] = {
    "kitti": read_kitti,
    "kitti-tracking": read_kitti_tracking,
    "coco": read_coco,
    "bdd": read_bdd,
    "av2": read_av2,
}
# The formats read one file at a time; the others are read whole and streamed from memory.
STREAMERS: dict[str, Callable[[Path], FrameStream]] = {
    "kitti": stream_kitti,
    "kitti-tracking": stream_kitti_tracking,
}
WRITERS: dict[str, Writer] = {
    "kitti": write_kitti,
    "kitti-tracking": write_kitti_tracking,
    "coco": write_coco,
    "bdd": write_bdd,
    "av2": write_av2,
}


def detect_format(path: Path) -> str:
    """Recognise a dataset's format from its layout, or raise an error listing the known ones."""
    if (path / "label_2").is_dir():
        return "kitti"
    if (path / "label_02").is_dir():
        return "kitti-tracking"
    if path.is_dir() and (is_log(path) or any(is_log(p) for p in path.iterdir() if p.is_dir())):
        return "av2"
    if path.suffix == ".json" or (path.is_dir() and json_files(path)):
        return sniff_json_format(path)
    raise InputFormatError(str(path), 0, f"cannot recognise the format; give --format ({known_formats()})")


def known_formats() -> str:
    return ", ".join(sorted(READERS))


def load_dataset(path: Path, fmt: str | None = None, predictions: Sequence[Path] = ()) -> Dataset:
    """Read a dataset whole and attach predictions from every source given."""
    return open_dataset(path, fmt, predictions).to_dataset()


def open_dataset(path: Path, fmt: str | None = None, predictions: Sequence[Path] = ()) -> FrameStream:
    """A dataset as a stream of frames with the predictions of every source attached. The prediction
    sources are read up front (they are per frame and far smaller than the labels); the frames are
    read as the stream is consumed, and the stream's problems are complete once it is exhausted."""
    if not path.exists():
        raise InputFormatError(str(path), 0, "no such file or folder")
    fmt = fmt or detect_format(path)
    if fmt not in READERS:
        raise InputFormatError(str(path), 0, f"unknown format {fmt!r}; known: {known_formats()}")
    if fmt not in STREAMERS:
        dataset = READERS[fmt](path)
        return FrameStream.of(attach_predictions(dataset, predictions) if predictions else dataset)
    stream = STREAMERS[fmt](path)
    if not predictions:
        return stream
    ids = set(kitti_frame_ids(path)) if fmt == "kitti" else None  # box2d.list covers frames not read
    sources = [_read_source(source, ids) for source in predictions]
    return FrameStream(stream.name, stream.format, stream.root, _attached(stream, sources), stream.problems)


@dataclass
class _Source:
    """One prediction source read whole: its predictions by frame (taken as their frames pass)."""

    path: Path
    problems: list[InputProblem]
    by_frame: dict[str, list[Prediction]]
    total: int


def _read_source(source: Path, ids: set[str] | None) -> _Source:
    read: list[InputProblem] = []
    found = read_predictions(source, read, ids)
    problems = [p.of(RecordKind.prediction) for p in read]
    return _Source(source, problems, group_by_frame(found), len(found))


def _attached(stream: FrameStream, sources: list[_Source]) -> Iterator[Frame]:
    """The frames with their predictions; then, as ``attach_predictions`` orders them, each source's
    reading problems and one problem for its predictions that named no frame."""
    example = "(none)"
    for frame in stream:
        example = frame.id if example == "(none)" else example
        yield _with_predictions(frame, [p for s in sources for p in s.by_frame.pop(frame.id, [])])
    for source in sources:
        stream.problems.extend(source.problems)
        unmatched = [p for preds in source.by_frame.values() for p in preds]
        if unmatched:
            stream.problems.append(_unmatched(source.path, unmatched, source.total, example))


def attach_predictions(dataset: Dataset, sources: Sequence[Path]) -> Dataset:
    """Predictions of every source on their frames. A prediction record that cannot be read, or that
    names no frame of the dataset, is dropped: one problem per source says how many matched no frame
    and shows a key of each side, so a mismatch of naming is plain."""
    problems: list[InputProblem] = list(dataset.problems)
    ids = {f.id for f in dataset.frames}
    tables = _coco_tables(dataset, sources)
    preds: list[Prediction] = []
    for source in sources:
        read: list[InputProblem] = []
        found = read_predictions(source, read, ids, coco_ids=tables)
        problems.extend(p.of(RecordKind.prediction) for p in read)
        unmatched = [p for p in found if p.frame not in ids]
        if unmatched:
            example = dataset.frames[0].id if dataset.frames else "(none)"
            problems.append(_unmatched(source, unmatched, len(found), example))
        preds.extend(p for p in found if p.frame in ids)
    by_frame = group_by_frame(preds)
    frames = tuple(_with_predictions(f, by_frame.get(f.id, [])) for f in dataset.frames)
    return dataset.model_copy(update={"frames": frames, "problems": tuple(problems)})


def _unmatched(source: Path, unmatched: list[Prediction], total: int, example: str) -> InputProblem:
    message = (
        f"{len(unmatched)} of {total} predictions name no frame of the dataset and are not used: "
        f"they name frames like {unmatched[0].frame!r}, the dataset's frames are like {example!r} "
        "(predictions keyed by another frame naming, or of other frames)"
    )
    return InputProblem(path=str(source), message=message, record=RecordKind.prediction, count=len(unmatched))


def _coco_tables(dataset: Dataset, sources: Sequence[Path]) -> CocoIds | None:
    """The image and category ids COCO results refer to: those of a COCO dataset, read again from its
    files, and only when some source is a JSON file."""
    if dataset.format != "coco" or not any(s.suffix == ".json" for s in sources):
        return None
    return coco_ids(Path(dataset.root))


def _with_predictions(frame: Frame, preds: list[Prediction]) -> Frame:
    return frame.model_copy(update={"predictions": frame.predictions + tuple(preds)})


__all__ = [
    "READERS",
    "STREAMERS",
    "WRITERS",
    "attach_predictions",
    "detect_format",
    "known_formats",
    "load_dataset",
    "open_dataset",
    "unreadable_sources",
]
