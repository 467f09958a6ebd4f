"""What every node of the reviewer graph receives through the runtime context: where frames come from,
the compiled spec, the checks, the scorer, the judge and the triage policy. Nothing here is global; the
CLI, the workers and the evals each build one per run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from agents.judge import Judge
from gtqa.checks.base import Check
from gtqa.checks.runner import SequenceIndex
from gtqa.checks.scope import CONTEXT_FRAMES, ImageLoader
from gtqa.checks.stats import DatasetStats
from gtqa.domain import Dataset, Frame
from gtqa.formats.images import caching_loader
from gtqa.scoring.scorer import Scorer
from gtqa.spec import CompiledSpec


class FrameSource(Protocol):
    """Loads frames by id, and the frames of their sequences within ``window`` for temporal context."""

    def frames(self, frame_ids: Sequence[str]) -> list[Frame]: ...

    def context(self, frames: Sequence[Frame], window: int) -> list[Frame]: ...


class DatasetSource:
    """Frames of a dataset already read into memory (the CLI and the evals)."""

    def __init__(self, dataset: Dataset) -> None:
        self._by_id = {f.id: f for f in dataset.frames}
        self._sequences = SequenceIndex(dataset.frames)

    def frames(self, frame_ids: Sequence[str]) -> list[Frame]:
        missing = [i for i in frame_ids if i not in self._by_id]
        if missing:
            raise KeyError(f"unknown frame ids: {', '.join(missing[:5])}")
        return [self._by_id[i] for i in frame_ids]

    def context(self, frames: Sequence[Frame], window: int) -> list[Frame]:
        return list(self._sequences.context(frames, window))


@dataclass(frozen=True)
class TriagePolicy:
    """Flags whose calibrated probability lies strictly between ``low`` and ``high`` are uncertain and go
    to the judge; the rest are decided by the heuristics. ``judge_accuracy`` is the assumed accuracy of
    the judge used to fuse its verdict (measure it on audits and set it)."""

    low: float = 0.2
    high: float = 0.8
    judge_accuracy: float = 0.8

    def uncertain(self, score: float) -> bool:
        return self.low < score < self.high


@dataclass(frozen=True)
class ReviewContext:
    source: FrameSource
    spec: CompiledSpec
    stats: DatasetStats
    checks: Sequence[Check[Any]]
    scorer: Scorer
    judge: Judge | None = None
    triage: TriagePolicy = field(default_factory=TriagePolicy)
    load_image: ImageLoader = field(default_factory=caching_loader)
    context_frames: int = CONTEXT_FRAMES
