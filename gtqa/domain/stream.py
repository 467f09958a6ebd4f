"""A dataset read one frame at a time, for inputs too large to hold whole (a 100,000-frame delivery).

A ``Dataset`` holds every frame: about 4.8 KiB of Python objects per label, so a 100,000-frame KITTI
folder costs gigabytes before anything is stored. A ``FrameStream`` yields the same frames in the same
order, and collects the reading problems as it goes; ``to_dataset`` builds the ``Dataset`` from it for
callers that need the whole thing, so there is one reading logic, not a streamed and a whole copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from gtqa.domain.dataset import Dataset, InputProblem
from gtqa.domain.labels import Frame


class FrameStream:
    """``name``, ``format`` and ``root`` are known before any frame is read; ``problems`` is complete
    only once the frames are exhausted (a reader reports a file's problems when it reads that file).
    The frames can be iterated once: a second pass would read the files again, silently doubling the
    cost, so it is an error instead."""

    def __init__(
        self,
        name: str,
        format: str,
        root: str,
        frames: Iterable[Frame],
        problems: list[InputProblem] | None = None,
    ) -> None:
        self.name, self.format, self.root = name, format, root
        self.problems: list[InputProblem] = problems if problems is not None else []
        self._frames: Iterable[Frame] | None = frames

    @classmethod
    def of(cls, dataset: Dataset) -> FrameStream:
        """A dataset already read whole, as a stream (the formats that are single JSON files)."""
        return cls(dataset.name, dataset.format, dataset.root, dataset.frames, list(dataset.problems))

    def renamed(self, name: str) -> FrameStream:
        """The same stream under another dataset name (a client's ``dataset`` option)."""
        self.name = name
        return self

    def __iter__(self) -> Iterator[Frame]:
        if self._frames is None:
            raise RuntimeError(f"the frames of {self.root} were already read once")
        frames, self._frames = self._frames, None
        return iter(frames)

    def slices(self, size: int) -> Iterator[list[Frame]]:
        """The frames in lists of at most ``size``: what a caller holds at a time."""
        frames = iter(self)
        while batch := list(islice(frames, size)):
            yield batch

    def to_dataset(self) -> Dataset:
        frames = tuple(self)
        return Dataset(
            name=self.name, format=self.format, root=self.root, frames=frames, problems=tuple(self.problems)
        )
