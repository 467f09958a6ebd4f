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
from gtqa.settings import Settings
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


# Expected wrong decisions a judge question must avoid to be worth asking (see TriagePolicy).
MIN_GAIN = 0.1


@dataclass(frozen=True)
class TriagePolicy:
    """What the judge is asked, and how much its answers are trusted.

    Flags whose calibrated probability lies strictly between ``low`` and ``high`` are uncertain and go
    to the judge; the rest are decided by the heuristics. ``judge_accuracy`` is the assumed accuracy of
    the judge used to fuse its verdict (measure it on audits and set it).

    The band comes from the value of one verdict. Deciding "defect" at p >= 0.5, a flag at probability
    p is decided wrongly with probability min(p, 1 - p); after one verdict of accuracy a, with
    probability min(p, 1 - p, 1 - a). A question thus avoids ``max(0, min(p, 1 - p) - (1 - a))``
    expected wrong decisions: positive on (1 - a, a), largest (a - 0.5) at p = 0.5.
    The defaults ask only where a question avoids at least ``MIN_GAIN`` (0.1) wrong decisions (a stated
    belief, like the priors: one wrong decision avoided per ten calls is the least a call must buy), i.e.
    ``(1 - a + 0.1, a - 0.1)`` = (0.3, 0.7) for the assumed a = 0.8 (``for_accuracy`` derives it for
    another accuracy; at a = 0.6 or below nothing is asked). On KITTI tracking 0016 the positive-gain
    band (0.2, 0.8) alone held a quarter of the labels, most of them flags at 0.2-0.3, and with the two
    rules below off the judge was asked over half a question per label (benchmarks/bench_agent.py).

    ``one_question_per_label``: a label is asked about once, for its highest flag, and only when that
    flag is uncertain. The auditor reviews a label once, ranked by its highest flag, so that flag is
    the one a verdict can move; a label with a flag at or above ``high`` is already at the top.

    ``prose_needs_issue``: a prose rule with ``ask_when: flagged`` is asked only for labels with an
    uncertain flag of the rule's own issue type (a wrong_class flag for a class rule). A flag of
    another kind (a truncation, a loose box) says nothing about whether the rule is broken, so the
    probability that it is stays at the base rate, outside the band. False: any flag (the old default).
    """

    low: float = 0.3
    high: float = 0.7
    judge_accuracy: float = 0.8
    one_question_per_label: bool = True
    prose_needs_issue: bool = True

    @classmethod
    def for_accuracy(cls, accuracy: float, *, min_gain: float = MIN_GAIN, **kwargs: bool) -> TriagePolicy:
        """The band where one verdict of this accuracy avoids at least ``min_gain`` expected wrong
        decisions per question: ``(1 - accuracy + min_gain, accuracy - min_gain)`` (empty when
        ``accuracy <= 0.5 + min_gain``)."""
        low = round(1.0 - accuracy + min_gain, 9)
        high = max(round(accuracy - min_gain, 9), low)
        return cls(low=low, high=high, judge_accuracy=accuracy, **kwargs)

    @classmethod
    def from_settings(cls, settings: Settings) -> TriagePolicy:
        """The policy for the configured judge accuracy (``GTQA_JUDGE_ACCURACY``; 0.8 gives the defaults)."""
        return cls.for_accuracy(settings.judge_accuracy)

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
