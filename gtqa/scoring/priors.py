"""Documented priors: until past audits exist, a check's raw evidence strength in [0, 1] is mapped to a
probability by interpolating, in log-odds, between the spec's ``p_low`` (raw -> 0) and ``p_high``
(raw = 1) for that check. The numbers are a spec author's stated beliefs, kept in the spec's
``priors`` rule; ``gtqa calibrate`` replaces them with a model fitted on audits."""

from __future__ import annotations

import math
from collections.abc import Iterable

from gtqa.domain import Finding
from gtqa.spec import CompiledSpec
from gtqa.spec.rules import Prior

_EPS = 1e-4


def logit(p: float) -> float:
    p = min(max(p, _EPS), 1 - _EPS)
    return math.log(p / (1 - p))


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def prior_probability(prior: Prior, raw: float) -> float:
    lo, hi = logit(prior.p_low), logit(prior.p_high)
    return sigmoid(lo + raw * (hi - lo))


def apply_priors(findings: Iterable[Finding], spec: CompiledSpec) -> list[Finding]:
    priors = spec.priors
    return [
        f.model_copy(update={"score": prior_probability(priors.for_check(f.check), f.raw)}) for f in findings
    ]
