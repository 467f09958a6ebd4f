"""Ranking metrics over a list of outcomes (True = the item found a defect), best-ranked first.

* ``average_precision``: the sum of the precision at the rank of each hit, over the number of
  positives (defects), so missed defects count as precision 0: AP = 1 only when every defect is found
  before any false alarm.
* ``precision_at(k)``: hits among the top k over k (a list shorter than k counts its missing ranks as
  non-hits, so flagging less is never rewarded).
* ``recall_at(k)``: hits among the top k over the number of positives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def average_precision(hits: Sequence[bool], n_positive: int) -> float:
    if n_positive <= 0:
        return 0.0
    outcome = np.asarray(hits, dtype=bool)
    if not outcome.any():
        return 0.0
    ranks = np.flatnonzero(outcome) + 1
    precision = np.cumsum(outcome)[outcome] / ranks
    return float(precision.sum() / n_positive)


def precision_at(hits: Sequence[bool], k: int) -> float:
    return float(sum(hits[:k]) / k) if k > 0 else 0.0


def recall_at(hits: Sequence[bool], k: int, n_positive: int) -> float:
    return float(sum(hits[:k]) / n_positive) if n_positive > 0 else 0.0


def round_half_up(x: float) -> int:
    """Counts from rates: 0.5 rounds up (Python's round() would round it to the even neighbour)."""
    return math.floor(x + 0.5)
