"""Replaying a learning review queue on past audits (issue 19): refit, gate, promote, re-rank.

Simulated auditors decide, each round, ``batch`` undecided flags of the *learning* queue, with the audits
as the truth; after the round a candidate is fitted on the decided flags, gated against the scorer in use
on held-out decided flags, promoted only when it is not worse and better, and the rest re-ranked. The
*static* queue (the starting scorer, never refitted) decides its own top ``batch`` flags each round.

Choices, stated:

* **Fit on decided flags only** (no warm start): the starting calibration's training data is not at
  hand in a service, and a booster cannot be continued on other features cheaply. Until a candidate is
  promoted, the starting scorer stays.
* **Held-out split by group** (frame or block of a sequence): each group is once and for all either
  *fit* or *held out* (share ``holdout``). Candidates fit on the fit groups' decided flags, the gate
  compares on the held-out groups' decided flags, so neither the candidate nor a promoted earlier
  candidate has seen the flags it is judged on.
* **Selection bias and its correction**: the queue's own order picks the decided flags, so they are the
  high-score ones; fitted or evaluated as they are, a model learns only the top of the queue and the gate
  judges it there, while what it must rank is the rest. Each round, a share ``explore`` of the batch is
  drawn uniformly at random from the undecided flags below the top picks; its inclusion probability is
  ``n_explore / n_below`` and its weight the inverse (a Horvitz-Thompson weight), the top picks weigh 1.
  Weights are capped at ``max_weight`` (variance against bias) and are used both in the fit (booster and
  map weights) and in the gate's metric. ``explore=0`` turns the correction off (every weight 1). The
  rounds' remainders are nested, so the weighted sum over-counts the remainder by at most the number of
  rounds: an approximation, not an unbiased estimator, which the cap bounds further.
* **Gate**: ``gtqa.scoring.gate`` (shared with the service's refit): the paired cluster bootstrap
  (clusters: the groups) on the weighted AP of candidate minus current; promoted when the interval's lower
  bound is at least ``-margin`` (not worse) and the estimate above 0 (better). Fewer than ``min_fit``
  decided fit flags, or a single class among them, or a fit that fails: no candidate, the scorer stays.
* **Precision** of a round: real defects among the flags decided that round (exploration picks
  included: they are what exploring costs). Targets are per flag (``gtqa.scoring.targets``), not the
  re-check protocol's IoU matching of review items.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict

from gtqa.scoring.bootstrap import cluster_ids
from gtqa.scoring.gate import GateRule, gate, weighted_ap

Array = np.ndarray
# Fit a scorer on (decided fit indices, their outcomes, their weights); return scores for every flag.
Learner = Callable[[Array, Array, Array], Array]


@dataclass(frozen=True)
class ReplayConfig:
    batch: int = 100
    rounds: int = 4
    explore: float = 0.1  # share of each batch drawn at random below the top picks
    holdout: float = 0.3  # share of groups held out for the gate
    margin: float = 0.02  # the candidate may be at most this much worse in AP (lower bound of the CI)
    min_fit: int = 50  # fewest decided fit flags to refit on
    max_weight: float = 20.0
    n_boot: int = 1000
    seed: int = 0


class RoundResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    round: int
    decided: int  # flags decided by the learning queue this round
    explored: int  # of which drawn at random
    precision_learning: float
    precision_learning_top: float | None  # on the top picks only (no exploration)
    precision_static: float
    ap_remaining_learning: float | None  # the learning queue's remaining flags, ranked by its scorer
    ap_remaining_static: float | None  # the same flags ranked by the starting scorer
    promoted: bool
    reason: str
    gate_delta: float | None = None
    gate_lo: float | None = None
    gate_hi: float | None = None
    scorer_version: int  # 0: the starting scorer; n: the n-th promoted candidate


class ReplayResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    flags: int
    positives: int
    config: dict[str, float]
    rounds: list[RoundResult]


def replay(
    start: Array, y: Array, groups: Sequence[str], learner: Learner, config: ReplayConfig
) -> ReplayResult:
    """``start``: the starting scorer's score of each flag; ``y``: its outcome (1 real defect, 0 not);
    ``groups``: its frame (or block), kept whole in the held-out split and the bootstrap."""
    rng = np.random.default_rng(config.seed)
    n = len(y)
    held = _held_out(groups, config.holdout, rng)
    current = np.asarray(start, dtype=np.float64)
    decided = np.zeros(n, dtype=bool)
    weight = np.ones(n)
    static_order = _order(start, rng)
    version = 0
    out: list[RoundResult] = []
    for r in range(config.rounds):
        picks, top, w = _pick(current, decided, config, rng)
        if len(picks) == 0:
            break
        decided[picks] = True
        weight[picks] = w
        static = static_order[r * config.batch : (r + 1) * config.batch]
        verdict = _refit_and_gate(current, y, groups, decided, weight, held, learner, config, r)
        if verdict.scores is not None:
            current, version = verdict.scores, version + 1
        rest = ~decided
        out.append(
            RoundResult(
                round=r + 1,
                decided=len(picks),
                explored=len(picks) - len(top),
                precision_learning=float(y[picks].mean()),
                precision_learning_top=float(y[top].mean()) if len(top) else None,
                precision_static=float(y[static].mean()) if len(static) else 0.0,
                ap_remaining_learning=_ap(current[rest], y[rest]),
                ap_remaining_static=_ap(np.asarray(start)[rest], y[rest]),
                promoted=verdict.scores is not None,
                reason=verdict.reason,
                gate_delta=verdict.delta,
                gate_lo=verdict.lo,
                gate_hi=verdict.hi,
                scorer_version=version,
            )
        )
    return ReplayResult(
        flags=n,
        positives=int(y.sum()),
        config={k: float(v) for k, v in vars(config).items()},
        rounds=out,
    )


def _order(scores: Array, rng: np.random.Generator) -> Array:
    """Highest score first; ties in a random order (a queue has no other key)."""
    jitter = rng.random(len(scores))
    return np.lexsort((jitter, -np.asarray(scores)))


def _held_out(groups: Sequence[str], share: float, rng: np.random.Generator) -> Array:
    ids, n_groups = cluster_ids(groups)
    chosen = rng.random(n_groups) < share
    return np.asarray(chosen[ids], dtype=bool)


def _pick(
    scores: Array, decided: Array, config: ReplayConfig, rng: np.random.Generator
) -> tuple[Array, Array, Array]:
    """This round's decided flags (top picks, then random ones below), the top picks, and their weights."""
    undecided = np.flatnonzero(~decided)
    ranked = undecided[_order(scores[undecided], rng)]
    n_explore = min(round(config.batch * config.explore), max(len(ranked) - 1, 0))
    top = ranked[: config.batch - n_explore]
    below = ranked[len(top) :]
    n_explore = min(n_explore, len(below))
    explored = rng.choice(below, size=n_explore, replace=False) if n_explore else below[:0]
    w_explore = min(len(below) / n_explore, config.max_weight) if n_explore else 1.0
    picks = np.concatenate([top, explored]).astype(np.intp)
    w = np.concatenate([np.ones(len(top)), np.full(len(explored), w_explore)])
    return picks, top, w


