"""The items whose verdict changed between two runs, for a spec author to read.

An item changed when it is raised (score >= threshold) in one run and not in the other, or when the
judge's verdict on it differs. ``change`` says what that did, against the audit outcome:

* ``broke``: the base run decided it rightly, the candidate wrongly;
* ``fixed``: the other way round;
* ``unknown``: the decision changed on a flag no human audited (neither right nor wrong);
* ``judge``: only the judge's verdict changed (the decision stayed).

Listed in that order, then by the largest score change.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from evals.harness.pairing import PairedItem
from evals.harness.records import EvalItem

_ORDER = {"broke": 0, "fixed": 1, "unknown": 2, "judge": 3}


class ChangedItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    frame: str
    label: str | None
    type: str
    cls: str | None
    outcome: int | None
    change: str
    base_score: float | None
    candidate_score: float | None
    base_judge: str | None
    candidate_judge: str | None

    @property
    def score_change(self) -> float:
        return abs((self.candidate_score or 0.0) - (self.base_score or 0.0))


def changed_items(pairs: Sequence[PairedItem], threshold: float) -> list[ChangedItem]:
    out = [c for p in pairs if (c := _changed(p, threshold)) is not None]
    return sorted(out, key=lambda c: (_ORDER[c.change], -c.score_change, c.key))


def _raised(item: EvalItem | None, threshold: float) -> bool:
    return item is not None and item.score >= threshold


def _verdict(item: EvalItem | None) -> str | None:
    if item is None or item.judge is None:
        return None
    return item.judge.verdict or f"needs_human:{item.judge.failure}"


def _changed(p: PairedItem, threshold: float) -> ChangedItem | None:
    base, cand = _raised(p.base, threshold), _raised(p.cand, threshold)
    judge_base, judge_cand = _verdict(p.base), _verdict(p.cand)
    if base == cand and judge_base == judge_cand:
        return None
    if base == cand:
        change = "judge"
    elif p.outcome is None:
        change = "unknown"
    else:
        change = "fixed" if cand == (p.outcome == 1) else "broke"
    ref = p.ref
    return ChangedItem(
        key=ref.key, frame=ref.frame, label=ref.label, type=ref.type.value, cls=ref.cls, outcome=p.outcome,
        change=change, base_score=p.base.score if p.base else None,
        candidate_score=p.cand.score if p.cand else None, base_judge=judge_base, candidate_judge=judge_cand,
    )  # fmt: skip
