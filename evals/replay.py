"""Replaying a learning review queue on past audits (issue 19): refit, gate, promote, re-rank.

Simulated auditors decide, each round, ``batch`` undecided flags of the *learning* queue, with the audits
as the truth; after the round a candidate is fitted on the decided flags, gated against the scorer in use
on decided flags its fit did not see, promoted only when it is not worse and better, and the rest
re-ranked. The *static* queue (the starting scorer, never refitted) decides its own top ``batch`` flags
each round.

Choices, stated:

* **Fit on decided flags, plus the starting calibration's own data when it can be reached** (a warm
  start, ``evals.replay_data``): the learner decides; this loop only hands it the decided flags and
  their weights. Until a candidate is promoted, the starting scorer stays.
* **Gate by grouped cross-fitting** (``gate="crossfit"``, the default): the frame groups are dealt once
  and for all into ``folds`` folds. Each round, every decided flag gets a candidate score from a fit of
  the candidate recipe on the decided flags of the *other* folds (so no flag is scored by a fit that saw
  its group), and the gate compares these out-of-fold scores with the scorer in use on *all* decided
  flags. The candidate promoted is then fitted on all decided flags. The scorer in use must be as honest
  on those flags: the starting scorer is taken as never having seen them (arrange that: the replay's
  frames must be frames the starting calibration was not fitted on); a promoted candidate did see the
  flags decided before its promotion, so on those flags its in-sample scores are replaced by the
  out-of-fold scores its recipe had in the round it was promoted (the same folds, fits without the
  flag's group); flags decided after its promotion it never saw and keeps its own scores there. Both
  sides are therefore judged out-of-sample, the candidate's fits on (K-1)/K of the data. On the
  re-check this about halves the interval's width, yet the judged flags are still mostly the top of the
  queue in use, where a refit's gain on the rest does not show (benchmarks/RESULTS.md section 21).
  ``gate="holdout"`` keeps the earlier gate: each group is once and for all either *fit* or *held out*
  (share ``holdout``), the candidate is fitted on the fit groups' decided flags and judged on the held-out
  groups' ones only (about a third of the flags: little power, see benchmarks/RESULTS.md section 15).
  ``gate="none"`` promotes every candidate unjudged: not a gate, a diagnostic of the most refitting can
  give with these decisions (if it does not beat the static queue, no gate will).
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
  (clusters: the groups) on the weighted AP of candidate minus current on the judged flags; promoted
  when the interval's lower bound is at least ``-margin`` (not worse) and the estimate above 0 (better).
  Fewer than ``min_fit`` decided flags to fit on, or a single class among them, or a fit that fails: no
  candidate, the scorer stays.
* **Precision** of a round: real defects among the flags decided that round (exploration picks
  included: they are what exploring costs). Targets are per flag (``gtqa.scoring.targets``), not the
  re-check protocol's IoU matching of review items.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

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
    gate: Literal["crossfit", "holdout", "none"] = "crossfit"  # none: promote every fit (a diagnostic)
    folds: int = 5  # cross-fitting folds of the gate (groups kept whole)
    holdout: float = 0.3  # share of groups held out for the gate (gate="holdout" only)
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
    gate_flags: int = 0  # decided flags the gate judged on
    gate_positives: int = 0  # of which real defects
    scorer_version: int = 0  # 0: the starting scorer; n: the n-th promoted candidate


class ReplayResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    flags: int
    positives: int
    config: dict[str, float | str]
    rounds: list[RoundResult]


def replay(
    start: Array, y: Array, groups: Sequence[str], learner: Learner, config: ReplayConfig
) -> ReplayResult:
    """``start``: the starting scorer's score of each flag; ``y``: its outcome (1 real defect, 0 not);
    ``groups``: its frame (or block), kept whole in the gate's folds and the bootstrap."""
    rng = np.random.default_rng(config.seed)
    n = len(y)
    fold = _folds(groups, config, rng)
    current = np.asarray(start, dtype=np.float64)
    seen = np.full(n, np.nan)  # the scorer in use's out-of-fold scores where its fit saw the flag
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
        state = _State(y, groups, decided, weight, fold)
        verdict = _refit_and_gate(np.where(np.isnan(seen), current, seen), state, learner, config, r)
        if verdict.scores is not None and verdict.oof is not None:
            current, seen, version = verdict.scores, verdict.oof, version + 1
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
                gate_flags=verdict.judged,
                gate_positives=verdict.judged_positives,
                scorer_version=version,
            )
        )
    return ReplayResult(
        flags=n,
        positives=int(y.sum()),
        config={k: v if isinstance(v, str) else float(v) for k, v in vars(config).items()},
        rounds=out,
    )


def _order(scores: Array, rng: np.random.Generator) -> Array:
    """Highest score first; ties in a random order (a queue has no other key)."""
    jitter = rng.random(len(scores))
    return np.lexsort((jitter, -np.asarray(scores)))


