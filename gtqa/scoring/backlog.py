"""A backlog that means something: how deep into the queue review pays, and what is left behind.

The queue is served in priority order; each waiting flag carries its probability of being a real defect,
so the expected defects found by reviewing the first ``k`` items is the sum of their probabilities. Ops
set a review budget (auditor hours) or a cost per auditor hour with the value of a defect found; the
meaningful backlog is the depth where the budget runs out, or the depth that maximises the expected net
worth of the review, ``sum over the first k items of (p_i - p*)`` with the break-even probability per
item ``p* = cost x seconds per item / 3600 / value`` (where the expected defects found per hour fall
below the hour's cost, without stopping at one stray weak flag), whichever is shallower. The rest
stays in the queue, reachable; its expected defects are the ones left behind.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Backlog:
    waiting: int  # items in the queue with a probability
    depth: int  # the meaningful backlog: items worth reviewing
    expected_found: float  # sum of the probabilities of the first ``depth`` items
    left_behind: float  # sum of the probabilities of the rest
    hours: float  # reviewing the meaningful backlog, at ``seconds_per_item``
    seconds_per_item: float
    rule: str  # what set the depth


def backlog(
    probabilities: Sequence[float],
    seconds_per_item: float,
    *,
    budget_hours: float | None = None,
    hour_cost: float | None = None,
    defect_value: float | None = None,
) -> Backlog:
    """The meaningful backlog of a queue whose waiting items, in queue order, have ``probabilities``."""
    if seconds_per_item <= 0:
        raise ValueError(f"seconds_per_item must be positive, not {seconds_per_item}")
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    depth, rule = len(p), "every waiting item (no budget or cost set)"
    if hour_cost is not None and defect_value is not None and defect_value > 0:
        threshold = hour_cost * seconds_per_item / 3600.0 / defect_value
        depth = _break_even(p, threshold)
        rule = (
            f"the most expected net worth at a break-even of {threshold:.3f} defects per item "
            f"(an hour costs {hour_cost:g}, a defect found is worth {defect_value:g})"
        )
    if budget_hours is not None:
        affordable = math.floor(budget_hours * 3600.0 / seconds_per_item)
        if affordable < depth:
            depth, rule = affordable, f"the review budget of {budget_hours:g} auditor hours"
    found = float(p[:depth].sum())
    return Backlog(
        waiting=len(p), depth=depth, expected_found=found, left_behind=float(p.sum()) - found,
        hours=depth * seconds_per_item / 3600.0, seconds_per_item=seconds_per_item, rule=rule,
    )  # fmt: skip


def _break_even(p: np.ndarray, threshold: float) -> int:
    """The depth k (0 to all) maximising ``sum(p[:k] - threshold)``; the shallowest on a tie."""
    worth = np.concatenate([[0.0], np.cumsum(p - threshold)])
    return int(np.argmax(worth))
