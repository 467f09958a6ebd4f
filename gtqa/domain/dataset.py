"""A dataset as read from disk: its frames plus every problem met while reading it."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from gtqa.domain.labels import Frame, Label


class ProblemLevel(StrEnum):
    error = "error"  # the record was skipped
    warning = "warning"  # the record was read, something about it is odd


class InputProblem(BaseModel):
    """A malformed input met while reading: names the file and the 1-based line (0 = whole file)."""

    model_config = ConfigDict(frozen=True)

    path: str
    line: int = 0
    message: str
    level: ProblemLevel = ProblemLevel.error

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

    def labels(self) -> Iterator[Label]:
        for frame in self.frames:
            yield from frame.labels

    def frame(self, frame_id: str) -> Frame:
        for frame in self.frames:
            if frame.id == frame_id:
                return frame
        raise KeyError(frame_id)