@dataclass(frozen=True)
class _Verdict:
    scores: Array | None  # the promoted candidate's scores, None when the current scorer stays
    reason: str
    delta: float | None = None
    lo: float | None = None
    hi: float | None = None


def _refit_and_gate(
    current: Array,
    y: Array,
    groups: Sequence[str],
    decided: Array,
    weight: Array,
    held: Array,
    learner: Learner,
    config: ReplayConfig,
    r: int,
) -> _Verdict:
    fit = np.flatnonzero(decided & ~held)
    test = np.flatnonzero(decided & held)
    if len(fit) < config.min_fit:
        return _Verdict(None, f"not refitted: {len(fit)} decided fit flags, fewer than {config.min_fit}")
    if len(np.unique(y[fit])) < 2:
        return _Verdict(None, "not refitted: the decided fit flags are all of one outcome")
    if len(test) == 0 or y[test].sum() == 0:
        return _Verdict(None, "not refitted: no held-out decided flag is a real defect to gate on")
    try:
        candidate = np.asarray(learner(fit, y[fit], weight[fit]), dtype=np.float64)
    except ValueError as exc:
        return _Verdict(None, f"fit failed, current scorer kept: {exc}")
    rule = GateRule(margin=config.margin, n_boot=config.n_boot, seed=config.seed + r)
    result = gate(current[test], candidate[test], y[test], weight[test], [groups[int(i)] for i in test], rule)
    scores = candidate if result.promoted else None
    return _Verdict(scores, result.reason, result.delta, result.lo, result.hi)


def _ap(scores: Array, y: Array) -> float | None:
    return weighted_ap(scores, y)
