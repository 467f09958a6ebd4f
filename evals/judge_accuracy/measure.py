"""Scoring the judge's answers on audited flags (pure functions, no I/O).

* **Accuracy** of an issue type: answers ``defect`` / ``not_defect`` that agree with the audit, over
  such answers; ``unsure`` and unanswered questions are counted apart (an unsure judge moves nothing in
  the fusion, so it is neither right nor wrong). Interval: Wilson's score interval at ``level``.
* **Overall accuracy**: the sample is stratified by issue type, so the overall figure weights each
  type's accuracy by its share of the audited flags the judge could be asked about (``population``),
  with a normal interval on the weighted sum; the plain pooled figure is reported beside it.
* **Calibration**: the judge's stated confidence against how often it is right, in bins of width 0.1
  over [0.5, 1], and its expected calibration error (ECE, weighted by answers per bin).
* **Break-even**: ``BREAK_EVEN_ACCURACY`` (0.7) is where the scripted-judge benchmark found the judge
  starts to help (``benchmarks/RESULTS.md``, "What judge accuracy the design needs": ΔAP −0.004 /
  +0.002 at 0.7, −0.013 / −0.004 at 0.6, positive from 0.8). The verdict reads the overall interval:
  *clears* when its lower bound is at or above the line, *below* when its upper bound is under it,
  *inconclusive* otherwise.
* **Fusion weight**: the accuracy ``a`` the fusion (``gtqa.scoring.judge_fusion``) should assume, fitted
  by maximum likelihood on the answers with their stated confidences ``c`` (P(right) =
  0.5 + (a - 0.5) c, as the fusion reads a verdict), on a grid of step 0.005 over [0.5, 0.995]; fitted
  only when the judge clears the line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import StrEnum
from itertools import pairwise

import numpy as np
from pydantic import BaseModel, ConfigDict

from gtqa.scoring import estimates

BREAK_EVEN_ACCURACY = 0.7
_BINS = np.linspace(0.5, 1.0, 6)


class BreakEven(StrEnum):
    clears = "clears"
    below = "below"
    inconclusive = "inconclusive"


class Answer(BaseModel):
    """One question: the flag's issue type, its audit outcome, and what the judge said (None: no answer)."""

    model_config = ConfigDict(frozen=True)

    type: str
    outcome: int
    verdict: str | None  # "defect", "not_defect", "unsure", or None when unanswered
    confidence: float | None = None
    failure: str | None = None
    cost_usd: float = 0.0
    cached: bool = False

    @property
    def decided(self) -> bool:
        return self.verdict in ("defect", "not_defect")

    @property
    def right(self) -> bool:
        return self.decided and (self.verdict == "defect") == (self.outcome == 1)


class Accuracy(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: str
    asked: int
    decided: int
    right: int
    unsure: int
    unanswered: int
    accuracy: float | None
    lo: float | None
    hi: float | None


class CalibrationBin(BaseModel):
    model_config = ConfigDict(frozen=True)

    lo: float
    hi: float
    answers: int
    mean_confidence: float | None
    accuracy: float | None


def wilson(right: int, n: int, level: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson's score interval of a proportion at ``level`` (``gtqa.scoring.estimates.wilson``), rounded
    for the report; None, None when n is 0."""
    if n == 0:
        return None, None
    lo, hi = estimates.wilson(right / n, n, _z(level))
    return round(lo, 6), round(hi, 6)


def _z(level: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + level / 2)


def accuracy_of(kind: str, answers: Sequence[Answer], level: float = 0.95) -> Accuracy:
    decided = [a for a in answers if a.decided]
    right = sum(a.right for a in decided)
    lo, hi = wilson(right, len(decided), level)
    return Accuracy(
        type=kind, asked=len(answers), decided=len(decided), right=right,
        unsure=sum(a.verdict == "unsure" for a in answers),
        unanswered=sum(a.verdict is None for a in answers),
        accuracy=round(right / len(decided), 6) if decided else None, lo=lo, hi=hi,
    )  # fmt: skip


def by_type(answers: Sequence[Answer], level: float = 0.95) -> list[Accuracy]:
    kinds = sorted({a.type for a in answers})
    return [accuracy_of(k, [a for a in answers if a.type == k], level) for k in kinds]


def weighted_accuracy(
    per_type: Sequence[Accuracy], population: Mapping[str, int], level: float = 0.95
) -> tuple[float | None, float | None, float | None]:
    """Accuracy over the population of askable flags: each type's accuracy weighted by its share."""
    known = [t for t in per_type if t.accuracy is not None and population.get(t.type, 0) > 0]
    total = sum(population[t.type] for t in known)
    if not known or total == 0:
        return None, None, None
    w = {t.type: population[t.type] / total for t in known}
    est = sum(w[t.type] * (t.accuracy or 0.0) for t in known)
    var = sum(w[t.type] ** 2 * _var(t) for t in known)
    half = _z(level) * math.sqrt(var)
    return round(est, 6), round(max(0.0, est - half), 6), round(min(1.0, est + half), 6)


def _var(t: Accuracy) -> float:
    # Wilson's half-width as the stratum's spread, so a stratum answered all right or all wrong still
    # carries its uncertainty (p(1 - p)/n would be 0 there).
    if t.lo is None or t.hi is None:
        return 0.25
    return ((t.hi - t.lo) / (2 * _z(0.95))) ** 2


def calibration(answers: Sequence[Answer]) -> tuple[list[CalibrationBin], float | None]:
    """Stated confidence against accuracy, in bins over [0.5, 1]; and the ECE over the decided answers."""
    decided = [a for a in answers if a.decided and a.confidence is not None]
    conf = np.array([max(0.5, a.confidence or 0.0) for a in decided])
    right = np.array([a.right for a in decided], dtype=float)
    bins, ece = [], 0.0
    for lo, hi in pairwise(_BINS):
        inside = (conf >= lo) & ((conf < hi) if hi < 1.0 else (conf <= hi))
        n = int(inside.sum())
        mean_c = float(conf[inside].mean()) if n else None
        acc = float(right[inside].mean()) if n else None
        if n and mean_c is not None and acc is not None:
            ece += n / len(decided) * abs(mean_c - acc)
        bins.append(CalibrationBin(lo=round(float(lo), 2), hi=round(float(hi), 2), answers=n,
                                   mean_confidence=_r(mean_c), accuracy=_r(acc)))  # fmt: skip
    return bins, (round(ece, 6) if decided else None)


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def break_even(lo: float | None, hi: float | None, line: float = BREAK_EVEN_ACCURACY) -> BreakEven:
    if lo is not None and lo >= line:
        return BreakEven.clears
    if hi is not None and hi < line:
        return BreakEven.below
    return BreakEven.inconclusive


def fit_fusion_accuracy(answers: Sequence[Answer]) -> float | None:
    """The accuracy ``a`` the fusion should assume: maximum likelihood of the decided answers under
    P(right) = 0.5 + (a - 0.5) * confidence (confidence 1 when the model stated none)."""
    decided = [a for a in answers if a.decided]
    if not decided:
        return None
    c = np.array([1.0 if a.confidence is None else a.confidence for a in decided])
    right = np.array([a.right for a in decided], dtype=bool)
    grid = np.arange(0.5, 0.9951, 0.005)
    p = np.clip(0.5 + (grid[:, None] - 0.5) * c[None, :], 1e-6, 1 - 1e-6)
    loglik = np.where(right[None, :], np.log(p), np.log(1 - p)).sum(axis=1)
    return round(float(grid[int(loglik.argmax())]), 3)
