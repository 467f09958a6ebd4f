"""Batch acceptance per vendor from spot checks: Wald's sequential test and a single-sampling plan.

A vendor's contract states an acceptable quality level (AQL, the defect rate a batch may have and still
be accepted) and a limiting quality (LTPD, the rate at which it should be rejected), with the producer's
risk ``alpha`` (rejecting a batch at the AQL) and the consumer's risk ``beta`` (accepting one at the
LTPD), as ISO 2859-1 / ANSI Z1.4 plans are read.

* :func:`sprt` — Wald's sequential probability ratio test on the spot checks audited so far: the log
  likelihood ratio of LTPD against AQL after ``d`` defects in ``n`` audits is
  ``d ln(p1/p0) + (n - d) ln((1 - p1)/(1 - p0))``; reject at or above ``ln((1 - beta)/alpha)``, accept at
  or below ``ln(beta/(1 - alpha))``, else keep sampling.
* :func:`single_sampling_plan` — the smallest ``(n, c)``: audit ``n`` items, accept with at most ``c``
  defects, whose binomial operating characteristic meets both risks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import partial


class Decision(StrEnum):
    accept = "accept"
    reject = "reject"
    keep_sampling = "keep sampling"


@dataclass(frozen=True)
class AcceptancePlan:
    """A contract's quality levels and risks (rates are defect shares of a batch's labels)."""

    aql: float
    ltpd: float
    alpha: float = 0.05
    beta: float = 0.10

    def __post_init__(self) -> None:
        if not 0.0 < self.aql < self.ltpd < 1.0:
            raise ValueError(f"need 0 < AQL < LTPD < 1, got AQL {self.aql}, LTPD {self.ltpd}")
        if not (0.0 < self.alpha < 0.5 and 0.0 < self.beta < 0.5):
            raise ValueError(f"risks must be in (0, 0.5), got alpha {self.alpha}, beta {self.beta}")

    def describe(self) -> str:
        return (
            f"AQL {self.aql:.1%}, LTPD {self.ltpd:.1%}: a batch at the AQL is rejected with probability "
            f"{self.alpha:.0%} at most, one at the LTPD accepted with probability {self.beta:.0%} at most"
        )


@dataclass(frozen=True)
class SprtResult:
    decision: Decision
    n: int
    defects: int
    llr: float  # log likelihood ratio of LTPD against AQL
    accept_at: float  # accept at or below this
    reject_at: float  # reject at or above this


def sprt(plan: AcceptancePlan, n: int, defects: int) -> SprtResult:
    """Wald's test after ``defects`` confirmed defects in ``n`` audited spot checks."""
    if not 0 <= defects <= n:
        raise ValueError(f"need 0 <= defects <= n, got {defects} of {n}")
    p0, p1 = plan.aql, plan.ltpd
    llr = defects * math.log(p1 / p0) + (n - defects) * math.log((1 - p1) / (1 - p0))
    upper = math.log((1 - plan.beta) / plan.alpha)
    lower = math.log(plan.beta / (1 - plan.alpha))
    decision = (
        Decision.reject if llr >= upper else Decision.accept if llr <= lower else Decision.keep_sampling
    )
    return SprtResult(decision, n, defects, llr, lower, upper)


@dataclass(frozen=True)
class SingleSamplingPlan:
    n: int  # items to audit
    c: int  # accept with at most this many defects

    def decide(self, audited: int, defects: int) -> Decision:
        if defects > self.c:
            return Decision.reject
        return Decision.accept if audited >= self.n else Decision.keep_sampling


def acceptance_probability(n: int, c: int, p: float) -> float:
    """The binomial operating characteristic: the chance of at most ``c`` defects in ``n`` audits."""
    log_p, log_q = math.log(p), math.log1p(-p)
    return min(1.0, sum(math.exp(_log_comb(n, k) + k * log_p + (n - k) * log_q) for k in range(c + 1)))


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def single_sampling_plan(plan: AcceptancePlan, max_n: int = 5000) -> SingleSamplingPlan:
    """The plan with the smallest sample size with P(accept | AQL) >= 1 - alpha and P(accept | LTPD) <=
    beta. For an acceptance number ``c`` the consumer's risk holds from some smallest ``n`` on, and the
    producer's holds up to some largest one (the OC falls as ``n`` grows), so ``c`` has a plan exactly
    when the producer's risk holds at that smallest ``n``; that ``n`` grows with ``c``, so the first
    such ``c`` gives the smallest plan."""
    for c in range(max_n):
        n = _smallest_n(partial(_consumer_ok, plan=plan, c=c), c + 1, max_n)
        if n is None:
            break
        if acceptance_probability(n, c, plan.aql) >= 1 - plan.alpha:
            return SingleSamplingPlan(n, c)
    raise ValueError(f"no single-sampling plan with n <= {max_n} for {plan.describe()}")


def _consumer_ok(n: int, *, plan: AcceptancePlan, c: int) -> bool:
    return acceptance_probability(n, c, plan.ltpd) <= plan.beta


def _smallest_n(ok: Callable[[int], bool], start: int, stop: int) -> int | None:
    """The smallest n in [start, stop] with ok(n) true (ok is monotone in n)."""
    lo, hi = start, stop
    if not ok(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo
