"""The paired cluster bootstrap: two scorers compared on the same flags, whole clusters (frames,
sequences) resampled with replacement, each replicate drawing as many clusters as there are. Both sides
are evaluated on the same replicate, and the interval of the difference is the percentile interval of
the replicates' differences (replicates where a metric is undefined are dropped). Its two-sided p-value
for "no difference" inverts that interval: ``min(1, 2 · min(#(d* <= 0) + 1, #(d* >= 0) + 1) / (B + 1))``
over the B defined replicates d*. Flags of one frame are not independent (one bad frame produces several
flags), hence clusters. Used by the calibration gate (``gtqa.scoring.gate``) and the evals harness.
"""

from __future__ import annotations

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
