"""One metric's difference between two paired runs, with its interval, and McNemar's test.

``metric_delta``: the difference candidate - base of a metric of ``evals.harness.metrics`` on the
paired items, with a paired cluster-bootstrap interval and p-value (``evals.harness.stats``). ``mcnemar_of``:
McNemar's test on the per-item decisions at the threshold, an item being decided *right* when it is
raised and a real defect, or not raised and a false alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from evals.harness.metrics import DEFAULT_BUDGETS, DEFAULT_THRESHOLD, SLICES, metric_fn, value
from evals.harness.pairing import PairedArrays
from evals.harness.stats import cluster_bootstrap, mcnemar


@dataclass(frozen=True)
class CompareOptions:
    budgets: tuple[int, ...] = DEFAULT_BUDGETS
    threshold: float = DEFAULT_THRESHOLD
    level: float = 0.95
    n_boot: int = 2000
    seed: int = 0
    cluster: Literal["sequence", "frame"] = "sequence"
    alpha: float = 0.05
    allow_different_audits: bool = False
    inconclusive_passes: bool = False  # an inconclusive gate passes (default: it fails, as a worse one)


class MetricDelta(BaseModel):
    model_config = ConfigDict(frozen=True)

    metric: str
    base: float | None
    candidate: float | None
    delta: float | None
    lo: float | None
    hi: float | None
    p_value: float = 1.0
    p_holm: float | None = None  # set on per-slice differences (Holm over every slice and metric)
    base_own: float | None = None  # the base run on its own flags, as ``gtqa evals run`` reports it
    candidate_own: float | None = None


class McNemarResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    base_only_right: int
    candidate_only_right: int
    statistic: float | None
    p_value: float
    method: str


def metric_delta(arrays: PairedArrays, metric: str, opts: CompareOptions) -> MetricDelta:
    fn = metric_fn(metric, opts.threshold)
    ci = cluster_bootstrap(
        lambda w: (fn(arrays.base, w), fn(arrays.cand, w)), arrays.clusters, arrays.n_clusters,
        n_boot=opts.n_boot, level=opts.level, seed=opts.seed,
    )  # fmt: skip
    ones = np.ones(len(arrays.items))
    return MetricDelta(
        metric=metric, base=value(fn(arrays.base, ones)), candidate=value(fn(arrays.cand, ones)),
        delta=value(np.asarray(ci.estimate)), lo=value(np.asarray(ci.lo)), hi=value(np.asarray(ci.hi)),
        p_value=round(ci.p_value, 6),
    )  # fmt: skip


def mcnemar_of(arrays: PairedArrays, threshold: float) -> McNemarResult:
    right_base = _right(arrays.base.score, arrays.base.present, arrays.base.y, threshold)
    right_cand = _right(arrays.cand.score, arrays.cand.present, arrays.cand.y, threshold)
    test = mcnemar(int((right_base & ~right_cand).sum()), int((~right_base & right_cand).sum()))
    return McNemarResult(
        base_only_right=test.b, candidate_only_right=test.c, statistic=test.statistic,
        p_value=test.p_value, method=test.method,
    )  # fmt: skip


def _right(score: np.ndarray, present: np.ndarray, y: np.ndarray, threshold: float) -> np.ndarray:
    return np.asarray((present & (score >= threshold)) == (y == 1))


def slice_mask(arrays: PairedArrays, dimension: str, name: str) -> np.ndarray:
    key = SLICES[dimension]
    return np.array([key(p.ref) == name for p in arrays.items], dtype=bool)
