"""Release gates on a comparison: non-inferiority judged on the confidence interval, for CI.

Syntax of a gate (``gtqa evals compare … --fail-if GATE``, repeatable)::

    METRIC[SLICE] OP MARGIN

* ``METRIC``: ``precision``, ``recall``, ``f1`` (at the decision threshold), ``ap``, ``ece``,
  ``precision_at_<K>`` or ``precision_at_budget`` (the first ``--budget``);
* ``SLICE`` (optional): ``[type=bad_box]``, ``[class=Pedestrian]`` or ``[vendor=acme]``: the metric on
  that slice's items only;
* ``OP MARGIN``: ``<`` and a margin on the difference candidate - base. ``METRIC<-0.02`` fails unless
  the whole confidence interval of the difference lies at or above -0.02: the candidate is shown to be
  at most 0.02 worse (non-inferiority, one-sided at (1 - level) / 2 = 2.5 % for the default 95 %
  interval). ``METRIC>0.01`` fails unless the whole interval lies at or below 0.01 (for metrics where
  larger is worse, such as ``ece``).

An interval that cannot be computed (no item of the slice, nothing raised) fails the gate: a gate
never passes for want of evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from evals.harness.metrics import SLICES, metric_fn

_GATE = re.compile(
    r"^\s*(?P<metric>[a-z_0-9]+)\s*(?:\[\s*(?P<dim>[a-z]+)\s*=\s*(?P<value>[^\]]+?)\s*\])?"
    r"\s*(?P<op>[<>])\s*(?P<margin>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)


class GateError(ValueError):
    """A gate that does not parse; the message shows the syntax."""


@dataclass(frozen=True)
class Gate:
    text: str
    metric: str
    op: str
    margin: float
    slice: tuple[str, str] | None = None

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
    passed: bool
    reason: str


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
    gate: Gate, metric: str, delta: float | None, lo: float | None, hi: float | None
) -> GateResult:
    """The gate's verdict on a difference and its interval (None where undefined)."""
    where = f"{gate.slice[0]}={gate.slice[1]}" if gate.slice else None
    if lo is None or hi is None:
        return GateResult(
            gate=gate.text, metric=metric, slice=where, delta=delta, lo=None, hi=None, passed=False,
            reason="the interval is undefined (no items, or nothing raised): no evidence of non-inferiority",
        )  # fmt: skip
    bound, passed = (lo, lo >= gate.margin) if gate.op == "<" else (hi, hi <= gate.margin)
    side = "lower" if gate.op == "<" else "upper"
    verdict = "holds" if passed else "fails"
    reason = f"{side} bound {bound:+.4f} vs margin {gate.margin:+.4f}: {verdict}"
    return GateResult(
        gate=gate.text, metric=metric, slice=where, delta=delta, lo=lo, hi=hi, passed=passed,
        reason=reason,
    )  # fmt: skip
