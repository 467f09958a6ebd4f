"""What a check sees: the frames to review, their sequence context, dataset statistics and the spec."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from gtqa.checks.stats import DatasetStats
from gtqa.domain import Frame, Label
from gtqa.formats.av2 import TableError, read_points
from gtqa.spec import CompiledSpec

ImageLoader = Callable[[str], "NDArray[np.uint8] | None"]
PointLoader = Callable[[str], "NDArray[np.float64] | None"]


def _no_images(path: str) -> NDArray[np.uint8] | None:
    return None


def sweep_points(path: str) -> NDArray[np.float64] | None:
    """A LiDAR sweep's points (N, 3), ego frame, metres; None when unreadable (the reader reported it).
    Read on demand, one sweep at a time: memory stays that of one sweep however long the log."""
    try:
        return read_points(Path(path))
    except TableError:
        return None


# Temporal checks may look this many frames before and after the frame they report on, and no further:
# a worker reviewing a chunk passes at least this much context, so findings never depend on chunking.
CONTEXT_FRAMES = 30


def canonical_frames(frames: Sequence[Frame], spec: CompiledSpec) -> tuple[Frame, ...]:
    """The frames with every label's and prediction's class spelt as the spec's taxonomy does."""
    return tuple(iter_canonical(frames, spec))


def iter_canonical(frames: Iterable[Frame], spec: CompiledSpec) -> Iterator[Frame]:
    """``canonical_frames`` one frame at a time, for a pass over a batch too large to hold."""
    if not spec.aliases:
        yield from frames
        return
    for frame in frames:
        yield _canonical(frame, spec)


def _canonical(frame: Frame, spec: CompiledSpec) -> Frame:
    classes = {lab.cls for lab in frame.labels} | {p.cls for p in frame.predictions}
    if classes.isdisjoint(spec.aliases):
        return frame
    labels = tuple(lab.model_copy(update={"cls": spec.canonical(lab.cls)}) for lab in frame.labels)
    preds = tuple(p.model_copy(update={"cls": spec.canonical(p.cls)}) for p in frame.predictions)
    return frame.model_copy(update={"labels": labels, "predictions": preds})


@dataclass(frozen=True)
class ReviewScope:
    """Checks report only on ``frames``; ``context`` holds other frames of the same sequences, read
    for temporal evidence only (a worker reviewing a chunk of a sequence passes its neighbours)."""

    frames: tuple[Frame, ...]
    spec: CompiledSpec
    stats: DatasetStats
    context: tuple[Frame, ...] = field(default=())
    # Pixels come through this injected loader (BGR uint8, or None when unreadable), so checks stay
    # pure functions of their inputs; the runner passes a caching file loader.
    load_image: ImageLoader = field(default=_no_images, compare=False)
    load_points: PointLoader = field(default=sweep_points, compare=False)

    def __post_init__(self) -> None:
        # Checks see every class by the spec's name for it (a ``car`` label is a ``Car`` under an
        # alias); without aliases the frames are the dataset's own objects.
        if self.spec.aliases:
            object.__setattr__(self, "frames", canonical_frames(self.frames, self.spec))
            object.__setattr__(self, "context", canonical_frames(self.context, self.spec))

    @cached_property
    def frame_ids(self) -> frozenset[str]:
        return frozenset(f.id for f in self.frames)

    @cached_property
    def sequences(self) -> dict[str, list[Frame]]:
        """Frames of scope and context grouped by sequence, ordered by index (sequence-less frames
        are left out: they have no temporal context)."""
        seqs: dict[str, dict[int, Frame]] = defaultdict(dict)
        for frame in (*self.context, *self.frames):
            if frame.sequence is not None:
                seqs[frame.sequence][frame.index] = frame
        return {s: [by_index[i] for i in sorted(by_index)] for s, by_index in seqs.items()}

    @cached_property
    def _sequence_sizes(self) -> dict[str | None, tuple[int, int]]:
        sizes: dict[str | None, tuple[int, int]] = {}
        for frame in (*self.context, *self.frames):
            if frame.width and frame.height:
                sizes.setdefault(frame.sequence, (frame.width, frame.height))
        return sizes

    def image_size(self, frame: Frame) -> tuple[int, int] | None:
        """``(width, height)`` of the frame's image: its own, else that of another frame of its
        sequence (a camera does not change size mid-sequence), else the dataset's usual size."""
        if frame.width and frame.height:
            return frame.width, frame.height
        if frame.sequence is not None and frame.sequence in self._sequence_sizes:
            return self._sequence_sizes[frame.sequence]
        return self.stats.image_size

    def image(self, frame: Frame) -> NDArray[np.uint8] | None:
        return self.load_image(frame.image) if frame.image else None

    def reviewed(self, frame: Frame) -> list[tuple[int, Label]]:
        """(position in frame.labels, label) of the labels that are objects to review."""
        reviewed = {cls: self.spec.is_reviewed(cls) for cls in {lab.cls for lab in frame.labels}}
        return [(i, lab) for i, lab in enumerate(frame.labels) if reviewed[lab.cls]]

    def dontcare(self, frame: Frame) -> list[Label]:
        return [lab for lab in frame.labels if self.spec.is_dontcare(lab.cls)]
