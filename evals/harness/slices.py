"""Per-slice differences (issue type, class, vendor), corrected for testing many slices at once.

Each slice's items are compared on their own (precision and recall differences with paired cluster-
bootstrap intervals and p-values, and McNemar's test on its decisions). Testing many slices finds a
"significant" one by chance, so the bootstrap p-values of every slice and metric are adjusted together
with Holm's step-down correction (``p_holm``). A slice is a *regression* when one of its metrics is
lower in the candidate with a Holm-adjusted p-value below ``alpha`` (0.05). McNemar's p-values are
adjusted over the slices the same way (``mcnemar_p_holm``), and reported, not used for the verdict.

Every slice says why it is or is not called a regression (``verdict``). A slice is *too small to call*
when even the most one-sided data it could hold would not survive the correction: with ``c`` clusters
(the resampling unit), a sign test over clusters that all moved the same way gives p = 2 * 0.5**c at
best, and Holm's first step multiplies the smallest p by the number of comparisons ``m``; when
2 * 0.5**c * m >= alpha, no result of the slice could be called at this number of comparisons, and it
is not called a regression even when its bootstrap p-value is small (a bootstrap over a handful of
clusters understates the spread: with one cluster every replicate is the slice itself).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from evals.harness.deltas import (
    CompareOptions,
    McNemarResult,
    MetricDelta,
    mcnemar_of,
    metric_delta,
    slice_mask,
)
from evals.harness.metrics import SLICES
from evals.harness.pairing import PairedArrays
from evals.harness.stats import holm

SLICE_METRICS = ("precision", "recall")


class SliceDelta(BaseModel):
    model_config = ConfigDict(frozen=True)

    dimension: str
    value: str
    items: int
    positives: int
    metrics: list[MetricDelta]
    mcnemar: McNemarResult
    mcnemar_p_holm: float = 1.0
    regression: bool = False
    clusters: int = 0  # resampling clusters (sequences or frames) holding the slice's items
    too_small: bool = False
    verdict: str = ""  # one sentence: why the slice is, or is not, called a regression


def slice_deltas(arrays: PairedArrays, opts: CompareOptions) -> list[SliceDelta]:
    raw = [
        _slice(arrays.subset(slice_mask(arrays, dimension, name)), dimension, name, opts)
        for dimension, key in SLICES.items()
        for name in sorted({key(p.ref) for p in arrays.items})
    ]
    metric_p = iter(holm([m.p_value for s in raw for m in s.metrics]))
    mcnemar_p = holm([s.mcnemar.p_value for s in raw])
    m = sum(len(s.metrics) for s in raw)
    out = []
    for s, p_mc in zip(raw, mcnemar_p, strict=True):
        metrics = [d.model_copy(update={"p_holm": round(next(metric_p), 6)}) for d in s.metrics]
        small = too_small(s.clusters, m, opts.alpha)
        worse = not small and any(_worse(d, opts.alpha) for d in metrics)
        update = {"metrics": metrics, "mcnemar_p_holm": p_mc, "regression": worse, "too_small": small}
        out.append(s.model_copy(update={**update, "verdict": _verdict(metrics, worse, small, s, m, opts)}))
    return out


def too_small(clusters: int, comparisons: int, alpha: float) -> bool:
    """Whether no data of ``clusters`` clusters could be significant after Holm over ``comparisons``."""
    return 2.0 * 0.5**clusters * comparisons >= alpha


def _verdict(
    metrics: list[MetricDelta], worse: bool, small: bool, s: SliceDelta, m: int, opts: CompareOptions
) -> str:
    lower = [d for d in metrics if d.delta is not None and d.delta < 0]
    unit = f"{s.clusters} {opts.cluster}{'s' if s.clusters != 1 else ''}"
    if worse:
        d = min(lower, key=lambda x: x.p_holm or 1.0)
        return f"Regression: {d.metric} is lower with Holm-adjusted p {d.p_holm:.3g} < {opts.alpha:g}."
    if small:
        best = min(1.0, 2.0 * 0.5**s.clusters)
        return (
            f"Too small to call: with {unit}, even data all one way gives p >= {best:.3g}, and "
            f"{m} comparisons need p < {opts.alpha / m:.2g}."
        )
    if not lower:
        return "No metric is lower in the candidate."
    d = min(lower, key=lambda x: x.p_value)
    return (
        f"Not called: {d.metric} is lower (raw p {d.p_value:.3g}) but Holm's correction over {m} "
        f"comparisons gives p {d.p_holm or 1.0:.3g} >= {opts.alpha:g}."
    )


def _worse(m: MetricDelta, alpha: float) -> bool:
    return m.delta is not None and m.delta < 0 and m.p_holm is not None and m.p_holm < alpha


def _slice(part: PairedArrays, dimension: str, name: str, opts: CompareOptions) -> SliceDelta:
    return SliceDelta(
        dimension=dimension,
        value=name,
        items=len(part.items),
        positives=int(part.base.y.sum()),
        clusters=part.n_clusters,
        metrics=[metric_delta(part, m, opts) for m in SLICE_METRICS],
        mcnemar=mcnemar_of(part, opts.threshold),
    )
