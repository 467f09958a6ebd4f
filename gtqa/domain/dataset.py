"""A dataset as read from disk: its frames plus every problem met while reading it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from gtqa.domain.labels import Frame, Label


class ProblemLevel(StrEnum):
    error = "error"  # the record was skipped
    warning = "warning"  # the record was read, something about it is odd


class RecordKind(StrEnum):
    """What a skipped record was, for the count of what a reading dropped."""

    label = "label"
    frame = "frame"
    prediction = "prediction"


class InputProblem(BaseModel):
    """A malformed input met while reading: names the file and the 1-based line (0 = whole file).
    ``record`` says what an error dropped (None: a file or a record of no known kind) and ``count``
    how many (one problem may stand for many, e.g. predictions that name no frame)."""

    model_config = ConfigDict(frozen=True)

    path: str
    line: int = 0
    message: str
    level: ProblemLevel = ProblemLevel.error
    record: RecordKind | None = None
    count: int = Field(default=1, ge=1)

    def of(self, record: RecordKind) -> InputProblem:
        """The same problem, saying what it dropped (unless it already says)."""
        return self if self.record is not None else self.model_copy(update={"record": record})

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.level.value}: {self.message}"


class InputFormatError(ValueError):
    """Raised for malformed input; ``str()`` names the file and line."""

    def __init__(self, path: str, line: int, message: str) -> None:
        self.problem = InputProblem(path=path, line=line, message=message)
        super().__init__(str(self.problem))


class Dataset(BaseModel):
    """Frames in reading order (sequences sorted by index). ``problems`` lists what was skipped."""

    model_config = ConfigDict(frozen=True)

    name: str
    format: str
    root: str
    frames: tuple[Frame, ...]
    problems: tuple[InputProblem, ...] = Field(default=())

    def __iter__(self) -> Iterator[Frame]:  # type: ignore[override]
        return iter(self.frames)

    def __len__(self) -> int:
        return len(self.frames)

    def dropped(self) -> dict[str, int]:
        """How many labels, frames, predictions (and other records) reading skipped, by kind."""
        return dropped_counts(self.problems)

    def labels(self) -> Iterator[Label]:
        for frame in self.frames:
            yield from frame.labels

    def frame(self, frame_id: str) -> Frame:
        for frame in self.frames:
            if frame.id == frame_id:
                return frame
        raise KeyError(frame_id)


def dropped_counts(problems: Iterable[InputProblem]) -> dict[str, int]:
    """Error problems counted by what they dropped (``record`` for a problem of no known kind), in
    the order label, frame, prediction, record; kinds with none left out."""
    counts = dict.fromkeys([*RecordKind, "record"], 0)
    for problem in problems:
        if problem.level == ProblemLevel.error:
            counts[problem.record or "record"] += problem.count
    return {str(kind): n for kind, n in counts.items() if n}


def dropped_summary(counts: dict[str, int]) -> str:
    """``3 labels, 1 frame, 5372 predictions`` (``nothing`` when empty)."""
    parts = [f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in counts.items()]
    return ", ".join(parts) or "nothing"
