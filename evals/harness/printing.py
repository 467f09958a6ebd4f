"""Printing eval runs and comparisons as tables (``gtqa evals run`` / ``compare`` and the benchmarks)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from evals.harness.compare import Comparison
from evals.harness.runfile import EvalRun


def print_run(out: Console, run: EvalRun) -> None:
    m, p = run.metrics.overall, run.provenance
    out.print(
        f"[bold]{run.id}[/bold] {p.dataset.name} vs audits {p.audits.name} ({p.audits.checksum[:12]}): "
        f"{m.flags} flags, {m.known} audited, {m.positives} real defects; judge {p.judge_mode}"
    )
    table = Table()
    for column in ("precision", "recall", "F1", "AP", *(f"P@{k}" for k in m.precision_at), "ECE", "infra"):
        table.add_column(column, justify="right")
    cells = [m.precision, m.recall, m.f1, m.ap, *m.precision_at.values(), m.ece]
    table.add_row(*("–" if v is None else f"{v:.3f}" for v in cells), str(run.infra.total))
    out.print(table)
    if run.judge is not None:
        j = run.judge
        out.print(
            f"judge: {j.questions} questions, {j.calls} calls, {j.cache_hits} cached, ${j.cost_usd:.4f}; "
            f"{j.correct} right / {j.wrong} wrong on audited flags"
        )


def print_comparison(out: Console, c: Comparison, err: Console | None = None) -> None:
    """The comparison's table, tests and gates on ``out``; its warnings on ``err`` (default ``out``)."""
    for warning in c.warnings:
        (err or out).print(f"[yellow]{warning}[/yellow]", highlight=False)
    table = Table(title=f"{c.base.id} → {c.candidate.id}: {c.known} audited items, {c.clusters} {c.cluster}s")
    for column in ("metric", "base", "candidate", "Δ", f"{c.level:.0%} CI"):
        table.add_column(column, justify="right")
    f = number
    for m in c.metrics:
        table.add_row(
            m.metric, f(m.base), f(m.candidate), f(m.delta, True), f"[{f(m.lo, True)}, {f(m.hi, True)}]"
        )
    out.print(table)
    mc = c.mcnemar
    out.print(
        f"McNemar ({mc.method}): {mc.base_only_right} vs {mc.candidate_only_right}, p = {mc.p_value:.4g}"
    )
    for s in c.slices:
        if s.regression:
            worst = min((m.p_holm or 1.0) for m in s.metrics)
            out.print(f"[red]regression in {s.dimension}={s.value}[/red] (Holm p = {worst:.3g})")
    out.print(f"{len(c.changed)} items changed verdict")
    for g in c.gates:
        mark = "[green]PASS[/green]" if g.passed else "[red]FAIL[/red]"
        out.print(f"{mark} {g.gate}: {g.reason}", highlight=False)


def number(x: float | None, sign: bool = False) -> str:
    """Three decimals (signed with ``sign``), or a dash for None."""
    if x is None:
        return "–"
    return f"{x:+.3f}" if sign else f"{x:.3f}"
