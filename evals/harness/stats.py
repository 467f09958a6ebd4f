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
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Array = np.ndarray
# A replicate's statistic from item weights (B, N): one value per replicate, for each of the two runs.
PairedStat = Callable[[Array], tuple[Array, Array]]


@dataclass(frozen=True)
class Interval:
    estimate: float
    lo: float
    hi: float
    replicates: int  # replicates where the difference was defined
    p_value: float = 1.0  # two-sided, for "no difference" (see the module docstring)


def cluster_ids(labels: Sequence[str]) -> tuple[Array, int]:
    """Each item's cluster as an integer index, and the number of clusters."""
    names = {name: i for i, name in enumerate(dict.fromkeys(labels))}
    return np.array([names[x] for x in labels], dtype=np.intp), len(names)


def cluster_weights(clusters: Array, n_clusters: int, n_boot: int, rng: np.random.Generator) -> Array:
    """(n_boot, N) item weights: how often each item's cluster was drawn in each replicate."""
    counts = rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=n_boot)
    return np.asarray(counts[:, clusters], dtype=np.float64)


def cluster_bootstrap(
    stat: PairedStat,
    clusters: Array,
    n_clusters: int,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    chunk: int = 250,
) -> Interval:
    """Percentile interval of ``second - first`` (see the module docstring)."""
    ones = np.ones(len(clusters))
    first, second = stat(ones)
    estimate = float(second - first)
    if n_clusters == 0:
        return Interval(estimate, np.nan, np.nan, 0)
    rng = np.random.default_rng(seed)
    diffs = []
    for start in range(0, n_boot, chunk):
        a, b = stat(cluster_weights(clusters, n_clusters, min(chunk, n_boot - start), rng))
        diffs.append(b - a)
    return interval(estimate, np.concatenate(diffs), level)


def interval(estimate: float, draws: Array, level: float) -> Interval:
    ok = draws[~np.isnan(draws)]
    if len(ok) == 0:
        return Interval(estimate, np.nan, np.nan, 0)
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(ok, [tail, 100.0 - tail])
    below, above = int((ok <= 0).sum()), int((ok >= 0).sum())
    p = min(1.0, 2.0 * (min(below, above) + 1) / (len(ok) + 1))
    return Interval(estimate, float(lo), float(hi), len(ok), p)


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
