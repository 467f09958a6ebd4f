"""The gate a refitted calibration passes before it replaces the one in use (issue 19): both score the
same held-out audited flags; the weighted average precision of candidate minus current is estimated with
a paired cluster bootstrap over the flags' frames (``gtqa.scoring.bootstrap``, 95 % percentile
interval). Promoted only when it is *not worse* (the interval's lower bound at least ``-margin``) and
*better* (the estimate above 0); otherwise refused, with the reason.

Weights are Horvitz-Thompson weights (1 / inclusion probability) when the audited flags were not all
picked by the queue's order: a flag sampled at random from a low-probability band stands for the flags
of the band nobody audited. Used by the service's refit (``workers.learning``) and the offline replay
(``evals.replay``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gtqa.scoring.bootstrap import cluster_bootstrap, cluster_ids
from gtqa.scoring.ranked import Scored, average_precision

Array = np.ndarray
METRIC = "weighted_ap"


@dataclass(frozen=True)
class GateRule:
    margin: float = 0.02  # the candidate may be at most this much worse in AP (the interval's lower bound)
    n_boot: int = 1000
    seed: int = 0


@dataclass(frozen=True)
class GateResult:
    promoted: bool
    reason: str
    delta: float
    lo: float
    hi: float
    n: int  # flags compared
    clusters: int  # frames they lie in

    def evaluation(self) -> dict[str, float | str]:
        """As stored with a calibration version."""
        return {
            "metric": METRIC,
            "delta": self.delta,
            "lo": self.lo,
            "hi": self.hi,
            "n": float(self.n),
            "clusters": float(self.clusters),
        }


def weighted_ap(scores: Array, y: Array, w: Array | None = None) -> float | None:
    """AP of ``scores`` against outcomes ``y`` with item weights (None: all 1); None without a positive."""
    if len(y) == 0 or y.sum() == 0:
        return None
    weights = np.ones(len(y)) if w is None else np.asarray(w, dtype=np.float64)
    return float(average_precision(_scored(scores, y), weights))


def gate_ap(
    base: Array, candidate: Array, y: Array, w: Array, groups: Sequence[str], *, n_boot: int, seed: int
) -> tuple[float, float, float]:
    """Weighted AP of candidate minus base on the same flags: estimate and paired cluster-bootstrap
    interval (95 %); NaN bounds count as a failure of the gate (lower bound -inf)."""
    first, second = _scored(base, y), _scored(candidate, y)

    def stat(boot: Array) -> tuple[Array, Array]:
        ww = boot * w
        return average_precision(first, ww), average_precision(second, ww)

    clusters, n_clusters = cluster_ids(groups)
    ci = cluster_bootstrap(stat, clusters, n_clusters, n_boot=n_boot, seed=seed)
    lo = -np.inf if np.isnan(ci.lo) else ci.lo
    hi = np.inf if np.isnan(ci.hi) else ci.hi
    return ci.estimate, float(lo), float(hi)


def gate(
    base: Array, candidate: Array, y: Array, w: Array, groups: Sequence[str], rule: GateRule
) -> GateResult:
    """Promote or refuse ``candidate`` against ``base`` (see the module docstring)."""
    delta, lo, hi = gate_ap(base, candidate, y, w, groups, n_boot=rule.n_boot, seed=rule.seed)
    n, clusters = len(y), cluster_ids(groups)[1]
    if lo < -rule.margin:
        reason = f"refused: AP {delta:+.3f} on held-out, lower bound {lo:+.3f} below -{rule.margin:g}"
        return GateResult(False, reason, delta, lo, hi, n, clusters)
    if delta <= 0.0:
        reason = f"refused: not better, AP {delta:+.3f} on held-out (CI {lo:+.3f}..{hi:+.3f})"
        return GateResult(False, reason, delta, lo, hi, n, clusters)
    reason = f"promoted: AP {delta:+.3f} on held-out (CI {lo:+.3f}..{hi:+.3f})"
    return GateResult(True, reason, delta, lo, hi, n, clusters)


def _scored(scores: Array, y: Array) -> Scored:
    return Scored(
        score=np.asarray(scores, dtype=np.float64),
        y=y.astype(np.float64),
        present=np.ones(len(y), dtype=bool),
    )
