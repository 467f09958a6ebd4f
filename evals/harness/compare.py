"""Paired comparison of two eval runs on the same audits (``gtqa evals compare``).

On the union of both runs' items with a known outcome (``evals.harness.pairing``): the difference
candidate - base of every metric of ``evals.harness.metrics`` with a paired cluster-bootstrap
interval (whole frames or sequences resampled, ``evals.harness.stats``); McNemar's test on the per-item
decisions at the threshold (``evals.harness.deltas``); the same per slice (issue type, class, vendor)
with Holm's correction over all slices (``evals.harness.slices``); the items whose decision or judge
verdict changed (``evals.harness.changes``); and the gates (``evals.harness.gate``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from evals.harness.changes import ChangedItem, changed_items
from evals.harness.config import ConfigChange, config_diff
from evals.harness.deltas import (
    CompareOptions,
    McNemarResult,
    MetricDelta,
    mcnemar_of,
    metric_delta,
    slice_mask,
)
from evals.harness.gate import Gate, GateResult, judge_gate
from evals.harness.pairing import PairedArrays, pair_items
from evals.harness.runfile import EvalRun
from evals.harness.slices import SliceDelta, slice_deltas

POOLED_NOTE = (
    "Base and candidate are measured on the union of both runs' flags, pooled, so they share one "
    "denominator: a flag one run did not raise counts there as a defect it missed, which lowers recall, "
    "F1 and AP below what the run alone scores. 'Alone' is the run on its own flags, as gtqa evals run "
    "prints it; the differences and gates use the pooled figures."
)

__all__ = [
    "POOLED_NOTE",
    "CompareOptions",
    "Comparison",
    "ComparisonError",
    "MetricDelta",
    "RunRef",
    "compare_runs",
]


class ComparisonError(ValueError):
    """Two runs that cannot be compared (different audit sets)."""


class RunRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str | None = None
    command: str | None = None
    spec: str
    prompts: dict[str, int]
    calibration: str
    judge: str
    audits: str
    infra_errors: int

    @property
    def title(self) -> str:
        return self.id if self.name is None else f"{self.name} ({self.id})"


class Comparison(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["gtqa-eval-comparison"] = "gtqa-eval-comparison"
    base: RunRef
    candidate: RunRef
    changes: list[ConfigChange] = []  # what differs between the two runs' configurations
    threshold: float
    budgets: tuple[int, ...]
    level: float
    n_boot: int
    cluster: str
    items: int
    known: int
    clusters: int
    outcome_conflicts: int
    metrics: list[MetricDelta]
    mcnemar: McNemarResult
    slices: list[SliceDelta]
    slice_comparisons: int = 0  # how many p-values Holm's correction adjusts together
    changed: list[ChangedItem]
    gates: list[GateResult] = []
    warnings: list[str] = []

    @property
    def failed_gates(self) -> list[GateResult]:
        return [g for g in self.gates if not g.passed]


def metric_names(budgets: tuple[int, ...]) -> list[str]:
    return ["precision", "recall", "f1", "ap", *(f"precision_at_{k}" for k in budgets), "ece"]


def compare_runs(
    base: EvalRun, cand: EvalRun, options: CompareOptions | None = None, gates: tuple[Gate, ...] = ()
) -> Comparison:
    opts = options or CompareOptions()
    warnings = _warnings(base, cand, opts)
    pairs, conflicts = pair_items(base.items, cand.items)
    arrays = PairedArrays.of(pairs, opts.cluster)
    slices = slice_deltas(arrays, opts)
    return Comparison(
        base=_ref(base), candidate=_ref(cand), threshold=opts.threshold, budgets=opts.budgets,
        level=opts.level, n_boot=opts.n_boot, cluster=opts.cluster, items=len(pairs),
        known=len(arrays.items), clusters=arrays.n_clusters, outcome_conflicts=conflicts,
        metrics=[_own(metric_delta(arrays, m, opts), base, cand) for m in metric_names(opts.budgets)],
        mcnemar=mcnemar_of(arrays, opts.threshold), slices=slices,
        slice_comparisons=sum(len(s.metrics) for s in slices),
        changes=config_diff(base.provenance, cand.provenance),
        changed=changed_items(pairs, opts.threshold),
        gates=[_gate(arrays, g, opts) for g in gates], warnings=warnings,
    )  # fmt: skip


def _warnings(base: EvalRun, cand: EvalRun, opts: CompareOptions) -> list[str]:
    a, b = base.provenance.audits, cand.provenance.audits
    out = []
    if a.checksum != b.checksum:
        message = f"the runs were measured on different audits ({a.checksum[:12]} vs {b.checksum[:12]})"
        if not opts.allow_different_audits:
            raise ComparisonError(message + "; compare runs of one eval dataset")
        out.append(message)
    for name, run in (("base", base), ("candidate", cand)):
        if run.infra.total:
            out.append(f"{name} run had {run.infra.total} infrastructure errors ({_infra(run)})")
    return out


def _infra(run: EvalRun) -> str:
    parts = [f"{v} judge {k}" for k, v in run.infra.judge.items()]
    if run.infra.check_errors:
        parts.append(f"{run.infra.check_errors} check crashes")
    return ", ".join(parts)


def _own(d: MetricDelta, base: EvalRun, cand: EvalRun) -> MetricDelta:
    return d.model_copy(
        update={"base_own": own_value(base, d.metric), "candidate_own": own_value(cand, d.metric)}
    )


def own_value(run: EvalRun, metric: str) -> float | None:
    """A metric of the run on its own flags (``EvalRun.metrics``), as ``gtqa evals run`` prints it."""
    m = run.metrics.overall
    if metric.startswith("precision_at_"):
        return m.precision_at.get(metric.removeprefix("precision_at_"))
    value = getattr(m, metric, None)
    return value if isinstance(value, float) else None


def _ref(run: EvalRun) -> RunRef:
    p = run.provenance
    return RunRef(
        id=run.id, name=p.name, command=p.config.command if p.config else None,
        spec=f"{p.spec_name}@{p.spec_hash[:12]}", prompts=p.prompt_versions,
        calibration=p.calibration_path or p.calibration, judge=p.judge_mode, audits=p.audits.checksum,
        infra_errors=run.infra.total,
    )  # fmt: skip


def _gate(arrays: PairedArrays, gate: Gate, opts: CompareOptions) -> GateResult:
    metric = gate.resolved_metric(opts.budgets)
    part = arrays.subset(slice_mask(arrays, *gate.slice)) if gate.slice else arrays
    d = metric_delta(part, metric, opts)
    return judge_gate(
        gate, metric, d.delta, d.lo, d.hi, inconclusive_passes=opts.inconclusive_passes,
        shown=gate.shown(opts.budgets),
    )  # fmt: skip