def _folds(groups: Sequence[str], config: ReplayConfig, rng: np.random.Generator) -> Array:
    """Each flag's gate fold, whole groups together. Cross-fitting: groups dealt in a random order into
    ``folds`` folds. Holdout: fold 0 is the held-out share, fold 1 the fit groups."""
    ids, n_groups = cluster_ids(groups)
    if config.gate == "holdout":
        chosen = rng.random(n_groups) < config.holdout
        return np.where(chosen[ids], 0, 1).astype(np.intp)
    if config.folds < 2:
        raise ValueError(f"cross-fitting needs at least 2 folds, not {config.folds}")
    of_group = np.empty(n_groups, dtype=np.intp)
    of_group[rng.permutation(n_groups)] = np.arange(n_groups) % config.folds
    return np.asarray(of_group[ids], dtype=np.intp)


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
class _State:
    y: Array
    groups: Sequence[str]
    decided: Array
    weight: Array
    fold: Array


@dataclass(frozen=True)
class _Verdict:
    scores: Array | None  # the promoted candidate's scores, None when the current scorer stays
    reason: str
    delta: float | None = None
    lo: float | None = None
    hi: float | None = None
    oof: Array | None = None  # the candidate recipe's out-of-fold scores (NaN where its fit saw no flag)
    judged: int = 0
    judged_positives: int = 0


def _refit_and_gate(current: Array, s: _State, learner: Learner, config: ReplayConfig, r: int) -> _Verdict:
    """``current``: the scorer in use, with out-of-fold scores where its own fit saw the flag."""
    judged_folds = [0] if config.gate == "holdout" else list(range(config.folds))
    judged = s.decided & np.isin(s.fold, judged_folds)
    fit_all = s.decided & ~judged if config.gate == "holdout" else s.decided
    fit, test = np.flatnonzero(fit_all), np.flatnonzero(judged)
    if len(fit) < config.min_fit:
        return _Verdict(None, f"not refitted: {len(fit)} decided fit flags, fewer than {config.min_fit}")
    if len(np.unique(s.y[fit])) < 2:
        return _Verdict(None, "not refitted: the decided fit flags are all of one outcome")
    if config.gate == "none":
        return _ungated(learner, fit, s)
    if len(test) == 0 or s.y[test].sum() == 0:
        return _Verdict(None, "not refitted: no decided flag to judge on is a real defect")
    try:
        oof, last = _cross_fit(s, judged_folds, learner)
    except ValueError as exc:
        return _Verdict(None, f"fit failed, current scorer kept: {exc}")
    rule = GateRule(margin=config.margin, n_boot=config.n_boot, seed=config.seed + r)
    groups = [s.groups[int(i)] for i in test]
    result = gate(current[test], oof[test], s.y[test], s.weight[test], groups, rule)
    delta, lo, hi = result.delta, result.lo, result.hi
    counts: dict[str, Any] = {"judged": len(test), "judged_positives": int(s.y[test].sum())}
    where = "on held-out" if config.gate == "holdout" else "out-of-fold"
    reason = result.reason.replace("on held-out", where)
    if not result.promoted:
        return _Verdict(None, reason, delta, lo, hi, **counts)
    if config.gate == "holdout":
        # The fit groups' candidate is the one promoted; it never saw the held-out flags.
        scores, seen = last, np.full(len(s.y), np.nan)
    else:
        try:
            scores, seen = _learn(learner, fit, s), oof
        except ValueError as exc:
            return _Verdict(None, f"fit failed, current scorer kept: {exc}", delta, lo, hi, **counts)
    return _Verdict(scores, reason, delta, lo, hi, seen, **counts)


def _ungated(learner: Learner, fit: Array, s: _State) -> _Verdict:
    """Every candidate promoted, unjudged: a diagnostic of what refitting can give at most with this
    learner and these decisions, not a gate to run a queue with."""
    try:
        scores = _learn(learner, fit, s)
    except ValueError as exc:
        return _Verdict(None, f"fit failed, current scorer kept: {exc}")
    return _Verdict(scores, "promoted without a gate (diagnostic)", oof=np.full(len(s.y), np.nan))


def _cross_fit(s: _State, judged_folds: Sequence[int], learner: Learner) -> tuple[Array, Array]:
    """The candidate recipe's score of each decided flag of the judged folds, from a fit on the decided
    flags of the other folds (NaN elsewhere); and the last fit's scores of every flag."""
    oof = np.full(len(s.y), np.nan)
    last = oof
    for k in judged_folds:
        test = s.decided & (s.fold == k)
        if not test.any():
            continue
        last = _learn(learner, np.flatnonzero(s.decided & (s.fold != k)), s)
        oof[test] = last[test]
    return oof, last


def _learn(learner: Learner, fit: Array, s: _State) -> Array:
    return np.asarray(learner(fit, s.y[fit], s.weight[fit]), dtype=np.float64)


def _ap(scores: Array, y: Array) -> float | None:
    return weighted_ap(scores, y)
