"""Statistics for paired comparisons of two runs on the same items (pure functions).

* **Cluster bootstrap** (``cluster_bootstrap``): flags of one frame (or one sequence) are not
  independent — one bad frame produces several flags — so whole clusters are resampled with
  replacement, each replicate drawing as many clusters as there are. Both runs are evaluated on the same
  replicate (a paired bootstrap), and the interval of the difference is the percentile interval of the
  replicates' differences (replicates where a metric is undefined are dropped). Its two-sided p-value
  for "no difference" inverts that interval: ``min(1, 2 · min(#(d* <= 0) + 1, #(d* >= 0) + 1) / (B + 1))``
  over the B defined replicates d*.
* **McNemar's test** (``mcnemar``) on paired binary outcomes: ``b`` items only the first run got right,
  ``c`` only the second. Under "no difference" each discordant pair is a fair coin. With fewer than
  ``exact_below`` (25) discordant pairs the exact two-sided binomial p-value is used,
  ``min(1, 2 · P(X <= min(b, c)))`` for X ~ Binomial(b + c, 1/2); otherwise the chi-square statistic with
  continuity correction ``(|b - c| - 1)² / (b + c)`` on one degree of freedom.
* **Holm's step-down correction** (``holm``) of several p-values, controlling the family-wise error rate:
  the i-th smallest of m p-values is multiplied by ``m - i + 1`` (i from 1), then made monotone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gtqa.scoring.bootstrap import (
    Interval,
    PairedStat,
    cluster_bootstrap,
    cluster_ids,
    cluster_weights,
    interval,
)

__all__ = [
    "Interval",
    "McNemar",
    "PairedStat",
    "binomial_two_sided",
    "chi2_1_sf",
    "cluster_bootstrap",
    "cluster_ids",
    "cluster_weights",
    "holm",
    "interval",
    "mcnemar",
]

Array = np.ndarray


@dataclass(frozen=True)
class McNemar:
    b: int  # right in the first run only
    c: int  # right in the second run only
    statistic: float | None
    p_value: float
    method: str  # "exact", "chi2-cc" or "none" (no discordant pairs)


def mcnemar(b: int, c: int, *, exact_below: int = 25) -> McNemar:
    n = b + c
    if n == 0:
        return McNemar(b, c, None, 1.0, "none")
    if n < exact_below:
        return McNemar(b, c, None, binomial_two_sided(min(b, c), n), "exact")
    statistic = (abs(b - c) - 1.0) ** 2 / n
    return McNemar(b, c, statistic, chi2_1_sf(statistic), "chi2-cc")


def binomial_two_sided(k: int, n: int) -> float:
    """``min(1, 2 · P(X <= k))`` for X ~ Binomial(n, 1/2), k <= n / 2."""
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def chi2_1_sf(x: float) -> float:
    """P(X > x) for a chi-square variable with one degree of freedom (the square of a standard normal)."""
    return math.erfc(math.sqrt(max(x, 0.0) / 2.0))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the order given (an undefined p-value counts as 1)."""
    p_values = [1.0 if math.isnan(p) else p for p in p_values]
    m = len(p_values)
    order = np.argsort(p_values, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return [float(x) for x in adjusted]
