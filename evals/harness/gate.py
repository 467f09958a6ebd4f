"""Release gates on a comparison: non-inferiority judged on the confidence interval, for CI.

Syntax of a gate (``gtqa evals compare … --fail-if GATE``, repeatable)::

    METRIC[SLICE] OP MARGIN

* ``METRIC``: ``precision``, ``recall``, ``f1`` (at the decision threshold), ``ap``, ``ece``,
  ``precision_at_<K>`` or ``precision_at_budget`` (the first ``--budget``);
* ``SLICE`` (optional): ``[type=bad_box]``, ``[class=Pedestrian]`` or ``[vendor=acme]``: the metric on
  that slice's items only;
* ``OP MARGIN``: ``<`` and a margin on the difference candidate - base. ``METRIC<-0.02`` asks that the
  candidate be at most 0.02 worse (non-inferiority, one-sided at (1 - level) / 2 = 2.5 % for the
  default 95 % interval). ``METRIC>0.01`` asks the same of a metric where larger is worse (``ece``).

A gate has one of three outcomes (``Outcome``), read off the confidence interval of the difference:

* **better**: the whole interval lies on the good side of the margin: the candidate is shown to be at
  most the margin worse (and better outright when the interval also excludes zero on the good side);
* **worse**: the whole interval lies beyond the margin: the candidate is shown to be worse by more
  than the margin;
* **inconclusive**: the interval straddles the margin (or cannot be computed: no item of the slice,
  nothing raised): the audits cannot tell; more audits narrow the interval.

``worse`` always fails the gate; ``inconclusive`` fails it unless the caller lets it pass
(``gtqa evals compare --inconclusive pass``): by default a gate never passes for want of evidence.
``precision_at_budget`` is precision at the first review budget K (``--budget``, default 100); every
output names K.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from evals.harness.metrics import SLICES, metric_fn

_GATE = re.compile(
    r"^\s*(?P<metric>[a-z_0-9]+)\s*(?:\[\s*(?P<dim>[a-z]+)\s*=\s*(?P<value>[^\]]+?)\s*\])?"
    r"\s*(?P<op>[<>])\s*(?P<margin>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)


class Outcome(StrEnum):
    better = "better"
    worse = "worse"
    inconclusive = "inconclusive"


class GateError(ValueError):
    """A gate that does not parse; the message shows the syntax."""


@dataclass(frozen=True)
class Gate:
    text: str
    metric: str
    op: str
    margin: float
    slice: tuple[str, str] | None = None

    def shown(self, budgets: tuple[int, ...]) -> str:
        """The gate as written, with the budget K of ``precision_at_budget`` named."""
        if self.metric != "precision_at_budget":
            return self.text
        return self.text.replace("precision_at_budget", f"precision_at_budget (K={budgets[0]})", 1)

    def resolved_metric(self, budgets: tuple[int, ...]) -> str:
        if self.metric == "precision_at_budget":
            return f"precision_at_{budgets[0]}"
        return self.metric


class GateResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    gate: str
    metric: str
    slice: str | None
    delta: float | None
    lo: float | None
    hi: float | None
    outcome: Outcome
    passed: bool
    reason: str  # one plain sentence: what the interval says


def parse_gate(text: str) -> Gate:
    match = _GATE.match(text)
    if match is None:
        raise GateError(f"cannot read gate {text!r}: expected METRIC[DIM=VALUE]<MARGIN, e.g. 'recall<-0.02'")
    metric = match["metric"]
    if metric != "precision_at_budget":
        try:
            metric_fn(metric)
        except ValueError as exc:
            raise GateError(f"gate {text!r}: {exc}, precision_at_budget") from None
    dim = match["dim"]
    if dim is not None and dim not in SLICES:
        raise GateError(f"gate {text!r}: slice dimension {dim!r} is not one of {', '.join(SLICES)}")
    cut = (dim, match["value"]) if dim else None
    return Gate(text=text.strip(), metric=metric, op=match["op"], margin=float(match["margin"]), slice=cut)


def judge_gate(
    gate: Gate,
    metric: str,
    delta: float | None,
    lo: float | None,
    hi: float | None,
    *,
    inconclusive_passes: bool = False,
    shown: str | None = None,
) -> GateResult:
    """The gate's outcome on a difference and its interval (None where undefined)."""
    outcome, reason = _outcome(gate, metric_label(metric), lo, hi)
    passed = outcome is Outcome.better or (outcome is Outcome.inconclusive and inconclusive_passes)
    return GateResult(
        gate=shown or gate.text, metric=metric,
        slice=f"{gate.slice[0]}={gate.slice[1]}" if gate.slice else None,
        delta=delta, lo=lo, hi=hi, outcome=outcome, passed=passed, reason=reason,
    )  # fmt: skip


def _outcome(gate: Gate, name: str, lo: float | None, hi: float | None) -> tuple[Outcome, str]:
    what = name + (f" on {gate.slice[0]}={gate.slice[1]}" if gate.slice else "")
    if lo is None or hi is None:
        why = f"The interval of {what} cannot be computed (no audited item, or nothing raised)"
        return Outcome.inconclusive, why + ", so these audits say nothing either way."
    ci, m = f"[{lo:+.3f}, {hi:+.3f}]", abs(gate.margin)
    good, bad = (lo, hi) if gate.op == "<" else (-hi, -lo)  # the interval, oriented larger-is-better
    limit = gate.margin if gate.op == "<" else -gate.margin
    if good >= limit:
        outright = " and better outright" if good > 0 else ""
        said = f"lies on the good side of the margin: the candidate is at most {m:g} worse{outright}."
        return Outcome.better, f"The whole interval {ci} of {what} {said}"
    if bad < limit:
        said = f"lies beyond the margin: the candidate is worse by more than {m:g}."
        return Outcome.worse, f"The whole interval {ci} of {what} {said}"
    said = f"straddles the margin: the candidate may or may not be more than {m:g} worse"
    return Outcome.inconclusive, f"The interval {ci} of {what} {said}; these audits cannot tell."


def metric_label(metric: str) -> str:
    """A metric's name for people: ``precision_at_100`` is precision at a review budget of K=100."""
    if metric.startswith("precision_at_"):
        return f"precision at budget K={metric.removeprefix('precision_at_')}"
    return metric
