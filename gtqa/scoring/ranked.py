"""Rank metrics of scored flags against their outcomes, with item weights (pure numpy): the average
precision a calibration gate compares (``gtqa.scoring.gate``) and the evals harness reports
(``evals.harness.metrics``, which documents the definitions: tie groups are one step, AP is the sum over
tie groups of the recall gained times the precision down to the group's end, P@K counts a tie group
straddling rank K by its share of real defects).

Every function takes item weights ``w``, ``(N,)`` or ``(B, N)`` (B bootstrap replicates), so a point
estimate (all ones), a Horvitz-Thompson weighted one and bootstrap replicates are one code path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Scored:
    """Known items as arrays: score (0 where absent), outcome y in {0, 1}, whether the run has the flag."""

    score: Array
    y: Array
    present: Array
    follows: Array | None = None  # the flag follows another on its object (queued after every leader)

    @property
    def rank(self) -> Array:
        """The queue's ranking key, higher first: leaders by score, then followers by score."""
        return self.score if self.follows is None else self.score - 2.0 * self.follows

    def cut(self, mask: Array) -> Scored:
        follows = None if self.follows is None else self.follows[mask]
        return Scored(score=self.score[mask], y=self.y[mask], present=self.present[mask], follows=follows)

    def __len__(self) -> int:
        return len(self.y)


def ratio(num: Array, den: Array) -> Array:
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    return np.asarray(np.divide(num, den, out=out, where=den > 0), dtype=np.float64)


def tie_groups(s: Scored, w: Array) -> tuple[Array, Array]:
    """Weight and weighted real defects of each group of equal scores among the present items, highest
    score first: tied flags have no order, so rank-based metrics treat each group as one step."""
    order = np.flatnonzero(s.present)[np.argsort(-s.rank[s.present], kind="stable")]
    if len(order) == 0:
        empty = np.zeros((*w.shape[:-1], 0))
        return empty, empty
    ranked = s.rank[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    weight = np.add.reduceat(w[..., order], starts, axis=-1)
    hits = np.add.reduceat((w * s.y)[..., order], starts, axis=-1)
    return weight, hits


def precision_at_k(s: Scored, w: Array, k: int) -> Array:
    """A tie group straddling rank K counts by its share of real defects (the mean over tie orders)."""
    weight, hits = tie_groups(s, w)
    before = np.cumsum(weight, axis=-1) - weight
    take = np.clip(k - before, 0.0, weight)  # how much of each group fits in the budget
    return np.asarray((take * np.nan_to_num(ratio(hits, weight))).sum(-1) / k, dtype=np.float64)


def average_precision(s: Scored, w: Array) -> Array:
    """Sum over tie groups of the recall gained times the precision down to the group's end (with no
    ties: the mean precision at the rank of each real defect)."""
    weight, hits = tie_groups(s, w)
    precision_to = np.nan_to_num(ratio(np.cumsum(hits, axis=-1), np.cumsum(weight, axis=-1)))
    return ratio((hits * precision_to).sum(-1), (w * s.y).sum(-1))
