"""Per-slice differences (issue type, class, vendor), corrected for testing many slices at once.

Each slice's items are compared on their own (precision and recall differences with paired cluster-
bootstrap intervals and p-values, and McNemar's test on its decisions). Testing many slices finds a
"significant" one by chance, so the bootstrap p-values of every slice and metric are adjusted together
with Holm's step-down correction (``p_holm``). A slice is a *regression* when one of its metrics is
lower in the candidate with a Holm-adjusted p-value below ``alpha`` (0.05). McNemar's p-values are
adjusted over the slices the same way (``mcnemar_p_holm``), and reported, not used for the verdict.
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


def slice_deltas(arrays: PairedArrays, opts: CompareOptions) -> list[SliceDelta]:
    raw = [
        _slice(arrays.subset(slice_mask(arrays, dimension, name)), dimension, name, opts)
        for dimension, key in SLICES.items()
        for name in sorted({key(p.ref) for p in arrays.items})
    ]
    metric_p = iter(holm([m.p_value for s in raw for m in s.metrics]))
    mcnemar_p = holm([s.mcnemar.p_value for s in raw])
    out = []
    for s, p_mc in zip(raw, mcnemar_p, strict=True):
        metrics = [m.model_copy(update={"p_holm": round(next(metric_p), 6)}) for m in s.metrics]
        worse = any(_worse(m, opts.alpha) for m in metrics)
        out.append(s.model_copy(update={"metrics": metrics, "mcnemar_p_holm": p_mc, "regression": worse}))
    return out


def _worse(m: MetricDelta, alpha: float) -> bool:
    return m.delta is not None and m.delta < 0 and m.p_holm is not None and m.p_holm < alpha


def _slice(part: PairedArrays, dimension: str, name: str, opts: CompareOptions) -> SliceDelta:
    return SliceDelta(
        dimension=dimension,
        value=name,
        items=len(part.items),
        positives=int(part.base.y.sum()),
        metrics=[metric_delta(part, m, opts) for m in SLICE_METRICS],
        mcnemar=mcnemar_of(part, opts.threshold),
    )
