"""Quality metrics of flags against audit outcomes (pure functions, no I/O).

Only flags whose audit outcome is known count; a flag no human audited is *unknown*, never a false
alarm. A flag is *raised* at threshold ``t`` when the run has it and its score is at least ``t``.

* **precision@t** = real defects among the raised flags / raised flags (None when nothing is raised).
* **recall@t** = raised real defects / real defects among the flags. Within one run these are the run's
  own flags (what the threshold keeps of what the run found); in a comparison the flags are the union
  of both runs, a flag one run did not raise scoring 0 there, so recall is *pooled* recall: of the real
  defects either run flagged, the share this run raises.
* **F1@t** = 2·P·R / (P + R) = 2·TP / (raised + real defects).
* **AP** (average precision): flags ranked by score, highest first (flags a run did not raise are not
  ranked); the mean over real defects of the precision at its rank, a real defect never ranked counting
  0 (``evals.ranking.average_precision``). Flags of equal score have no order: a tie group is one step,
  its real defects counted at the precision down to the group's end (as scikit-learn does).
* **P@K** (precision at a review budget of K flags): real defects among the K highest-scored *known*
  flags, over K; with fewer than K known flags the missing ranks count as misses; a tie group across
  rank K counts by its share of real defects. Unknown flags take no place in the budget;
  ``known_share_at[K]`` says how many of the run's top K flags were known at all.
* **ECE**: 10 equal-width bins of the score read as a probability, sum over bins of |mean score -
  observed defect rate| weighted by the bin's share of flags (``gtqa.scoring.reliability``).

Every function takes item weights ``w``, ``(N,)`` or ``(B, N)`` (B bootstrap replicates; a weight is
how often the item was drawn), so point estimates (all ones) and bootstrap replicates are one code
path. Slices (issue type, class, vendor) report every metric but P@K, whose budget is the whole queue's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from evals.harness.records import EvalItem
from gtqa.scoring.ranked import Scored, average_precision, precision_at_k
from gtqa.scoring.ranked import ratio as _ratio

Array = np.ndarray
DEFAULT_THRESHOLD = 0.5
DEFAULT_BUDGETS = (100, 200)
N_BINS = 10


def scored_of(items: Sequence[EvalItem]) -> Scored:
    """The known items of a run as arrays."""
    known = [i for i in items if i.outcome is not None]
    return Scored(
        score=np.array([i.score for i in known], dtype=np.float64),
        y=np.array([i.outcome for i in known], dtype=np.float64),
        present=np.ones(len(known), dtype=bool),
        follows=np.array([i.follows for i in known], dtype=bool),
    )


def _counts(s: Scored, w: Array, t: float) -> tuple[Array, Array, Array]:
    raised = s.present & (s.score >= t)
    return (w * (raised * s.y)).sum(-1), (w * raised).sum(-1), (w * s.y).sum(-1)


def precision(s: Scored, w: Array, t: float = DEFAULT_THRESHOLD) -> Array:
    tp, raised, _ = _counts(s, w, t)
    return _ratio(tp, raised)


def recall(s: Scored, w: Array, t: float = DEFAULT_THRESHOLD) -> Array:
    tp, _, positives = _counts(s, w, t)
    return _ratio(tp, positives)


def f1(s: Scored, w: Array, t: float = DEFAULT_THRESHOLD) -> Array:
    tp, raised, positives = _counts(s, w, t)
    return _ratio(2 * tp, raised + positives)


def ece(s: Scored, w: Array, n_bins: int = N_BINS) -> Array:
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(s.score, edges[1:-1]), 0, n_bins - 1)
    onehot = (which[:, None] == np.arange(n_bins)[None, :]) & s.present[:, None]
    gap = np.abs((w * s.score) @ onehot - (w * s.y) @ onehot).sum(-1)
    return _ratio(gap, (w * s.present).sum(-1))


MetricFn = Callable[[Scored, Array], Array]


def metric_fn(name: str, threshold: float = DEFAULT_THRESHOLD) -> MetricFn:
    """A metric by name: precision, recall, f1, ap, ece, or precision_at_<K>."""
    by_name: dict[str, MetricFn] = {
        "precision": lambda s, w: precision(s, w, threshold),
        "recall": lambda s, w: recall(s, w, threshold),
        "f1": lambda s, w: f1(s, w, threshold),
        "ap": average_precision,
        "ece": ece,
    }
    if name in by_name:
        return by_name[name]
    if name.startswith("precision_at_") and name.removeprefix("precision_at_").isdigit():
        k = int(name.removeprefix("precision_at_"))
        return lambda s, w: precision_at_k(s, w, k)
    raise ValueError(f"unknown metric {name!r}: one of {', '.join(by_name)}, precision_at_<K>")


def value(x: Array) -> float | None:
    """A scalar metric as JSON: None when undefined."""
    v = float(x)
    return None if np.isnan(v) else round(v, 6)


class MetricSet(BaseModel):
    model_config = ConfigDict(frozen=True)

    flags: int
    known: int
    positives: int
    raised: int
    precision: float | None
    recall: float | None
    f1: float | None
    ap: float | None
    ece: float | None
    precision_at: dict[str, float | None] = {}
    known_share_at: dict[str, float | None] = {}


class RunMetrics(BaseModel):
    model_config = ConfigDict(frozen=True)

    threshold: float
    budgets: tuple[int, ...]
    overall: MetricSet
    by_type: dict[str, MetricSet]
    by_class: dict[str, MetricSet]
    by_vendor: dict[str, MetricSet]


def metric_set(items: Sequence[EvalItem], threshold: float, budgets: Sequence[int] = ()) -> MetricSet:
    s = scored_of(items)
    w = np.ones(len(s))
    ranked = sorted(items, key=lambda i: (i.follows, -i.score))
    return MetricSet(
        flags=len(items), known=len(s), positives=int(s.y.sum()),
        raised=int((s.score >= threshold).sum()),
        precision=value(precision(s, w, threshold)), recall=value(recall(s, w, threshold)),
        f1=value(f1(s, w, threshold)), ap=value(average_precision(s, w)), ece=value(ece(s, w)),
        precision_at={str(k): value(precision_at_k(s, w, k)) for k in budgets},
        known_share_at={str(k): _share_known(ranked[:k]) for k in budgets},
    )  # fmt: skip


def _share_known(items: Sequence[EvalItem]) -> float | None:
    return round(sum(i.known for i in items) / len(items), 6) if items else None


SLICES: dict[str, Callable[[EvalItem], str]] = {
    "type": lambda i: i.type.value,
    "class": lambda i: i.cls or "none",
    "vendor": lambda i: i.vendor,
}


def slice_items(items: Sequence[EvalItem], dimension: str) -> dict[str, list[EvalItem]]:
    groups: dict[str, list[EvalItem]] = {}
    for item in items:
        groups.setdefault(SLICES[dimension](item), []).append(item)
    return dict(sorted(groups.items()))


def run_metrics(
    items: Sequence[EvalItem],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    budgets: Sequence[int] = DEFAULT_BUDGETS,
) -> RunMetrics:
    def by(dimension: str) -> dict[str, MetricSet]:
        return {k: metric_set(v, threshold) for k, v in slice_items(items, dimension).items()}

    return RunMetrics(
        threshold=threshold,
        budgets=tuple(budgets),
        overall=metric_set(items, threshold, budgets),
        by_type=by("type"),
        by_class=by("class"),
        by_vendor=by("vendor"),
    )
